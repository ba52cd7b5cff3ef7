"""DAG integrity: imports cleanly, the structure and mapping are as designed, Params validate."""
import os
from pathlib import Path

import pytest

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


def test_structure_order_and_mapping(dagbag):
    dag = dagbag.dags["demographics_nightly"]
    down = {t.task_id: set(t.downstream_task_ids) for t in dag.tasks}
    chain = ["wants_world", "generate_world", "ingest", "labels", "token_mi", "train", "score", "data_quality", "publish"]
    for a, b in zip(chain, chain[1:]):
        assert b in down[a], (a, b)
    assert down["shard_groups"] == {"score"}
    score = dag.get_task("score")
    assert type(score).__name__ == "MappedOperator"
    assert dag.max_active_runs == 1 and dag.catchup is False
    for task_id in ("ingest", "labels", "token_mi", "train"):
        t = dag.get_task(task_id)
        assert t._conn_id == "spark_default" and t.retries >= 1 and "{{ ds }}" in t.application_args
        assert Path(t.application).exists()
    assert dag.get_task("ingest").trigger_rule == "none_failed"  # runs when the demo world is skipped


def test_dag_file_is_thin():
    text = (ROOT / "dags" / "demographics_nightly.py").read_text()
    header = text.split("with DAG(")[0]
    for heavy in ("pyspark", "mlflow", "numba", "sklearn", "pandas", "from jobs", "import jobs"):
        assert heavy not in header, heavy


@pytest.mark.parametrize("name,value", [
    ("target", "age"), ("vocab_size", 3000), ("hidden_units", 0), ("hidden_units", 5000),
    ("model_family", "svm"), ("shards", "1,a"), ("shards", "1,,2"), ("world_users", -5),
    ("min_accuracy", 0.3), ("min_accuracy", 1.5), ("force_retrain", "yes"),
])
def test_params_reject_invalid_values(dagbag, name, value):
    from airflow.sdk.definitions.param import ParamValidationError

    params = dagbag.dags["demographics_nightly"].params
    with pytest.raises(ParamValidationError):
        params.get_param(name).resolve(value)


def test_params_accept_valid_values(dagbag):
    params = dagbag.dags["demographics_nightly"].params
    assert params.get_param("shards").resolve("0,3,15") == "0,3,15"
    assert params.get_param("vocab_size").resolve(4000) == 4000
    assert params.get_param("model_family").resolve("twin") == "twin"


def test_spark_submit_tasks_start_their_jvm_as_start_spark_does(dagbag):
    """The DAG repeats jobs.config.driver_java_options (it may not import the project): same options,
    so every job's JVM gets the JIT directives and maps the class archive set-up recorded."""
    from jobs.config import driver_java_options

    dag = dagbag.dags["demographics_nightly"]
    expected = driver_java_options()
    for task_id in ("generate_world", "ingest", "labels", "token_mi", "train", "score"):
        conf = dag.get_task(task_id).partial_kwargs["conf"] if task_id == "score" else dag.get_task(task_id).conf
        assert (conf or {}).get("spark.driver.extraJavaOptions", "") == expected, task_id
