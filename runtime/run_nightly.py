"""Run the nightly DAG once through Airflow itself (`dag.test`), then print each task's state and wall time.

  python -m runtime.run_nightly --run-date 2026-11-22 --conf '{"world_users": 100000}'

Uses the project's own AIRFLOW_HOME (var/airflow) unless one is set, migrates its SQLite
metadata database, and exits non-zero when the run does not end in `success`.
`--fail-task` swaps one task's application for a script that fails (tests of failure handling);
`--no-retries` sets every task's retries to 0 so a failure ends the run at once; `--mark-success`
(a regex of task ids) marks tasks done without running them, as `airflow dags test` does.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import click

from runtime.config import PROJECT_ROOT

DAG_ID = "demographics_nightly"
FINISHED = ("success", "failed", "skipped", "upstream_failed", "removed")


def airflow_environment(airflow_home: Path, spark_master: str = "local[*]") -> dict[str, str]:
    """The variables every Airflow process of the project runs with (never the user's own home)."""
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps({"conn_type": "spark", "host": spark_master}),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def migrate(env: dict[str, str]) -> None:
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], check=True,
                   env={**os.environ, **env}, stdout=subprocess.DEVNULL)


def task_report(dag_run) -> list[dict]:
    rows = []
    for ti in sorted(dag_run.get_task_instances(), key=lambda t: (t.start_date or dt.datetime.max.replace(
            tzinfo=dt.timezone.utc), t.task_id, t.map_index)):
        seconds = (ti.end_date - ti.start_date).total_seconds() if ti.start_date and ti.end_date else None
        rows.append({"task": ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]",
                     "state": str(ti.state.value if hasattr(ti.state, "value") else ti.state),
                     "seconds": None if seconds is None else round(seconds, 1)})
    return rows


def run_once(run_date: dt.date, conf: dict, fail_task: str | None = None, no_retries: bool = False,
             mark_success: str | None = None) -> dict:
    """One DAG run in this process; Airflow must already be configured through the environment."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    if bag.import_errors:
        raise click.ClickException(f"DAG import errors: {bag.import_errors}")
    dag = bag.dags[DAG_ID]
    if no_retries:
        for t in dag.tasks:
            t.retries = 0
    if fail_task:
        failing = Path(os.environ["AIRFLOW_HOME"]) / "injected_failure.py"
        failing.write_text("raise SystemExit('injected failure')\n")
        dag.get_task(fail_task).application = str(failing)
    started = dt.datetime.now(dt.timezone.utc)
    logical = dt.datetime.combine(run_date, dt.time(), tzinfo=dt.timezone.utc)
    dag_run = dag.test(logical_date=logical, run_conf=conf, mark_success_pattern=mark_success)
    wall = (dt.datetime.now(dt.timezone.utc) - started).total_seconds()
    record_real_start(dag_run, started)
    state = dag_run.state.value if hasattr(dag_run.state, "value") else str(dag_run.state)
    tasks = task_report(dag_run)
    warehouse = run_warehouse(conf)
    for row in tasks:
        if row["state"] == "skipped" and (reason := task_summary(warehouse, run_date, row["task"]).get("reason")):
            row["reason"] = reason
    return {"state": state, "wall_seconds": round(wall, 1), "warehouse": str(warehouse), "tasks": tasks}


def record_real_start(dag_run, started: dt.datetime) -> None:
    """dag.test records a run's start at its logical date (midnight of the night), which the grid
    draws as a run of many hours: keep the real start instead."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(DagRun).filter(DagRun.id == dag_run.id).update({DagRun.start_date: started})


def finished_tasks(airflow_home: Path, run_date: dt.date) -> list[tuple]:
    """(task_id, map_index, state, seconds) of the night's run's finished task instances, read from
    Airflow's SQLite metadata while the run goes on."""
    db = airflow_home / "airflow.db"
    if not db.exists():
        return []
    logical = dt.datetime.combine(run_date, dt.time()).strftime("%Y-%m-%d")
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return con.execute(
                "select ti.task_id, ti.map_index, ti.state, (julianday(ti.end_date) - julianday(ti.start_date)) * 86400 "
                "from task_instance ti join dag_run dr on ti.dag_id = dr.dag_id and ti.run_id = dr.run_id "
                f"where dr.dag_id = ? and date(dr.logical_date) = ? and ti.state in ({','.join('?' * len(FINISHED))}) "
                "order by ti.end_date", (DAG_ID, logical, *FINISHED)).fetchall()
    except sqlite3.Error:  # locked or mid-migration: the next poll reads it
        return []


def task_summary(warehouse: Path, run_date, task_id: str) -> dict:
    """The summary a task's job wrote for the night (runtime.task_summary), or {}."""
    target, _, step = task_id.rpartition(".")
    path = warehouse / "_runs" / str(run_date) / (f"{step}.{target}.json" if target else f"{step}.json")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def run_warehouse(conf: dict) -> Path:
    """The warehouse the run writes: its own namespace when it generates a world."""
    from runtime.config import demo_namespace, namespaced

    return Path(namespaced(demo_namespace(conf.get("world_users", 0))).warehouse)


def task_line(task_id: str, map_index: int, state: str, seconds: float | None, warehouse: Path, run_date) -> str:
    """One task as it ended: state, seconds and the key counts of its job's summary file."""
    from runtime.task_summary import key_counts

    name = task_id if map_index < 0 else f"{task_id}[{map_index}]"
    summary = task_summary(warehouse, run_date, task_id) if map_index < 0 else {}
    counts = ""
    if state == "success":
        counts = key_counts(summary)
    elif state == "skipped" and summary.get("reason"):
        counts = summary["reason"]
    took = f"{seconds:7.1f} s" if seconds is not None else "      - "
    return f"  {name:<26} {state:<16} {took}  {counts}".rstrip()


def follow(child: subprocess.Popen, airflow_home: Path, run_date: dt.date, warehouse: Path) -> int:
    """Print each task's line as it ends, until the child exits."""
    shown: set = set()
    while True:
        done = child.poll() is not None
        for task_id, map_index, state, seconds in finished_tasks(airflow_home, run_date):
            if (task_id, map_index) not in shown:
                shown.add((task_id, map_index))
                click.echo(task_line(task_id, map_index, state, seconds, warehouse, run_date), err=False)
        if done:
            return child.returncode
        time.sleep(2)


@click.command()
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), default=dt.date.today().isoformat(), show_default=True)
@click.option("--conf", "conf_json", default="{}", help="Run conf (the DAG's Params) as JSON.")
@click.option("--airflow-home", type=click.Path(), default=None, help="Default: $AIRFLOW_HOME or var/airflow.")
@click.option("--spark-master", default="local[*]", show_default=True, help="spark_default connection's host.")
@click.option("--fail-task", default=None, help="Inject a failure into this task (tests).")
@click.option("--no-retries", is_flag=True, help="Set every task's retries to 0.")
@click.option("--mark-success", default=None, help="Regex of task ids to mark successful without running them.")
@click.option("--report", type=click.Path(), default=None, help="Also write the result as JSON here.")
@click.option("--log", "log_file", type=click.Path(), default=None,
              help="Send Airflow's and Spark's output here and print one line per task instead.")
def main(run_date, conf_json, airflow_home, spark_master, fail_task, no_retries, mark_success, report, log_file):
    home = Path(airflow_home or os.environ.get("AIRFLOW_HOME") or PROJECT_ROOT / "var" / "airflow").resolve()
    home.mkdir(parents=True, exist_ok=True)
    if "_RUN_NIGHTLY_CHILD" not in os.environ:
        env = airflow_environment(home, spark_master)
        migrate(env)
        # Airflow reads its configuration at import: run the DAG in a child that starts with it.
        child = [sys.executable, "-m", "runtime.run_nightly", "--run-date", run_date.date().isoformat(),
                 "--conf", conf_json, "--spark-master", spark_master]
        child += ["--fail-task", fail_task] if fail_task else []
        child += ["--no-retries"] if no_retries else []
        child += ["--mark-success", mark_success] if mark_success else []
        child += ["--report", report] if report else []
        child_env = {**os.environ, **env, "_RUN_NIGHTLY_CHILD": "1"}
        if not log_file:
            sys.exit(subprocess.run(child, env=child_env).returncode)
        log = Path(log_file).resolve()
        log.parent.mkdir(parents=True, exist_ok=True)
        warehouse = run_warehouse(json.loads(conf_json))
        click.echo(f"{DAG_ID} {run_date.date()}: running; Airflow and Spark output in {log}")
        with log.open("w") as out:
            proc = subprocess.Popen(child, env=child_env, stdout=out, stderr=subprocess.STDOUT)
            try:
                rc = follow(proc, home, run_date.date(), warehouse)
            except KeyboardInterrupt:
                proc.terminate()
                raise
        tail = log.read_text(errors="replace").splitlines()
        summary_at = max((i for i, line in enumerate(tail) if line.startswith(f"{DAG_ID} ")), default=None)
        if rc != 0:  # the errors, in full: everything the failing run printed after its last task ended
            click.echo("\n".join(tail[-200:]), err=True)
        elif summary_at is not None:
            click.echo("\n".join([tail[summary_at], *(line for line in tail[summary_at:] if line.startswith("tables: "))]))
        click.echo(f"full log: {log}; task logs: {home / 'logs'}")
        sys.exit(rc)
    result = run_once(run_date.date(), json.loads(conf_json), fail_task, no_retries, mark_success)
    click.echo(f"\n{DAG_ID} {run_date.date()}: {result['state']} in {result['wall_seconds']} s")
    for row in result["tasks"]:
        click.echo(f"  {row['task']:<22} {row['state']:<16} {row['seconds'] if row['seconds'] is not None else '-':>8}"
                   + (f"  {row['reason']}" if row.get("reason") else ""))
    click.echo(f"tables: {result['warehouse']}")
    if report:
        Path(report).write_text(json.dumps(result, indent=1))
    sys.exit(0 if result["state"] == "success" else 1)


if __name__ == "__main__":
    main()
