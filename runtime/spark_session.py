"""The one place a SparkSession is built.

Local by default (`local[*]`), any master by DEMOGRAPHICS_SPARK_MASTER or spark-submit. Delta
comes from the JARs cached at set-up in .cache/jars; on a cluster that provides its own Delta,
set DEMOGRAPHICS_DELTA_JARS=cluster and the session adds none.
"""
from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

from udfs import NUMBA_CACHE_DIR
from runtime.config import delta_jars, driver_java_options, spark_local_ip


def start_spark(app_name: str = "demographics", master: str | None = None, extra: dict | None = None) -> SparkSession:
    """Build (or reuse) the SparkSession with Delta, Arrow and the project's Python on workers."""
    # Workers must run this interpreter (it has numba, numpy and the project installed).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # The JVM this call starts binds its driver, block manager and UI here (loopback by default).
    os.environ.setdefault("SPARK_LOCAL_IP", spark_local_ip())
    builder = SparkSession.builder.appName(app_name)
    master = master or os.environ.get("DEMOGRAPHICS_SPARK_MASTER")
    if master:
        builder = builder.master(master)
    elif "spark.master" not in os.environ.get("PYSPARK_SUBMIT_ARGS", "") and not os.environ.get("SPARK_ENV_LOADED"):
        builder = builder.master("local[*]")
    jars = delta_jars()
    conf = {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.host": os.environ["SPARK_LOCAL_IP"],
        "spark.driver.bindAddress": os.environ["SPARK_LOCAL_IP"],
        "spark.sql.shuffle.partitions": os.environ.get("DEMOGRAPHICS_SHUFFLE_PARTITIONS", "8"),
        # Delta's default of 50 partitions for log replay dominates small local jobs.
        "spark.databricks.delta.snapshotPartitions": "4",
        # Our caches are one job's short-lived working sets (ingest's parsed sources): encoding
        # them compressed cost ~30% of posts' parse-and-cache time and bought memory we have.
        "spark.sql.inMemoryColumnarStorage.compressed": "false",
        # Parquet's INT96 timestamps are deprecated, and writing them (a 12-byte dictionary per
        # column) was a visible share of every table write; int64 microseconds is the standard.
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.driver.memory": os.environ.get("DEMOGRAPHICS_DRIVER_MEMORY", "6g"),
        # numba kernels: one thread per Spark task, compiled code cached where every worker finds it.
        "spark.executorEnv.NUMBA_NUM_THREADS": "1",
        "spark.executorEnv.NUMBA_CACHE_DIR": NUMBA_CACHE_DIR,
    }
    if jars:
        conf["spark.jars"] = ",".join(jars)
    # Only takes effect where this call starts the JVM (not under spark-submit: see the DAG).
    if java_options := driver_java_options():
        conf["spark.driver.extraJavaOptions"] = java_options
    conf.update(extra or {})
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("DEMOGRAPHICS_SPARK_LOG_LEVEL", "WARN"))
    return spark
