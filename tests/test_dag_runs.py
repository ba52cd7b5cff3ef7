"""The nightly DAG run for real through Airflow (`dag.test` in a child process, jobs via spark-submit):
a tiny generated world ends in `success` with predictions; injected failures end the run `failed`
and nothing is published."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.config import PipelineConfig, PROJECT_ROOT

SPARK_JOBS = r"generate_world|ingest|\w+\.(labels|token_mi|train|score)"


@pytest.fixture(scope="module")
def airflow_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("dag_runs")
    env = {**os.environ,
           "DEMOGRAPHICS_WAREHOUSE": str(root / "warehouse"), "DEMOGRAPHICS_LANDING": str(root / "landing"),
           "DEMOGRAPHICS_SHARDS": "4", "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
           # A tiny world: small driver, few shuffle partitions, C1-only JIT (short JVMs start faster).
           "DEMOGRAPHICS_DRIVER_MEMORY": "2g", "DEMOGRAPHICS_SHUFFLE_PARTITIONS": "2",
           "DEMOGRAPHICS_DRIVER_JAVA_OPTIONS": "-XX:TieredStopAtLevel=1"}
    env.pop("AIRFLOW_HOME", None)
    return root, env


def run_nightly(airflow_world, run_date: str, conf: dict, *extra: str) -> tuple[int, dict]:
    root, env = airflow_world
    report = root / f"report-{run_date}.json"
    cmd = [sys.executable, "-m", "runtime.run_nightly", "--airflow-home", str(root / "airflow"), "--run-date", run_date,
           "--spark-master", "local[2]", "--no-retries", "--conf", json.dumps(conf), "--report", str(report), *extra]
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1500)
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return done.returncode, {**json.loads(report.read_text()), "stdout": done.stdout}


def states(result: dict) -> dict[str, str]:
    return {row["task"]: row["state"] for row in result["tasks"]}


def predictions_of(warehouse: Path, run_date: str, target: str) -> tuple[int, int]:
    """(the target's predictions of the night, profiles in shard 0), read without a JVM."""
    from jobs.query import duckdb_connection

    con = duckdb_connection(PipelineConfig(warehouse=str(warehouse), shards=4))
    scored = con.sql(f"select count(*), count(distinct user_id) from predictions where run_date = DATE '{run_date}' "
                     f"and target = '{target}'").fetchall()[0]
    assert scored[0] == scored[1], "duplicated users in predictions"
    profiles = con.sql("select count(*) from profiles where shard = 0").fetchall()[0][0]
    return scored[0], profiles


def test_nightly_run_on_a_tiny_world_succeeds_and_fills_predictions(airflow_world):
    """A world-generating run of gender (occupation's group is built the same way and skipped here:
    four spark-submits fewer; tests/test_occupation.py runs it end to end); one line per task."""
    root, _ = airflow_world
    rc, result = run_nightly(airflow_world, "2026-11-22", {
        "world_users": 4000, "targets": ["gender"], "gender_vocab_size": 1000, "hidden_units": 16, "image_model": False,
        "shards": ["0"], "gender_min_accuracy": 0.5}, "--log", str(root / "logs" / "run.log"))
    assert (rc, result["state"]) == (0, "success"), result
    # a generated world lives in its own namespace, apart from real data
    demo = root / "warehouse" / "demo" / "4000-users"
    assert result["warehouse"] == str(demo) and (root / "landing" / "demo" / "4000-users" / "2026-11-22").is_dir()
    assert not (root / "warehouse" / "profiles").exists() and not (root / "landing" / "2026-11-22").exists()
    got = states(result)
    assert {got[t] for t in ("generate_world", "ingest")} == {"success"}
    assert got["occupation.enabled"] == "success" and got["occupation.labels"] == "skipped"
    steps = ("enabled", "labels", "token_mi", "needs_training", "train", "data_quality", "publish")
    assert {got[f"gender.{t}"] for t in steps} == {"success"}, got
    assert got["audience"] == "success", got
    # the images group (tests/test_media.py trains and scores it): off by its param, skipped
    assert got["images.images_enabled"] == "success" and got["images.train"] == got["images.score"] == "skipped", got
    assert {v for k, v in got.items() if k.startswith("occupation.score")} == {"skipped"}, got  # a skipped group scores nothing
    from jobs.query import duckdb_connection

    con = duckdb_connection(PipelineConfig(warehouse=str(demo), shards=4))
    tiers = dict(con.sql("select tier, count(*) from audience_demographics where target = 'gender' and class = 'female' "
                         "group by all").fetchall())
    assert sum(tiers.values()) > 100 and set(tiers) <= {"high", "medium", "suppressed"}, tiers
    # one chosen shard -> one mapped score task (each spark-submit costs ~20 s here)
    assert got["gender.score[0]"] == "success" and "gender.score[1]" not in got
    scored, profiles = predictions_of(demo, "2026-11-22", "gender")
    assert scored == profiles > 0
    marker = json.loads((demo / "_published" / "gender" / "2026-11-22.json").read_text())
    assert marker["predictions"] == scored and marker["shards"] == [0]
    printed = result["stdout"].splitlines()
    assert any(line.split()[:2] == ["gender.train", "success"] and "macro_f1:" in line for line in printed), printed
    assert any(line.split()[:2] == ["gender.labels", "success"] and "female:" in line for line in printed), printed
    # one line per task (every target group, most skipped), the Airflow and Spark output in the log
    assert len(printed) < len(result["tasks"]) + 10 and (root / "logs" / "run.log").stat().st_size > 10_000


def test_an_injected_failing_task_ends_the_run_failed(airflow_world):
    root, _ = airflow_world
    rc, result = run_nightly(airflow_world, "2026-11-23", {"world_users": 0, "targets": ["gender"]},
                             "--fail-task", "gender.labels", "--mark-success", "ingest")
    assert (rc, result["state"]) == (1, "failed")
    got = states(result)
    assert got["wants_world"] == "success" and got["generate_world"] == "skipped" and got["gender.labels"] == "failed"
    for downstream in ("token_mi", "train", "data_quality", "publish"):
        assert got[f"gender.{downstream}"] == "upstream_failed", (downstream, got)
    assert got["audience"] == "upstream_failed"  # the failed group fails the run: nothing is measured on half a night
    assert got["occupation.enabled"] == "success" and got["occupation.labels"] == "skipped"  # not chosen this run
    assert not (root / "warehouse" / "_published" / "gender" / "2026-11-23.json").exists()


def test_a_failing_quality_check_stops_publication(airflow_world):
    """Every Spark job marked done without running: the night has no predictions, so the checks fail.
    The champion trained by the first run is young: train shows skipped, with why and what did not apply."""
    root, _ = airflow_world
    rc, result = run_nightly(airflow_world, "2026-11-24", {"world_users": 0, "targets": ["gender"],
                                                           "gender_model_family": "logreg"},
                             "--mark-success", SPARK_JOBS)
    assert (rc, result["state"]) == (1, "failed")
    got = states(result)
    assert got["gender.needs_training"] == got["gender.train"] == "skipped" and got["gender.score[0]"] == "success"
    reason = next(row["reason"] for row in result["tasks"] if row["task"] == "gender.needs_training")
    assert "keeping it" in reason and "not applied: gender_model_family=logreg" in reason, reason
    assert got["gender.data_quality"] == "failed" and got["gender.publish"] == "upstream_failed"
    assert not (root / "warehouse" / "_published" / "gender" / "2026-11-24.json").exists()
