"""DAG integrity: imports cleanly and quickly, one task group per target of the registry, Params validate."""
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.targets import runnable_targets

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_dagbag_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "demographics_nightly" in dagbag.dags


def test_one_group_per_target_after_one_ingest(dagbag):
    dag = dagbag.dags["demographics_nightly"]
    down = {t.task_id: set(t.downstream_task_ids) for t in dag.tasks}
    assert ["gender", "gender_name", "country", "occupation", "region"] == [
        t for t in runnable_targets() if t != "authenticity"]
    for a, b in (("wants_world", "generate_world"), ("generate_world", "ingest")):
        assert b in down[a], (a, b)
    for target in runnable_targets():
        chain = ["ingest", *(f"{target}.{s}" for s in ("enabled", "labels", "token_mi", "needs_training", "train", "score",
                                                       "data_quality", "publish"))]
        for a, b in zip(chain, chain[1:]):
            assert b in down[a], (a, b)
        assert down[f"{target}.shard_groups"] == {f"{target}.score"}
        score = dag.get_task(f"{target}.score")
        assert type(score).__name__ == "MappedOperator"
        for step in ("labels", "token_mi", "train"):
            t = dag.get_task(f"{target}.{step}")
            assert t._conn_id == "spark_default" and t.retries >= 1 and "{{ ds }}" in t.application_args
            assert t.application_args[t.application_args.index("--target") + 1] == target
            assert Path(t.application).exists()
    assert [t for t in dag.tasks if t.task_id == "ingest"] and dag.get_task("ingest").trigger_rule == "none_failed"
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert Path(dag.get_task("generate_world").application).exists() and Path(dag.get_task("ingest").application).exists()


def test_chosen_shards_are_scored_by_at_most_four_submits_each_once(dagbag):
    import importlib.util

    spec = importlib.util.spec_from_file_location("nightly_dag_file", dagbag.dags["demographics_nightly"].fileloc)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    groups = module.shard_groups.function("gender", "2026-11-22", {"shards": ["0", "1", "2", "3", "4", "5", "9"]})
    shards = [g[g.index("--shards") + 1] for g in groups]
    assert shards == ["0,4", "1,5", "2,9", "3"]
    assert all(g[:2] == ["--target", "gender"] and g[-2:] == ["--run-date", "2026-11-22"] for g in groups)
    assert [g[g.index("--shards") + 1] for g in module.shard_groups.function("gender", "d", {"shards": ["7"]})] == ["7"]
    everything = module.shard_groups.function("gender", "d", {"shards": None})
    assert len(everything) == 4 and sorted(int(s) for g in everything for s in g[3].split(",")) == list(range(module.SHARD_COUNT))


def test_dag_file_parses_fast_without_heavy_imports():
    """Parsed in a fresh interpreter: no Spark, MLflow, numba, scikit-learn or pandas, and quick."""
    probe = ("import sys, time, os; os.environ['AIRFLOW__CORE__LOAD_EXAMPLES'] = 'False';"
             "import airflow.sdk, airflow.providers.apache.spark.operators.spark_submit;"
             "t = time.perf_counter(); import runpy; runpy.run_path(sys.argv[1]);"
             "heavy = [m for m in ('pyspark', 'mlflow', 'numba', 'sklearn', 'pandas') if m in sys.modules];"
             "print(__import__('json').dumps({'seconds': time.perf_counter() - t, 'heavy': heavy}))")
    done = subprocess.run([sys.executable, "-c", probe, str(ROOT / "dags" / "demographics_nightly.py")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"DAG file parse: {result['seconds']:.3f} s after Airflow's own imports")
    assert result["heavy"] == []
    assert result["seconds"] < 2.0


@pytest.mark.parametrize("name,value", [
    ("targets", ["age"]), ("targets", []), ("targets", "gender"), ("gender_vocab_size", 3000), ("hidden_units", 0),
    ("hidden_units", 5000), ("hidden_units", 20), ("occupation_model_family", "svm"),
    ("occupation_model_family", "twin"), ("shards", "1,a"),
    ("shards", ["99"]), ("shards", ["1", "1"]), ("shards", [1]), ("world_users", -5), ("gender_min_accuracy", 0.05),
    ("gender_min_accuracy", 1.5), ("gender_min_accuracy", 0.77), ("force_retrain", "yes"),
])
def test_params_reject_invalid_values(dagbag, name, value):
    from airflow.sdk.definitions.param import ParamValidationError

    params = copy.deepcopy(dagbag.dags["demographics_nightly"].params)
    with pytest.raises(ParamValidationError):
        params.get_param(name).resolve(value)


def test_params_accept_valid_values_and_default_from_the_definitions(dagbag):
    from jobs.targets import TARGETS

    params = copy.deepcopy(dagbag.dags["demographics_nightly"].params)  # resolve() keeps the value it resolved
    defaults = params.validate()  # every default valid as it stands
    assert defaults["targets"] == ["gender", "gender_name", "country", "authenticity", "occupation"] == [
        name for name, t in TARGETS.items() if t.nightly]
    assert defaults["occupation_min_accuracy"] == TARGETS["occupation"].min_accuracy
    assert params.get_param("shards").resolve(["0", "3", "15"]) == ["0", "3", "15"]
    assert params.get_param("shards").resolve(None) is None  # nothing chosen: every shard
    assert params.get_param("gender_vocab_size").resolve(4000) == 4000
    assert params.get_param("gender_model_family").resolve("twin") == "twin"  # binary targets only
    assert params.get_param("occupation_model_family").resolve("linsvm") == "linsvm"
    assert params.get_param("targets").resolve(["occupation"]) == ["occupation"]
    assert defaults["country_min_accuracy"] == TARGETS["country"].min_accuracy


def test_every_default_passes_the_schema_the_trigger_form_validates_with(dagbag):
    """The UI's form gets each Param's value and JSON schema from the serialised DAG and validates
    them before it enables Trigger; an empty field is sent as null. Both must pass."""
    import jsonschema
    from airflow.serialization.serialized_objects import DagSerialization

    served = DagSerialization.from_dict(DagSerialization.to_dict(dagbag.dags["demographics_nightly"]))
    assert set(served.params) == set(dagbag.dags["demographics_nightly"].params)
    for name in served.params:
        dumped = served.params.get_param(name).dump()
        jsonschema.validate(dumped["value"], dumped["schema"])
        if dumped["value"] in ("", [], None):
            jsonschema.validate(None, dumped["schema"])
        assert dumped["schema"].get("title") and dumped["schema"].get("section") and dumped["schema"].get("description_md"), name


def test_switching_the_schedule_on_waits_for_the_next_midnight_and_survives_serialisation(dagbag):
    """Unpausing (the trigger form's default) must not at once start the midnight that has passed:
    that night's landing folder usually does not exist on a demo machine."""
    import datetime as dt

    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.timetables.base import TimeRestriction

    served = DagSerialization.from_dict(DagSerialization.to_dict(dagbag.dags["demographics_nightly"]))
    assert served.start_date is None and not served.catchup
    first = served.timetable.next_dagrun_info(last_automated_data_interval=None,
                                              restriction=TimeRestriction(earliest=None, latest=None, catchup=False))
    now = dt.datetime.now(dt.timezone.utc)
    assert now < first.run_after <= now + dt.timedelta(days=1)
    assert (first.run_after.hour, first.run_after.minute) == (0, 0)


def test_a_generated_world_runs_in_its_own_namespace(dagbag, monkeypatch, tmp_path):
    """The DAG's template and runtime.config agree; the namespace moves landing, warehouse and MLflow."""
    import jinja2

    from jobs.registry import mlflow_uri
    from runtime.config import PipelineConfig, demo_namespace, namespaced

    task = dagbag.dags["demographics_nightly"].get_task("gender.labels")
    template = jinja2.Template(task.env_vars["DEMOGRAPHICS_NAMESPACE"])
    for users in (0, 3000):
        assert template.render(params={"world_users": users}) == demo_namespace(users)
    monkeypatch.setenv("DEMOGRAPHICS_WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.setenv("DEMOGRAPHICS_LANDING", str(tmp_path / "landing"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    real, demo = namespaced(""), namespaced(demo_namespace(3000))
    assert real.warehouse == str(tmp_path / "warehouse") and demo.warehouse == str(tmp_path / "warehouse/demo/3000-users")
    assert demo.landing == str(tmp_path / "landing/demo/3000-users")
    monkeypatch.setenv("DEMOGRAPHICS_NAMESPACE", demo_namespace(3000))
    assert PipelineConfig().warehouse == demo.warehouse  # what every spark-submitted job builds
    assert mlflow_uri().endswith("var/mlflow/demo/3000-users/mlflow.db") and mlflow_uri("") != mlflow_uri()


def test_train_is_decided_first_and_score_runs_on_a_kept_champion(dagbag):
    dag = dagbag.dags["demographics_nightly"]
    for target in runnable_targets():
        assert dag.get_task(f"{target}.train").upstream_task_ids == {f"{target}.needs_training"}
        assert dag.get_task(f"{target}.score").trigger_rule == "none_failed_min_one_success"
    assert dag.get_task("audience").trigger_rule == "none_failed_min_one_success"
    assert {t for t in dag.get_task("audience").upstream_task_ids} == {f"{t}.publish" for t in runnable_targets()}


def test_keeping_a_young_champion_names_the_settings_it_does_not_apply(monkeypatch):
    import datetime as dt

    from jobs import registry

    night = dt.date(2026, 11, 22)
    monkeypatch.setattr(registry, "champion_age_days", lambda target, today, namespace=None: 2)
    reason = registry.keep_champion_reason("gender", night, False, {"hidden_units": 16, "gender_model_family": "mlp1"},
                                           {"hidden_units": 64, "gender_model_family": "mlp1"})
    assert "2 days old (< 7)" in reason and "not applied: hidden_units=16 " in reason and "model_family" not in reason
    assert registry.keep_champion_reason("gender", night, True) is None
    monkeypatch.setattr(registry, "champion_age_days", lambda target, today, namespace=None: 9)
    assert registry.keep_champion_reason("gender", night, False) is None
    monkeypatch.setattr(registry, "champion_age_days", lambda target, today, namespace=None: None)
    assert registry.keep_champion_reason("gender", night, False) is None


def test_spark_submit_tasks_start_their_jvm_as_start_spark_does(dagbag):
    """The DAG takes its JVM options from runtime.config (one source), so every job's JVM gets the JIT
    directives and maps the class archive set-up recorded."""
    from runtime.config import driver_java_options

    dag = dagbag.dags["demographics_nightly"]
    expected = driver_java_options()
    for task_id in ("generate_world", "ingest", "gender.labels", "occupation.train", "gender.score"):
        task = dag.get_task(task_id)
        conf = task.partial_kwargs["conf"] if task_id.endswith("score") else task.conf
        env = task.partial_kwargs["env_vars"] if task_id.endswith("score") else task.env_vars
        assert (conf or {}).get("spark.driver.extraJavaOptions", "") == expected, task_id
        # loopback only: the driver, its block manager and the Spark UI
        assert conf["spark.driver.host"] == conf["spark.driver.bindAddress"] == env["SPARK_LOCAL_IP"] == "127.0.0.1"


def test_the_images_group_runs_after_every_text_group_when_its_param_is_on(dagbag):
    dag = dagbag.dags["demographics_nightly"]
    on = dag.get_task("images.images_enabled")
    assert on.upstream_task_ids == {f"{t}.publish" for t in runnable_targets()}
    assert on.trigger_rule == "none_failed_min_one_success"  # a skipped text group does not skip images
    assert dag.get_task("images.train").upstream_task_ids == {"images.images_enabled"}
    assert dag.get_task("images.score").upstream_task_ids == {"images.train"}
    for task_id, module in (("images.train", "jobs/image_model.py"), ("images.score", "jobs/image_score.py")):
        task = dag.get_task(task_id)
        assert task.application.endswith(module) and "{{ ds }}" in task.application_args
    from dags import demographics_nightly as module

    assert module.images_enabled.function({"image_model": True}) is True
    assert module.images_enabled.function({"image_model": False}) is False
