"""The same jobs on a real Spark cluster: a standalone master and one worker started with pyspark's own
bin/spark-class on 127.0.0.1; ingest and score of the shared small world run against spark://127.0.0.1:<port>
(as the DAG's spark_default connection would point them), then both daemons are stopped by pid."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyspark
import pytest

from runtime.config import PROJECT_ROOT

SPARK_CLASS = Path(pyspark.__file__).parent / "bin" / "spark-class"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"daemon exited: {log.read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise AssertionError(f"nothing listening on {port}: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("standalone")
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_HOME": str(SPARK_CLASS.parent.parent),
           "SPARK_WORKER_DIR": str(root / "work"), "SPARK_LOG_DIR": str(root / "logs"),
           # Executors run the project's interpreter and import its packages, as the workers of a
           # cluster whose nodes mount the project at the same path would.
           "PYTHONPATH": str(PROJECT_ROOT), "PYSPARK_PYTHON": sys.executable}
    port, worker_port = _free_port(), _free_port()
    procs = []
    master_log, worker_log = (root / "master.log").open("w"), (root / "worker.log").open("w")
    try:
        master = subprocess.Popen([str(SPARK_CLASS), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                   "--port", str(port), "--webui-port", str(_free_port())],
                                  env=env, stdout=master_log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(master)
        _wait_for_port(port, master, root / "master.log")
        worker = subprocess.Popen([str(SPARK_CLASS), "org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}",
                                   "--host", "127.0.0.1", "--port", str(worker_port), "--webui-port", str(_free_port()),
                                   "--cores", "2", "--memory", "2g"],
                                  env=env, stdout=worker_log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(worker)
        _wait_for_port(worker_port, worker, root / "worker.log")
        yield f"spark://127.0.0.1:{port}", env, root
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        master_log.close(), worker_log.close()
    assert all(p.poll() is not None for p in procs)


def _job(cluster, module: str, *args: str) -> str:
    master, env, _ = cluster
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=600, env={**env, "DEMOGRAPHICS_SPARK_MASTER": master,
                                            "DEMOGRAPHICS_DRIVER_MEMORY": "1g"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_ingest_and_score_run_on_a_standalone_cluster(cluster, world, trained, spark):
    """The world's landing files ingested by the cluster into a warehouse of its own, then scored there with
    the champion the local tests trained: the same predictions as a local run gives."""
    import json

    cfg, local_ingest = world
    _, _, root = cluster
    warehouse = str(root / "warehouse")
    common = ["--run-date", str(cfg.run_date), "--warehouse", warehouse]
    out = _job(cluster, "jobs.ingest", *common, "--landing", cfg.landing, "--shards", str(cfg.shards))
    summary = json.loads(out[out.index("{"):])
    assert summary["profiles"]["inserted"] == local_ingest["profiles"]["inserted"] > 0
    out = _job(cluster, "jobs.score", "--target", "gender", *common)
    scored = json.loads(out[out.index("{"):])
    assert sum(scored["labels"].values()) == summary["profiles"]["inserted"]
    apps = list((root / "work").iterdir())
    assert len(apps) == 2  # both jobs ran as applications of the cluster, their executors on its worker
    assert any(f.name == "stderr" for app in apps for f in app.rglob("*"))
