"""The browser check of the Airflow UI (outside the suite: it runs two real DAG runs, ~35 min on 2 cores).

  make ui-check    # needs Debian's chromium (/usr/bin/chromium); fetches playwright-core from npm

Generates a WORLD_USERS world into a temporary landing for today (UTC), so the run with the
defaults has a night to read; starts `runtime.airflow_ui` on its own port, home, landing,
warehouse and MLflow store; runs checks/airflow_ui.mjs (log in, the form's defaults, a bad shard value, a run
with the defaults, a demo run of the same size); then stops Airflow with SIGTERM and checks no
process of it is left.
Screenshots and report.json go to var/ui-check/.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from runtime.config import PROJECT_ROOT

OUT = PROJECT_ROOT / "var" / "ui-check"
NODE_MODULES = PROJECT_ROOT / ".cache" / "ui-check"
# Both runs (the defaults' night and the demo world) have this many users: enough for gender to keep
# more than the 10% of users its quality limit asks for at its default 0.9 accuracy.
WORLD_USERS = 20_000


def main() -> int:
    if not Path("/usr/bin/chromium").exists():
        sys.exit("needs Debian's chromium: apt-get install chromium")
    if not (NODE_MODULES / "node_modules" / "playwright-core").exists():
        subprocess.run(["npm", "install", "--prefix", str(NODE_MODULES), "--no-save", "--silent", "playwright-core@1"],
                       check=True)
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    root = Path(tempfile.mkdtemp(prefix="ui-check-"))
    port = 8091
    env = {**os.environ, "DEMOGRAPHICS_WAREHOUSE": str(root / "warehouse"), "DEMOGRAPHICS_LANDING": str(root / "landing"),
           "DEMOGRAPHICS_MLFLOW": str(root / "mlflow"),
           "DEMOGRAPHICS_SHARDS": "16", "DEMOGRAPHICS_DRIVER_MEMORY": "2g"}
    home = root / "airflow"
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()  # a UI trigger's logical date
    subprocess.run([sys.executable, "-m", "world.generate", "--users", str(WORLD_USERS), "--run-date", today,
                    "--landing", str(root / "landing")], cwd=PROJECT_ROOT, env=env, check=True,
                   stdout=(OUT / "generate.log").open("w"), stderr=subprocess.STDOUT)
    ui = subprocess.Popen([sys.executable, "-m", "runtime.airflow_ui", "--airflow-home", str(home), "--port", str(port)],
                          cwd=PROJECT_ROOT, env=env, stdout=(OUT / "airflow.log").open("w"), stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=2)
                break
            except OSError:
                time.sleep(2)
        time.sleep(10)  # the DAG processor's first parse
        # ES modules resolve packages from the script's own folder: run a copy beside node_modules
        script = shutil.copy(PROJECT_ROOT / "checks" / "airflow_ui.mjs", NODE_MODULES / "airflow_ui.mjs")
        done = subprocess.run(["node", str(script), base, str(home / "simple_auth_manager_passwords.json.generated"),
                               str(OUT), str(OUT / "report.json"), str(WORLD_USERS)], env=env, cwd=NODE_MODULES)
    finally:
        ui.send_signal(signal.SIGTERM)
        ui.wait(timeout=90)
    import psutil

    left = [p.pid for p in psutil.process_iter() if _home_of(p) == str(home)]
    print(json.dumps({"browser_check_rc": done.returncode, "processes_left": left, "out": str(OUT)}))
    return 1 if done.returncode or left else 0


def _home_of(proc) -> str | None:
    try:
        return proc.environ().get("AIRFLOW_HOME")
    except Exception:
        return None


if __name__ == "__main__":
    sys.exit(main())
