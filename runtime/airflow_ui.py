"""Airflow standalone (scheduler, API server, UI) on the project's own home and connection."""
from __future__ import annotations

import os
from pathlib import Path

import click

from runtime.config import PROJECT_ROOT
from runtime.run_nightly import airflow_environment, migrate


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
@click.option("--spark-master", default="local[*]", show_default=True, help="spark_default connection's host.")
def main(host, port, spark_master):
    home = PROJECT_ROOT / "var" / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **airflow_environment(home, spark_master), "AIRFLOW__API__HOST": host,
           "AIRFLOW__API__PORT": str(port), "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin"}
    migrate(env)
    click.echo(f"Airflow UI: http://{host}:{port}  user: admin  password: printed by Airflow as it starts, and kept in\n"
               f"  {home / 'simple_auth_manager_passwords.json.generated'}\n"
               "Trigger 'demographics_nightly' with the form (Trigger -> parameters) to choose target, vocab size, shards...")
    airflow = str(Path(env["PATH"].split(os.pathsep)[0]) / "airflow")
    os.execve(airflow, [airflow, "standalone"], env)


if __name__ == "__main__":
    main()
