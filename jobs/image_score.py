"""Scores the image model's champion (jobs.image_model) on every user with pictures, inside Spark,
and fuses each head with the night's text prediction of the same target -> Delta
`image_predictions`, one row per user x head x night, for the heads the model had labels to train.

  python -m jobs.image_score --run-date 2026-12-04

The forward pass is udfs.image_cnn's numba kernels on the exported weights (no TensorFlow on the
workers), in a mapInArrow over Arrow batches of IMAGE_BATCH users; the weights travel once as a
broadcast variable, so each Python worker reads them once. The fusion is the model's own:
p_text x (p_image / prior) ** w, with the prior and the weight w its training fitted per head
(jobs.image_model.fused, image_weight). A rerun of a night replaces its rows.
"""
from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from jobs.image_groups import user_image_groups
from jobs.image_model import ARTIFACTS, FILTERS, IMAGE_HEADS, champion_run, fused, trained_heads
from jobs.targets import target_def
from runtime import delta_io
from runtime.config import PipelineConfig, config_from_cli

IMAGE_BATCH = 512  # users per Arrow batch: 11 pictures of 3 KB each, ~17 MB a batch


def champion_model(run_id: str | None = None) -> tuple[str, dict[str, np.ndarray], dict]:
    """(run id, exported weights, training summary) of `run_id` or the image model's champion."""
    import mlflow

    from jobs.registry import mlflow_uri

    mlflow.set_tracking_uri(mlflow_uri())
    client = mlflow.MlflowClient()
    if run_id is None:
        run = champion_run(client)
        if run is None:
            raise RuntimeError("no image model champion: run `python -m jobs.image_model` first")
        run_id = run.info.run_id
    folder = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=ARTIFACTS))
    with np.load(folder / "weights.npz") as arrays:
        weights = {name: arrays[name] for name in arrays.files}
    summary = json.loads((folder / "summary.json").read_text())
    if "priors" not in summary:
        raise RuntimeError(f"image model run {run_id} logged no priors (trained before fusion was scored): retrain it")
    return run_id, weights, summary


def output_schema() -> StructType:
    from schemas.tables import table_spec

    return StructType([f for f in table_spec("image_predictions").schema.fields if f.name != "run_date"])


def score_batches(batches, weights_of, summary: dict, run_id: str):
    """Arrow batches of (user_id, n_images, pixels, text_<head>, text_version_<head>) -> long rows
    of image_predictions (less run_date), for the model's trained heads (summary: its training
    summary). `weights_of()` returns the weights (a broadcast's value)."""
    import pyarrow as pa

    from jobs.image_groups import group_arrays
    from udfs.image_cnn import predict_groups

    heads = trained_heads(summary)

    schema = output_schema()
    probability_map = pa.map_(pa.string(), pa.float32())
    for batch in batches:
        volumes, mask = group_arrays(batch.column("pixels").to_pylist())
        probs = predict_groups(volumes, mask, weights_of(), len(FILTERS), tuple(heads))
        users = batch.column("user_id").to_numpy(zero_copy_only=False)
        n_images = batch.column("n_images").to_numpy(zero_copy_only=False).astype(np.int32)
        columns = {f.name: [] for f in schema.fields}
        for head in heads:
            classes = list(target_def(head).classes)
            image = probs[head].astype(np.float64)
            text_maps = batch.column(f"text_{head}").to_pylist()
            has_text = np.array([m is not None for m in text_maps], bool)
            text = np.array([[dict(m).get(c, 0.0) for c in classes] if m is not None else [1.0] * len(classes)
                             for m in text_maps]).reshape(len(users), len(classes))
            weight = float(summary["image_weight"][head])
            both = fused(text, image, np.asarray(summary["priors"][head]), weight)
            columns["user_id"].append(users), columns["head"].append([head] * len(users))
            columns["n_images"].append(n_images)
            columns["label"].append([classes[i] for i in image.argmax(axis=1)])
            columns["probabilities"].append([list(zip(classes, row.tolist())) for row in image])
            columns["confidence"].append(image.max(axis=1))
            columns["fused_label"].append([classes[i] if t else None for i, t in zip(both.argmax(axis=1), has_text)])
            columns["fused_probabilities"].append([list(zip(classes, row.tolist())) if t else None
                                                   for row, t in zip(both, has_text)])
            columns["image_weight"].append(np.full(len(users), weight))
            columns["text_model_version"].append(batch.column(f"text_version_{head}").to_pylist())
            columns["image_run_id"].append([run_id] * len(users))
        arrays = []
        for f in schema.fields:
            parts = columns[f.name]
            if f.name in ("probabilities", "fused_probabilities"):
                arrays.append(pa.array([x for part in parts for x in part], probability_map))
            elif f.name == "user_id":
                arrays.append(pa.array(np.concatenate(parts).astype(np.int64)))
            elif f.name == "n_images":
                arrays.append(pa.array(np.concatenate(parts).astype(np.int32)))
            elif f.name in ("confidence", "image_weight"):
                arrays.append(pa.array(np.concatenate(parts).astype(np.float32)))
            else:
                arrays.append(pa.array([x for part in parts for x in part], pa.string()))
        yield pa.RecordBatch.from_arrays(arrays, schema=pa.schema([(f.name, a.type) for f, a in zip(schema.fields, arrays)]))


def with_text(groups: DataFrame, predictions: DataFrame, heads=IMAGE_HEADS) -> DataFrame:
    """Each user's image group beside the night's text posterior and model version per head (null: none)."""
    out = groups
    for head in heads:
        mine = predictions.where(F.col("target") == head).select(
            "user_id", F.col("probabilities").alias(f"text_{head}"), F.col("model_version").alias(f"text_version_{head}"))
        out = out.join(mine, "user_id", "left")
    return out


def image_predictions(spark: SparkSession, groups: DataFrame, predictions: DataFrame, weights: dict,
                      summary: dict, run_id: str) -> DataFrame:
    """The pure transform: image groups + the night's text predictions -> image_predictions rows."""
    shared = spark.sparkContext.broadcast(weights)
    rows = with_text(groups, predictions, trained_heads(summary))
    return rows.mapInArrow(lambda b: score_batches(b, lambda: shared.value, summary, run_id), output_schema())


def run(spark: SparkSession, config: PipelineConfig, run_id: str | None = None) -> dict:
    run_id, weights, summary = champion_model(run_id)
    groups = user_image_groups(delta_io.read_table(spark, config, "posts"), delta_io.read_table(spark, config, "images"))
    predictions = delta_io.read_table(spark, config, "predictions").where(F.col("run_date") == F.lit(config.run_date))
    previous = spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(IMAGE_BATCH))
    try:
        rows = image_predictions(spark, groups, predictions, weights, summary, run_id)
        delta_io.replace_where(config, "image_predictions", rows.withColumn("run_date", F.lit(config.run_date).cast("date")),
                               f"run_date = '{config.run_date}'")
    finally:
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", previous)
    written = delta_io.read_table(spark, config, "image_predictions").where(F.col("run_date") == F.lit(config.run_date))
    per_head = {r["head"]: {"users": r["users"], "fused": r["fused"]} for r in written.groupBy("head").agg(
        F.count("*").alias("users"), F.count("fused_label").alias("fused")).collect()}
    untrained = {h: "no labelled users when the model was trained" for h in IMAGE_HEADS if h not in trained_heads(summary)}
    return {"run_id": run_id, "image_weight": summary["image_weight"], "heads": per_head, "not_scored": untrained}


@click.command()
@click.option("--run-id", default=None, help="An image model run to score (default: the champion).")
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--warehouse", default=None)
def main(run_id, run_date, warehouse):
    from runtime.spark_session import start_spark
    from runtime.task_summary import echo_summary

    cfg = config_from_cli(run_date=run_date, warehouse=warehouse)
    echo_summary(cfg, "image_score", run(start_spark("image_score"), cfg, run_id))


if __name__ == "__main__":
    main()
