"""Shared fixtures: one small local Spark session for the whole run (UI off, few partitions)."""
from __future__ import annotations

import datetime as dt

import pytest

from jobs.config import PipelineConfig


@pytest.fixture(scope="session")
def spark():
    from jobs.spark_session import start_spark

    session = start_spark("tests", master="local[2]", extra={
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.databricks.delta.snapshotPartitions": "1",
        "spark.driver.memory": "3g",
    })
    yield session
    session.stop()


@pytest.fixture()
def config(tmp_path) -> PipelineConfig:
    return PipelineConfig(warehouse=str(tmp_path / "warehouse"), landing=str(tmp_path / "landing"),
                          run_date=dt.date(2026, 11, 22), shards=4)


NIGHT = dt.date(2026, 11, 22)
WORLD_USERS = 5000


@pytest.fixture(scope="session")
def world(spark, tmp_path_factory):
    """A generated world ingested once: (config, ingest summary). Shared by the end-to-end tests."""
    from jobs import generate_world, ingest

    root = tmp_path_factory.mktemp("world")
    cfg = PipelineConfig(warehouse=str(root / "warehouse"), landing=str(root / "landing"), run_date=NIGHT, shards=4)
    generate_world.run(spark, cfg, users=WORLD_USERS, seed=11)
    return cfg, ingest.run(spark, cfg)
