"""Shared fixtures: one small local Spark session for the whole run (UI off, few partitions)."""
from __future__ import annotations

import datetime as dt
import logging

import pytest

from runtime.config import PipelineConfig


@pytest.fixture(scope="session")
def spark():
    from runtime.spark_session import start_spark

    session = start_spark("tests", master="local[2]", extra={
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.databricks.delta.snapshotPartitions": "1",
        "spark.driver.memory": "3g",
    })
    yield session
    session.stop()
    # py4j logs "Closing down clientserver connection" at INFO from __del__ at interpreter exit,
    # through handlers (Airflow's, set up by the DAG tests) whose stream pytest has closed by then.
    logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.fixture()
def config(tmp_path) -> PipelineConfig:
    return PipelineConfig(warehouse=str(tmp_path / "warehouse"), landing=str(tmp_path / "landing"),
                          run_date=dt.date(2026, 11, 22), shards=4)


NIGHT = dt.date(2026, 11, 22)
WORLD_USERS = 5000


@pytest.fixture(scope="session")
def world(spark, tmp_path_factory):
    """A generated world ingested once for the whole run: (config, ingest summary). Shared by the
    end-to-end tests, and by every xdist worker (the first to need it builds it under a lock, the
    others wait and read it), so tests that write to it work on a copy (`world_copy`)."""
    import fcntl
    import json
    import os
    import shutil

    from jobs import ingest
    from world import generate as generate_world

    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = tmp_path_factory.getbasetemp().parent / "shared_world"  # this run's, beside each worker's own
    else:
        root = tmp_path_factory.mktemp("world")
    cfg = PipelineConfig(warehouse=str(root / "warehouse"), landing=str(root / "landing"), run_date=NIGHT, shards=4)
    done = root.parent / f"{root.name}.json"  # written last: a builder that failed leaves none
    with open(root.parent / f"{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)
            generate_world.run(spark, cfg, users=WORLD_USERS, seed=11)
            done.write_text(json.dumps(ingest.run(spark, cfg)))
    return cfg, json.loads(done.read_text())


def world_copy(cfg: PipelineConfig, root) -> PipelineConfig:
    """The shared world's warehouse copied under root, for a test that writes to its tables; its
    landing is root's own, the world's nights linked into it, so a night the test lands is its own."""
    import os
    import shutil

    own = cfg.with_(warehouse=str(root / "warehouse"), landing=str(root / "landing"))
    shutil.copytree(cfg.warehouse, own.warehouse, symlinks=True)
    os.makedirs(own.landing)
    for night in os.listdir(cfg.landing):
        os.symlink(os.path.join(cfg.landing, night), os.path.join(own.landing, night))
    return own


def warehouse_beside(cfg: PipelineConfig, root) -> PipelineConfig:
    """A warehouse of its own under root, its profiles, posts and user_texts linked to cfg's."""
    import os

    own = cfg.with_(warehouse=str(root / "warehouse"))
    os.makedirs(own.warehouse)
    for t in ("profiles", "posts", "user_texts"):
        os.symlink(cfg.table_path(t), own.table_path(t))
    return own


@pytest.fixture(scope="session")
def gender_world(spark, world, tmp_path_factory):
    """The generated world with every authentic user labelled from the truth (source 'import'),
    tokens ranked and a 1000-hashtag vocab; its own warehouse (profiles/posts linked) and MLflow store."""
    import os

    from pyspark.sql import functions as F

    from jobs import token_mi
    from runtime import delta_io

    cfg, _ = world
    root = tmp_path_factory.mktemp("gender")
    own = warehouse_beside(cfg, root)
    truth = spark.read.json(f"{cfg.landing}/{NIGHT}/source=_truth").where(~F.col("is_fake"))
    delta_io.replace_where(own, "labels", truth.select(
        "user_id", F.lit("gender").alias("target"), F.col("gender").alias("label"), F.lit("import").alias("source"),
        F.lit("truth").alias("evidence"), F.lit(NIGHT).alias("run_date")), "true")
    token_mi.run(spark, own, target="gender", vocab_size=1000, min_users=5, report_dir=str(root / "reports"))
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root}/mlflow.db"
    return own


@pytest.fixture(scope="session")
def trained(spark, gender_world):
    """Every model family trained on gender_world; mlp1 registered as models:/gender@champion."""
    from jobs import train
    from jobs.targets import target_def

    return train.run(spark, gender_world, models=target_def("gender").model_families, register="mlp1", hidden=32,
                     max_iter=15)


# Files that take longest, collected first: the suite runs on pytest-xdist workers, one file to a
# worker at a time (--dist loadfile, in this order: --no-loadscope-reorder), so a long file started
# last would leave the others idle. The standalone-cluster test comes second: its worker builds the
# shared world and the trained models while the other runs the DAG tests, which need neither.
SLOW_FIRST = ("test_dag_runs.py", "test_standalone_cluster.py", "test_country.py", "test_hand_labels.py",
              "test_feature_sets.py", "test_media.py", "test_ingest_e2e.py", "test_mutual_info.py", "test_import.py",
              "test_score.py", "test_train.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FIRST)))  # stable: the rest keep their order
