"""Nightly demographics pipeline, and the same DAG triggered from the UI with a typed form.

ingest -> labels -> token_mi -> train (champion gate) -> score (mapped over shard groups)
       -> data-quality checks -> publish

Thin on purpose: only Airflow and the Spark provider are imported at parse time; every step is
a job run through spark-submit on the `spark_default` connection (the project defines it as
local[*]; point it at a cluster to scale out).
"""
from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, Param, task

PROJECT = Path(__file__).resolve().parent.parent
JOBS = PROJECT / "jobs"
SHARDS = int(os.environ.get("DEMOGRAPHICS_SHARDS", "16"))
RUN_DATE = "{{ ds }}"
# Under spark-submit the JVM starts before the job's code runs, so Delta's JARs (cached at set-up)
# go on the command line; a cluster with its own Delta sets DEMOGRAPHICS_DELTA_JARS=cluster.
DELTA_JARS = ("" if os.environ.get("DEMOGRAPHICS_DELTA_JARS") == "cluster"
              else ",".join(sorted(str(p) for p in (PROJECT / ".cache" / "jars").glob("*.jar"))))
# spark-submit's driver and workers run the interpreter Airflow runs in (the project's .venv).
JOB_ENV = {"PYTHONPATH": str(PROJECT), "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
# The driver JVM starts before the job's code: its memory and JVM options go on the command line,
# with the JIT directives and the class archive set-up recorded (as jobs.config.driver_java_options;
# not imported here, the project may not be on the DAG processor's path).
DRIVER_MEMORY = os.environ.get("DEMOGRAPHICS_DRIVER_MEMORY", "6g")
JIT_DIRECTIVES = PROJECT / "jobs" / "jit_directives.json"
USE_DIRECTIVES = os.environ.get("DEMOGRAPHICS_JIT_DIRECTIVES", "on") != "off"
CLASS_ARCHIVE = PROJECT / ".cache" / "jvm" / "spark-driver.jsa"
USE_ARCHIVE = os.environ.get("DEMOGRAPHICS_CLASS_ARCHIVE", "on") != "off" and CLASS_ARCHIVE.exists()
JAVA_OPTIONS = " ".join(filter(None, [
    os.environ.get("DEMOGRAPHICS_DRIVER_JAVA_OPTIONS", ""),
    f"-XX:+UnlockDiagnosticVMOptions -XX:CompilerDirectivesFile={JIT_DIRECTIVES}" if USE_DIRECTIVES else "",
    f"-XX:SharedArchiveFile={CLASS_ARCHIVE} -Xshare:auto" if USE_ARCHIVE else ""]))
SUBMIT_CONF = {"spark.driver.extraJavaOptions": JAVA_OPTIONS} if JAVA_OPTIONS else None
SUBMIT = dict(conn_id="spark_default", env_vars=JOB_ENV, jars=DELTA_JARS or None, driver_memory=DRIVER_MEMORY,
              conf=SUBMIT_CONF, retries=2, retry_delay=dt.timedelta(minutes=2), retry_exponential_backoff=True)

PARAMS = {
    "target": Param("gender", enum=["gender", "country", "authenticity", "occupation"],
                    description="Which attribute to label, rank, train and score."),
    "vocab_size": Param(10000, type="integer", enum=[1000, 2000, 4000, 10000, 20000, 50000],
                        description="Tokens kept per family by mutual information (the model's input width)."),
    "hidden_units": Param(64, type="integer", minimum=2, maximum=1024, description="Units of the hidden layer."),
    "model_family": Param("mlp1", enum=["perceptron", "mlp1", "mlp2", "twin", "logreg", "linsvm"],
                          description="Model trained, registered and gated against the champion "
                                      "(logreg/linsvm read tf-idf values, networks token presence)."),
    "min_accuracy": Param(0.9, type="number", minimum=0.5, maximum=1.0,
                          description="Accuracy the labelled users must reach on held-out calibration users; "
                                      "less confident users are 'uncertain'."),
    "shards": Param("", type="string", pattern=r"^(\d+(,\d+)*)?$",
                    description="Comma list of shards to score; empty scores every shard."),
    "force_retrain": Param(False, type="boolean",
                           description="Train even when a champion exists (the gate still decides)."),
    "world_users": Param(0, type="integer", minimum=0, maximum=200_000_000,
                         description="If > 0, first generate a sample world of this many users (demo runs)."),
}


def _job(task_id: str, module: str, args: list[str], **kwargs) -> SparkSubmitOperator:
    return SparkSubmitOperator(task_id=task_id, application=str(JOBS / f"{module}.py"), application_args=args,
                               name=f"demographics-{task_id}", **SUBMIT, **kwargs)


with DAG(
    dag_id="demographics_nightly",
    description="Profiles -> labels -> MI -> model -> predictions, every night.",
    schedule="@daily",
    start_date=dt.datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=1,
    params=PARAMS,
    tags=["demographics"],
    doc_md=__doc__,
) as dag:

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def wants_world(params: dict | None = None) -> bool:
        return bool(params and params["world_users"] > 0)

    generate = _job("generate_world", "generate_world",
                    ["--users", "{{ params.world_users }}", "--run-date", RUN_DATE])
    ingest = _job("ingest", "ingest", ["--run-date", RUN_DATE], trigger_rule="none_failed")
    labels = _job("labels", "labels", ["--run-date", RUN_DATE])
    token_mi = _job("token_mi", "token_mi", ["--target", "{{ params.target }}", "--vocab-size",
                                             "{{ params.vocab_size }}", "--run-date", RUN_DATE])
    train = _job("train", "train", ["--target", "{{ params.target }}", "--models", "{{ params.model_family }}",
                                    "--register", "{{ params.model_family }}", "--hidden", "{{ params.hidden_units }}",
                                    "--force-retrain", "{{ params.force_retrain }}",
                                    "--min-accuracy", "{{ params.min_accuracy }}", "--run-date", RUN_DATE])

    @task
    def shard_groups(ds: str | None = None, params: dict | None = None) -> list[list[str]]:
        """One spark-submit per group of shards; each rewrites only its shards of the night.
        (Mapped arguments come from XCom and are not templated: the date is filled in here.)"""
        chosen = [int(s) for s in (params or {}).get("shards", "").split(",") if s.strip()] or list(range(SHARDS))
        groups = [chosen[i::4] for i in range(min(4, len(chosen)))]
        target = (params or {}).get("target", "gender")
        return [["--target", target, "--shards", ",".join(map(str, sorted(g))), "--run-date", str(ds)]
                for g in groups if g]

    score = SparkSubmitOperator.partial(
        task_id="score", application=str(JOBS / "score.py"), name="demographics-score",
        max_active_tis_per_dagrun=1, **SUBMIT,
    ).expand(application_args=shard_groups())

    @task
    def data_quality(ds: str | None = None, params: dict | None = None) -> dict:
        """Checks the night's predictions without a JVM; any failure stops publication."""
        from jobs.quality import check_predictions

        return check_predictions(ds, (params or {}).get("target", "gender"))

    @task
    def publish(report: dict, ds: str | None = None) -> str:
        from jobs.quality import publish_marker

        return publish_marker(ds, report)

    checks = data_quality()
    wants_world() >> generate >> ingest >> labels >> token_mi >> train >> score >> checks
    publish(checks)
