"""Nightly demographics pipeline, and the same DAG triggered from the UI with a typed form.

ingest once, then one task group per target of the registry (jobs.targets):
  enabled? -> labels -> token_mi -> needs_training? -> train (champion gate) -> score (mapped
  over shard groups) -> data-quality checks -> publish
and once every group is done, audience (jobs.audience: every account's and hashtag's shares) and,
when the image_model param is on, the images group: train (jobs.image_model: one 3D CNN over
each user's pictures, its champion gate) -> score (jobs.image_score: every user with pictures,
fused with the night's text predictions).
A run that generates a world reads and writes its own namespace (runtime.config.demo_namespace).

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
from airflow.timetables.trigger import CronTriggerTimetable

PROJECT = Path(__file__).resolve().parent.parent
if str(PROJECT) not in sys.path:  # the DAG processor puts only dags/ on the path
    sys.path.insert(0, str(PROJECT))

from runtime.config import spark_submit_settings  # noqa: E402
from jobs.targets import TARGETS, VOCAB_SIZES, nightly_targets, runnable_targets  # noqa: E402

SHARD_COUNT = int(os.environ.get("DEMOGRAPHICS_SHARDS", "16"))
SCORE_GROUPS = 4  # spark-submits per target and night, each scoring its share of the shards
RUN_DATE = "{{ ds }}"
# Where this run's landing files and tables live: runtime.config.demo_namespace, as a template.
NAMESPACE = "{{ 'demo/%d-users' % (params.world_users | int) if (params.world_users | int) > 0 else '' }}"
_SETTINGS = spark_submit_settings()
SUBMIT = dict(conn_id="spark_default", **{**_SETTINGS, "env_vars": {**_SETTINGS["env_vars"],
                                                                     "DEMOGRAPHICS_NAMESPACE": NAMESPACE}},
              retries=2, retry_delay=dt.timedelta(minutes=2), retry_exponential_backoff=True)
GROUPS = runnable_targets()
HIDDEN_UNITS = [8, 16, 32, 64, 128, 256, 512]
MIN_ACCURACIES = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99]

RUN, DEMO = "What to run", "Sample world (demo runs)"
PARAMS = {
    "targets": Param([t for t in nightly_targets() if t in GROUPS], type="array", examples=GROUPS,
                     items={"type": "string", "enum": GROUPS}, uniqueItems=True, minItems=1, title="Targets",
                     description_md="Targets to label, rank, train and score. At least one.", section=RUN),
    "shards": Param([], type=["array", "null"], examples=[str(s) for s in range(SHARD_COUNT)],
                    items={"type": "string", "enum": [str(s) for s in range(SHARD_COUNT)]}, uniqueItems=True,
                    title="Shards to score",
                    description_md=f"Profile shards (0 to {SHARD_COUNT - 1}) to score. **None chosen scores "
                                   "every shard.** Quality checks and publish count these shards only.",
                    section=RUN),
    "image_model": Param(True, type="boolean", title="Image model",
                         description_md="Train the image model on users' groups of pictures (heads gender, region, "
                                        "occupation) after the text targets, and score it fused with their "
                                        "predictions (`image_predictions`). Off: the images group is **skipped**.",
                         section=RUN),
    "image_epochs": Param(8, type="integer", minimum=1, maximum=100, title="Image model epochs",
                          description_md="At most this many epochs (early stopping on validation users).", section=RUN),
    "force_retrain": Param(False, type="boolean", title="Force retraining",
                           description_md="Train even when the champion is younger than 7 days (the gate still "
                                          "decides). Off: a young champion is kept, training shows **skipped** "
                                          "with its reason, and the model settings below do not apply.",
                           section=RUN),
    "hidden_units": Param(64, type="integer", enum=HIDDEN_UNITS, title="Hidden units",
                          description_md="Units of the networks' hidden layer (every target).", section=RUN),
    "world_users": Param(0, type="integer", minimum=0, maximum=200_000_000, title="Generate a world of N users",
                         description_md="0: run on the landing files already there. **N > 0**: first generate "
                                        "a sample world of N users; the run then reads and writes its own "
                                        "namespace (`landing/demo/N-users`, `warehouse/demo/N-users`), never "
                                        "real data.", section=DEMO),
}
for _name in GROUPS:
    _t = TARGETS[_name]
    PARAMS[f"{_name}_vocab_size"] = Param(_t.vocab_size, type="integer", enum=list(VOCAB_SIZES),
                                          title=f"{_name}: vocab size", section=f"Target: {_name}",
                                          description_md="Tokens kept per family by mutual information.")
    PARAMS[f"{_name}_model_family"] = Param(_t.model_family, type="string", enum=list(_t.model_families),
                                            title=f"{_name}: model family", section=f"Target: {_name}",
                                            description_md="Trained, registered and gated against the champion "
                                                           "(logreg/linsvm read tf-idf, networks presence).")
    PARAMS[f"{_name}_min_accuracy"] = Param(_t.min_accuracy, type="number",
                                            enum=sorted({*MIN_ACCURACIES, _t.min_accuracy}),
                                            title=f"{_name}: accuracy to reach", section=f"Target: {_name}",
                                            description_md="Held-out labelled users must reach this accuracy; "
                                                           "less confident users are `uncertain`.")


def _job(task_id: str, module: str, args: list[str], **kwargs) -> SparkSubmitOperator:
    """A spark-submit of the project's module `module` (dotted, e.g. jobs.ingest)."""
    return SparkSubmitOperator(task_id=task_id, application=application(module), application_args=args,
                               name=f"demographics-{task_id}", **SUBMIT, **kwargs)


def application(module: str) -> str:
    return str(PROJECT.joinpath(*module.split(".")).with_suffix(".py"))


@task.short_circuit(ignore_downstream_trigger_rules=False)
def wants_world(params: dict | None = None) -> bool:
    return bool(params and params["world_users"] > 0)


@task.short_circuit(ignore_downstream_trigger_rules=False)
def enabled(target: str, params: dict | None = None) -> bool:
    """False skips the target's whole group for this run: its first steps are skipped, the rest
    follow by their trigger rules (not further: the shared audience task after every group must
    still see a failed group and fail the run)."""
    return target in (params or {}).get("targets", [])


def chosen_shards(params: dict | None) -> list[int] | None:
    """The shards param as numbers; None = every shard."""
    return sorted({int(s) for s in (params or {}).get("shards") or []}) or None


def namespaced_config(params: dict | None):
    """The run's PipelineConfig: its own namespace when it generates a world."""
    from runtime.config import demo_namespace, namespaced

    return namespaced(demo_namespace((params or {}).get("world_users", 0)))


@task.short_circuit(ignore_downstream_trigger_rules=False, trigger_rule="none_failed_min_one_success")
def images_enabled(params: dict | None = None) -> bool:
    """After every text group (the fusion reads their predictions): False skips the images group."""
    return bool((params or {}).get("image_model"))


@task
def needs_training(target: str, ds: str | None = None, params: dict | None = None) -> str:
    """Skips train (it shows `skipped`, the reason in its log and the run's report) when the
    champion is young and retraining is not forced; score then uses the champion."""
    from airflow.sdk.exceptions import AirflowSkipException

    from jobs.registry import keep_champion_reason
    from runtime.config import demo_namespace
    from runtime.task_summary import echo_summary

    params = params or {}
    settings = {k: params.get(k) for k in (f"{target}_model_family", "hidden_units", f"{target}_min_accuracy")}
    defaults = {k: PARAMS[k].value for k in settings}
    reason = keep_champion_reason(target, dt.date.fromisoformat(ds), bool(params.get("force_retrain")), settings,
                                  defaults, namespace=demo_namespace(params.get("world_users", 0)))
    if reason:
        echo_summary(namespaced_config(params).with_(run_date=dt.date.fromisoformat(ds)), "needs_training",
                     {"reason": reason}, target)  # the run's report shows it beside the skipped state
        raise AirflowSkipException(reason)
    return "training"


@task
def shard_groups(target: str, ds: str | None = None, params: dict | None = None) -> list[list[str]]:
    """One spark-submit per group of shards; each rewrites only its shards of the night.
    (Mapped arguments come from XCom and are not templated: the date is filled in here.)"""
    chosen = chosen_shards(params) or list(range(SHARD_COUNT))
    groups = [chosen[i::SCORE_GROUPS] for i in range(min(SCORE_GROUPS, len(chosen)))]
    return [["--target", target, "--shards", ",".join(map(str, sorted(g))), "--run-date", str(ds)]
            for g in groups if g]


@task
def data_quality(target: str, ds: str | None = None, params: dict | None = None) -> dict:
    """Checks the night's predictions of the scored shards without a JVM; any failure stops publication."""
    from jobs.quality import check_predictions

    return check_predictions(ds, target, namespaced_config(params), chosen_shards(params))


@task
def publish(report: dict, ds: str | None = None, params: dict | None = None) -> str:
    from jobs.quality import publish_marker

    return publish_marker(ds, report, namespaced_config(params))


with DAG(
    dag_id="demographics_nightly",
    description="Profiles -> labels -> MI -> model -> predictions, per target, every night.",
    # Midnight UTC. No start_date and a zero run_immediately window: switching the schedule on
    # first waits for the next midnight instead of at once running the one that has passed.
    # (Airflow 3.3 reads run_immediately=False like None: it still runs a midnight passed less
    # than 2.4 h ago, which this DAG's test caught at 00:19.)
    schedule=CronTriggerTimetable("0 0 * * *", timezone="UTC", run_immediately=dt.timedelta(0)),
    catchup=False,
    max_active_runs=1,
    params=PARAMS,
    tags=["demographics"],
    doc_md=__doc__,
) as dag:
    generate = _job("generate_world", "world.generate", ["--users", "{{ params.world_users }}", "--run-date", RUN_DATE])
    ingest = _job("ingest", "jobs.ingest", ["--run-date", RUN_DATE], trigger_rule="none_failed")
    wants_world() >> generate >> ingest
    # Every target's audience shares once its group is done (a skipped group: the others still run).
    audience = _job("audience", "jobs.audience", ["--run-date", RUN_DATE], trigger_rule="none_failed_min_one_success")

    publishes = []
    for name in GROUPS:
        with TaskGroup(group_id=name, tooltip=f"{name}: {', '.join(TARGETS[name].classes)}"):
            on = enabled(name)
            labels = _job("labels", "jobs.labels", ["--target", name, "--run-date", RUN_DATE])
            token_mi = _job("token_mi", "jobs.token_mi", ["--target", name, "--vocab-size",
                                                     f"{{{{ params.{name}_vocab_size }}}}", "--run-date", RUN_DATE])
            decide = needs_training(name)
            # needs_training decided: train always trains when it runs.
            train = _job("train", "jobs.train", [
                "--target", name, "--models", f"{{{{ params.{name}_model_family }}}}",
                "--hidden", "{{ params.hidden_units }}", "--force-retrain", "True",
                "--min-accuracy", f"{{{{ params.{name}_min_accuracy }}}}", "--run-date", RUN_DATE])
            groups = shard_groups(name)
            score = SparkSubmitOperator.partial(
                task_id="score", application=application("jobs.score"), name=f"demographics-{name}-score",
                # a train skipped by needs_training keeps the champion; a group skipped by enabled
                # has shard_groups skipped too, so nothing succeeded upstream and score skips
                max_active_tis_per_dagrun=1, trigger_rule="none_failed_min_one_success", **SUBMIT,
            ).expand(application_args=groups)
            checks = data_quality(name)
            ingest >> on >> labels >> token_mi >> decide >> train >> score >> checks
            on >> groups
            published = publish(checks)
            published >> audience
            publishes.append(published)

    with TaskGroup(group_id="images", tooltip="image groups: gender, region and occupation from pictures"):
        images_on = images_enabled()
        image_train = _job("train", "jobs.image_model", ["--epochs", "{{ params.image_epochs }}", "--run-date", RUN_DATE])
        image_score = _job("score", "jobs.image_score", ["--run-date", RUN_DATE])
        publishes >> images_on >> image_train >> image_score
