"""Score every profile (or chosen shards) with the champion model -> Delta `predictions`.

Each profile's rows of the model's feature set (udfs.feature_sets: texts -> numba tokeniser ->
vocab indices; or profile metadata -> standardised values) -> CSR -> numba forward pass,
all inside one mapInArrow, one numba thread per Spark task. A night's rows for the scored shards are replaced
atomically, so rerunning a night leaves one copy of each row.
"""
from __future__ import annotations

from pathlib import Path

import click
from pyspark import InheritableThread
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import FloatType, LongType, IntegerType, StringType, StructField, StructType

from runtime import delta_io
from runtime.config import PipelineConfig, config_from_cli
from jobs.derived import DERIVED, DERIVED_CLASSES
from jobs.targets import target_def
from runtime.task_summary import echo_summary
from jobs.texts import read_user_texts
from jobs.tokens import FAMILIES, text_columns
from udfs.arrow_adapter import load_network, score_batches, warm_batches
from udfs.kernels import UNCERTAIN


def resolve_champion(target: str, model_uri: str | None = None) -> tuple[str, str, str]:
    """(local model folder, model name, version) of `model_uri` or models:/<target>@champion."""
    import mlflow

    from jobs.registry import mlflow_uri

    mlflow.set_tracking_uri(mlflow_uri())
    client = mlflow.MlflowClient()
    uri = model_uri or f"models:/{target}@champion"
    if "@" in uri:
        name, alias = uri.split("/")[-1].split("@")
        version = str(client.get_model_version_by_alias(name, alias).version)
    else:
        name, version = uri.split("/")[-2:]
    folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}")) / "artifacts" / "network"
    return str(folder), name, version


def score_inputs(rows: DataFrame, shards: list[int] | None = None, columns: tuple[str, ...] | None = None) -> DataFrame:
    """(user_id, shard, and the `columns` the model's feature set reads -- default: every text
    column) of the chosen shards (default: all). A hashtag-only model never ships bios and names
    to Python; a bio-only one, no captions; a profile-metadata one, no texts at all."""
    if shards:
        rows = rows.where(F.col("shard").isin(*shards))
    return rows.select("user_id", "shard", *(text_columns(FAMILIES) if columns is None else columns))


def feature_rows(spark: SparkSession, config: PipelineConfig, table: str) -> DataFrame:
    """The table a feature set reads (user_texts with its clear error when ingest has not built it)."""
    return read_user_texts(spark, config) if table == "user_texts" else delta_io.read_table(spark, config, table)


def predict_batch(inputs: DataFrame, model_folder: str, classes: list[str]) -> DataFrame:
    """Scores (user_id, shard, texts or indices) with the numba kernels inside mapInArrow."""
    schema = StructType([StructField("user_id", LongType()), StructField("shard", IntegerType()),
                         StructField("label", StringType()), StructField("confidence", FloatType())]
                        + [StructField(f"p_{c}", FloatType()) for c in classes])
    folder = model_folder
    return inputs.mapInArrow(lambda batches: score_batches(batches, folder), schema)


def prediction_rows(scored: DataFrame, target: str, classes: list[str], model_name: str, version: str, run_date) -> DataFrame:
    probs = F.create_map(*[x for c in classes for x in (F.lit(c), F.col(f"p_{c}"))])
    return scored.select("user_id", "shard", F.lit(target).alias("target"), "label", probs.alias("probabilities"),
                         "confidence", F.lit(model_name).alias("model_name"), F.lit(version).alias("model_version"),
                         F.lit(run_date).cast("date").alias("run_date"))


def warm_workers(spark: SparkSession, model_folder: str) -> None:
    """One tiny task per executor core that starts a Python worker, loads the model and numba's
    compiled scorer, then hands the worker back to Spark's pool for the scoring tasks to reuse.
    Run beside the driver's planning of the write, it takes the worker start-up off the
    critical path."""
    slots = spark.sparkContext.defaultParallelism
    schema = StructType([StructField("ready", LongType())])
    spark.range(0, slots, 1, slots).mapInArrow(lambda batches: warm_batches(batches, model_folder), schema).collect()


def label_counts(scored: DataFrame, classes: list[str], name: str = "score_labels") -> tuple[DataFrame, Observation]:
    """scored, observed: the count of each label is collected while the rows are written, so the
    summary needs no second pass over the table."""
    observation = Observation(name)
    counts = [F.sum(F.when(F.col("label") == c, 1).otherwise(0)).alias(c) for c in [*classes, UNCERTAIN]]
    return scored.observe(observation, *counts), observation


def run(spark: SparkSession, config: PipelineConfig, target: str = "gender", shards: list[int] | None = None,
        model_uri: str | None = None) -> dict:
    tdef = target_def(target)
    folder, name, version = resolve_champion(target, model_uri)
    # InheritableThread: closes its own Py4J connection when done (a plain thread's lingers).
    warming = InheritableThread(target=warm_workers, args=(spark, folder), name="warm-python-workers", daemon=True)
    warming.start()
    model = load_network(folder)
    features = model.feature_set
    inputs = score_inputs(features.prepare(feature_rows(spark, config, features.table)), shards, features.columns(model))
    rows = prediction_rows(predict_batch(inputs, folder, model.classes), target, model.classes, name, version,
                           config.run_date)
    rows, observed = label_counts(rows, model.classes)
    condition = f"run_date = '{config.run_date}' AND target = '{target}'"
    if shards:
        condition += f" AND shard IN ({','.join(str(int(s)) for s in shards)})"
    delta_io.replace_where(config, "predictions", rows, condition)
    warming.join()
    labels = {label: n for label, n in observed.get.items() if n}
    summary = {"target": target, "model": f"{name}/{version}", "classes": list(tdef.classes),
               "shards": shards or "all", "labels": labels}
    for derived in tdef.derived:  # rule outputs from tonight's rows of these shards (jobs.derived)
        night = delta_io.read_table(spark, config, "predictions").where(condition)
        out, counted = label_counts(DERIVED[derived](night, delta_io.read_table(spark, config, "profiles")),
                                    list(DERIVED_CLASSES[derived]), f"{derived}_labels")
        delta_io.replace_where(config, "predictions", out, condition.replace(f"target = '{target}'",
                                                                              f"target = '{derived}'"))
        summary[derived] = {label: n for label, n in counted.get.items() if n}
    return summary


@click.command()
@click.option("--target", default="gender", show_default=True)
@click.option("--shards", default="", help="Comma list of shards to score (default: all).")
@click.option("--model-uri", default=None, help="Default: models:/<target>@champion.")
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--warehouse", default=None)
def main(target, shards, model_uri, run_date, warehouse):
    from runtime.spark_session import start_spark

    cfg = config_from_cli(run_date=run_date, warehouse=warehouse)
    chosen = [int(s) for s in shards.split(",") if s.strip()] or None
    summary = run(start_spark("score"), cfg, target, chosen, model_uri)
    echo_summary(cfg, "score", summary, f"{target}.{'-'.join(map(str, chosen or [])) or 'all'}")


if __name__ == "__main__":
    main()
