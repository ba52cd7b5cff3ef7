"""Nightly demographics pipeline, and the same DAG triggered from the UI with a typed form.

ingest once, then one task group per target of the registry (jobs.targets):
  enabled? -> labels -> token_mi -> train (champion gate) -> score (mapped over shard groups)
  -> data-quality checks -> publish

Thin on purpose: at parse time only Airflow and two light project modules (the target registry
and the config: no Spark, no models) are imported; every step is a job run through spark-submit
on the `spark_default` connection (the project defines it as local[*]; point it at a cluster to
scale out, see the README).
"""
from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, Param, TaskGroup, task

PROJECT = Path(__file__).resolve().parent.parent
if str(PROJECT) not in sys.path:  # the DAG processor puts only dags/ on the path
    sys.path.insert(0, str(PROJECT))

from runtime.config import spark_submit_settings  # noqa: E402
from jobs.targets import MODEL_FAMILIES, TARGETS, VOCAB_SIZES, nightly_targets, runnable_targets  # noqa: E402

SHARD_COUNT = int(os.environ.get("DEMOGRAPHICS_SHARDS", "16"))
SCORE_GROUPS = 4  # spark-submits per target and night, each scoring its share of the shards
RUN_DATE = "{{ ds }}"
SUBMIT = dict(conn_id="spark_default", **spark_submit_settings(), retries=2, retry_delay=dt.timedelta(minutes=2),
              retry_exponential_backoff=True)
GROUPS = runnable_targets()

PARAMS = {
    "targets": Param([t for t in nightly_targets() if t in GROUPS], type="array", examples=GROUPS,
                     items={"type": "string", "enum": GROUPS}, uniqueItems=True, minItems=1,
                     description="Which targets to label, rank, train and score."),
    "hidden_units": Param(64, type="integer", minimum=2, maximum=1024, description="Units of the hidden layer."),
    "shards": Param("", type="string", pattern=r"^(\d+(,\d+)*)?$",
                    description=f"Comma list of shards (0..{SHARD_COUNT - 1}) to score; empty scores every shard."),
    "force_retrain": Param(False, type="boolean",
                           description="Train even when a champion exists (the gate still decides)."),
    "world_users": Param(0, type="integer", minimum=0, maximum=200_000_000,
                         description="If > 0, first generate a sample world of this many users (demo runs)."),
}
for _name in GROUPS:
    _t = TARGETS[_name]
    PARAMS[f"{_name}_vocab_size"] = Param(_t.vocab_size, type="integer", enum=list(VOCAB_SIZES),
                                          description=f"{_name}: tokens kept per family by mutual information.")
    PARAMS[f"{_name}_model_family"] = Param(_t.model_family, type="string", enum=list(MODEL_FAMILIES),
                                            description=f"{_name}: model trained, registered and gated against "
                                                        "the champion (logreg/linsvm read tf-idf, networks presence).")
    PARAMS[f"{_name}_min_accuracy"] = Param(_t.min_accuracy, type="number", minimum=0.1, maximum=1.0,
                                            description=f"{_name}: accuracy held-out labelled users must reach; "
                                                        "less confident users are 'uncertain'.")


def _job(task_id: str, module: str, args: list[str], **kwargs) -> SparkSubmitOperator:
    """A spark-submit of the project's module `module` (dotted, e.g. jobs.ingest)."""
    return SparkSubmitOperator(task_id=task_id, application=application(module), application_args=args,
                               name=f"demographics-{task_id}", **SUBMIT, **kwargs)


def application(module: str) -> str:
    return str(PROJECT.joinpath(*module.split(".")).with_suffix(".py"))


@task.short_circuit(ignore_downstream_trigger_rules=False)
def wants_world(params: dict | None = None) -> bool:
    return bool(params and params["world_users"] > 0)


@task.short_circuit
def enabled(target: str, params: dict | None = None) -> bool:
    """False skips the target's whole group for this run."""
    return target in (params or {}).get("targets", [])


@task
def shard_groups(target: str, ds: str | None = None, params: dict | None = None) -> list[list[str]]:
    """One spark-submit per group of shards; each rewrites only its shards of the night.
    (Mapped arguments come from XCom and are not templated: the date is filled in here.)"""
    chosen = [int(s) for s in (params or {}).get("shards", "").split(",") if s.strip()] or list(range(SHARD_COUNT))
    groups = [chosen[i::SCORE_GROUPS] for i in range(min(SCORE_GROUPS, len(chosen)))]
    return [["--target", target, "--shards", ",".join(map(str, sorted(g))), "--run-date", str(ds)]
            for g in groups if g]


@task
def data_quality(target: str, ds: str | None = None) -> dict:
    """Checks the night's predictions without a JVM; any failure stops publication."""
    from jobs.quality import check_predictions

    return check_predictions(ds, target)


@task
def publish(report: dict, ds: str | None = None) -> str:
    from jobs.quality import publish_marker

    return publish_marker(ds, report)


with DAG(
    dag_id="demographics_nightly",
    description="Profiles -> labels -> MI -> model -> predictions, per target, every night.",
    schedule="@daily",
    start_date=dt.datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=1,
    params=PARAMS,
    tags=["demographics"],
    doc_md=__doc__,
) as dag:
    generate = _job("generate_world", "world.generate", ["--users", "{{ params.world_users }}", "--run-date", RUN_DATE])
    ingest = _job("ingest", "jobs.ingest", ["--run-date", RUN_DATE], trigger_rule="none_failed")
    wants_world() >> generate >> ingest

    for name in GROUPS:
        with TaskGroup(group_id=name, tooltip=f"{name}: {', '.join(TARGETS[name].classes)}"):
            on = enabled(name)
            labels = _job("labels", "jobs.labels", ["--target", name, "--run-date", RUN_DATE])
            token_mi = _job("token_mi", "jobs.token_mi", ["--target", name, "--vocab-size",
                                                     f"{{{{ params.{name}_vocab_size }}}}", "--run-date", RUN_DATE])
            train = _job("train", "jobs.train", [
                "--target", name, "--models", f"{{{{ params.{name}_model_family }}}}",
                "--hidden", "{{ params.hidden_units }}", "--force-retrain", "{{ params.force_retrain }}",
                "--min-accuracy", f"{{{{ params.{name}_min_accuracy }}}}", "--run-date", RUN_DATE])
            groups = shard_groups(name)
            score = SparkSubmitOperator.partial(
                task_id="score", application=application("jobs.score"), name=f"demographics-{name}-score",
                max_active_tis_per_dagrun=1, **SUBMIT,
            ).expand(application_args=groups)
            checks = data_quality(name)
            ingest >> on >> labels >> token_mi >> train >> score >> checks
            on >> groups
            publish(checks)
