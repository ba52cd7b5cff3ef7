"""Run the nightly DAG once through Airflow itself (`dag.test`), then print each task's state and wall time.

  python -m jobs.run_nightly --run-date 2026-11-22 --conf '{"world_users": 100000}'

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
import subprocess
import sys
from pathlib import Path

import click

from jobs.config import PROJECT_ROOT

DAG_ID = "demographics_nightly"


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
    state = dag_run.state.value if hasattr(dag_run.state, "value") else str(dag_run.state)
    return {"state": state, "wall_seconds": round(wall, 1), "tasks": task_report(dag_run)}


@click.command()
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), default=dt.date.today().isoformat(), show_default=True)
@click.option("--conf", "conf_json", default="{}", help="Run conf (the DAG's Params) as JSON.")
@click.option("--airflow-home", type=click.Path(), default=None, help="Default: $AIRFLOW_HOME or var/airflow.")
@click.option("--spark-master", default="local[*]", show_default=True, help="spark_default connection's host.")
@click.option("--fail-task", default=None, help="Inject a failure into this task (tests).")
@click.option("--no-retries", is_flag=True, help="Set every task's retries to 0.")
@click.option("--mark-success", default=None, help="Regex of task ids to mark successful without running them.")
@click.option("--report", type=click.Path(), default=None, help="Also write the result as JSON here.")
def main(run_date, conf_json, airflow_home, spark_master, fail_task, no_retries, mark_success, report):
    home = Path(airflow_home or os.environ.get("AIRFLOW_HOME") or PROJECT_ROOT / "var" / "airflow").resolve()
    home.mkdir(parents=True, exist_ok=True)
    if "_RUN_NIGHTLY_CHILD" not in os.environ:
        env = airflow_environment(home, spark_master)
        migrate(env)
        # Airflow reads its configuration at import: run the DAG in a child that starts with it.
        child = [sys.executable, "-m", "jobs.run_nightly", "--run-date", run_date.date().isoformat(),
                 "--conf", conf_json, "--spark-master", spark_master]
        child += ["--fail-task", fail_task] if fail_task else []
        child += ["--no-retries"] if no_retries else []
        child += ["--mark-success", mark_success] if mark_success else []
        child += ["--report", report] if report else []
        sys.exit(subprocess.run(child, env={**os.environ, **env, "_RUN_NIGHTLY_CHILD": "1"}).returncode)
    result = run_once(run_date.date(), json.loads(conf_json), fail_task, no_retries, mark_success)
    click.echo(f"\n{DAG_ID} {run_date.date()}: {result['state']} in {result['wall_seconds']} s")
    for row in result["tasks"]:
        click.echo(f"  {row['task']:<22} {row['state']:<16} {row['seconds'] if row['seconds'] is not None else '-':>8}")
    if report:
        Path(report).write_text(json.dumps(result, indent=1))
    sys.exit(0 if result["state"] == "success" else 1)


if __name__ == "__main__":
    main()
