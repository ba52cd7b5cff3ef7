"""Airflow standalone (scheduler, API server, UI) on the project's own home and connection.

`airflow standalone` runs in a process group of its own; Ctrl-C or SIGTERM to this launcher
stops that group and every process it started (executor workers included, which ignore
SIGTERM: they get SIGKILL after a grace period), so nothing is left holding the port.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from runtime.config import PROJECT_ROOT
from runtime.run_nightly import airflow_environment, migrate

GRACE_SECONDS = 15


def stop_everything(child: subprocess.Popen, grace: float = GRACE_SECONDS) -> list[int]:
    """SIGTERM the child's group and all its descendants, SIGKILL whatever is left after `grace`
    seconds; returns the pids that had to be killed."""
    import psutil

    def family_of(pid: int) -> list:
        try:
            return [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def signal_all(procs, signum) -> None:
        try:
            os.killpg(child.pid, signum)
        except ProcessLookupError:
            pass
        for proc in procs:
            try:
                proc.send_signal(signum)
            except psutil.NoSuchProcess:
                pass

    family = family_of(child.pid)
    signal_all(family, signal.SIGTERM)
    _, alive = psutil.wait_procs(family, timeout=grace)
    if alive:
        signal_all(alive, signal.SIGKILL)
        psutil.wait_procs(alive, timeout=5)
    child.wait(timeout=5)
    return [p.pid for p in alive]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
@click.option("--spark-master", default="local[*]", show_default=True, help="spark_default connection's host.")
@click.option("--airflow-home", type=click.Path(), default=None, help="Default: var/airflow.")
def main(host, port, spark_master, airflow_home):
    home = Path(airflow_home or PROJECT_ROOT / "var" / "airflow").resolve()
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **airflow_environment(home, spark_master), "AIRFLOW__API__HOST": host,
           "AIRFLOW__API__PORT": str(port), "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
           # task workers report to the API server: its default URL names port 8080
           "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{host}:{port}/execution/"}
    migrate(env)
    click.echo(f"Airflow UI: http://{host}:{port}  user: admin  password: printed by Airflow as it starts, and kept in\n"
               f"  {home / 'simple_auth_manager_passwords.json.generated'}\n"
               "Trigger 'demographics_nightly' with the form (Trigger -> parameters) to choose targets, shards...\n"
               f"Stop: Ctrl-C here, or `kill {os.getpid()}` (stops every Airflow process this started).")
    airflow = str(Path(env["PATH"].split(os.pathsep)[0]) / "airflow")
    child = subprocess.Popen([airflow, "standalone"], env=env, start_new_session=True)

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        rc = child.wait()
    except KeyboardInterrupt:
        click.echo("stopping Airflow ...", err=True)
        killed = stop_everything(child)
        click.echo(f"stopped (SIGKILL for {len(killed)} that ignored SIGTERM)" if killed else "stopped", err=True)
        rc = 0
    sys.exit(rc)


if __name__ == "__main__":
    main()
