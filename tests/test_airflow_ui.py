"""`make airflow-ui` stops everything it started: SIGTERM to the launcher leaves no Airflow process."""
import os
import signal
import socket
import subprocess
import sys
import time

import psutil

from runtime.config import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_with_home(home: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("AIRFLOW_HOME") == home:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def test_sigterm_stops_every_process_airflow_standalone_started(tmp_path):
    home = str((tmp_path / "airflow").resolve())
    port = free_port()
    launcher = subprocess.Popen([sys.executable, "-m", "runtime.airflow_ui", "--airflow-home", home, "--port", str(port)],
                                cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        started = time.monotonic()
        # standalone is up once it runs its components (scheduler, API server, dag processor, triggerer)
        while time.monotonic() - started < 240:
            family = [p for p in processes_with_home(home) if p.pid != launcher.pid]
            if len(family) >= 4:
                break
            assert launcher.poll() is None, launcher.stdout.read()[-3000:]
            time.sleep(1)
        assert len(family) >= 4, [p.cmdline() for p in family]
        time.sleep(3)
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(timeout=60)
        output = launcher.stdout.read()
        assert "stopped" in output, output[-3000:]
        time.sleep(1)
        left = [p for p in processes_with_home(home) if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert left == [], [(p.pid, p.cmdline()) for p in left]
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, "the API server still answers"
    finally:
        for proc in processes_with_home(home):
            os.kill(proc.pid, signal.SIGKILL)
        if launcher.poll() is None:
            launcher.kill()
