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
    assert ["gender", "occupation"] == [t for t in runnable_targets() if t in ("gender", "occupation")]
    for a, b in (("wants_world", "generate_world"), ("generate_world", "ingest")):
        assert b in down[a], (a, b)
    for target in runnable_targets():
        chain = ["ingest", *(f"{target}.{s}" for s in ("enabled", "labels", "token_mi", "train", "score",
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
    groups = module.shard_groups.function("gender", "2026-11-22", {"shards": "0,1,2,3,4,5,9"})
    shards = [g[g.index("--shards") + 1] for g in groups]
    assert shards == ["0,4", "1,5", "2,9", "3"]
    assert all(g[:2] == ["--target", "gender"] and g[-2:] == ["--run-date", "2026-11-22"] for g in groups)
    assert [g[g.index("--shards") + 1] for g in module.shard_groups.function("gender", "d", {"shards": "7"})] == ["7"]
    everything = module.shard_groups.function("gender", "d", {"shards": ""})
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
    ("hidden_units", 5000), ("occupation_model_family", "svm"), ("shards", "1,a"), ("shards", "1,,2"),
    ("world_users", -5), ("gender_min_accuracy", 0.05), ("gender_min_accuracy", 1.5), ("force_retrain", "yes"),
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
    assert defaults["targets"] == ["gender", "occupation"]
    assert defaults["occupation_min_accuracy"] == TARGETS["occupation"].min_accuracy
    assert params.get_param("shards").resolve("0,3,15") == "0,3,15"
    assert params.get_param("gender_vocab_size").resolve(4000) == 4000
    assert params.get_param("occupation_model_family").resolve("twin") == "twin"
    assert params.get_param("targets").resolve(["occupation"]) == ["occupation"]


def test_spark_submit_tasks_start_their_jvm_as_start_spark_does(dagbag):
    """The DAG takes its JVM options from runtime.config (one source), so every job's JVM gets the JIT
    directives and maps the class archive set-up recorded."""
    from runtime.config import driver_java_options

    dag = dagbag.dags["demographics_nightly"]
    expected = driver_java_options()
    for task_id in ("generate_world", "ingest", "gender.labels", "occupation.train", "gender.score"):
        task = dag.get_task(task_id)
        conf = task.partial_kwargs["conf"] if task_id.endswith("score") else task.conf
        assert (conf or {}).get("spark.driver.extraJavaOptions", "") == expected, task_id
