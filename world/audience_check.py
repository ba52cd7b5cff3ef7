"""Audience shares judged against a generated world's truth: for every account with at least
MIN_SCORED scored followers, each method's share of a class next to the true share of its
followers (authenticity: among all followers; other targets: among the truly authentic ones),
mean absolute error in points and how often the 95% interval holds the truth.

  DEMOGRAPHICS_NAMESPACE=demo/100000-users .venv/bin/python -m world.audience_check --run-date 2026-12-04
"""
from __future__ import annotations

import json

import click
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.quantification import METHODS
from runtime import delta_io
from runtime.config import PipelineConfig, config_from_cli

MIN_SCORED = 1000
CHECKS = {"gender": "female", "authenticity": "authentic"}


def true_shares(spark: SparkSession, config: PipelineConfig, target: str, cls: str):
    """(group_id, true_share, true_members) of every account's followers."""
    truth = spark.read.json(f"{config.landing}/{config.run_date}/source=_truth")
    follows = delta_io.read_table(spark, config, "follows").select(
        F.col("followee_id").cast("string").alias("group_id"), F.col("follower_id").alias("user_id")).distinct()
    rows = follows.join(truth, "user_id")
    if target == "authenticity":
        hit = ~F.col("is_fake") if cls == "authentic" else F.col("is_fake")
    else:
        rows = rows.where(~F.col("is_fake"))
        hit = F.col(target) == cls
    return rows.groupBy("group_id").agg(F.avg(hit.cast("double")).alias("true_share"), F.count("*").alias("true_members"))


def check(spark: SparkSession, config: PipelineConfig, min_scored: int = MIN_SCORED) -> dict:
    audiences = delta_io.read_table(spark, config, "audience_demographics").where(
        (F.col("run_date") == F.lit(config.run_date)) & (F.col("group_kind") == "account"))
    out = {"run_date": str(config.run_date), "min_scored_followers": min_scored}
    for target, cls in CHECKS.items():
        mine = audiences.where((F.col("target") == target) & (F.col("class") == cls) & (F.col("counted") >= min_scored))
        joined = mine.join(true_shares(spark, config, target, cls), "group_id").toPandas()
        if joined.empty:
            out[target] = {"accounts": 0}
            continue
        result = {"class": cls, "accounts": len(joined),
                  "true_share_range": [round(float(joined["true_share"].min()), 3), round(float(joined["true_share"].max()), 3)]}
        for m in METHODS:
            err = (joined[f"{m}_share"] - joined["true_share"]).abs()
            held = (joined[f"{m}_low"] <= joined["true_share"]) & (joined["true_share"] <= joined[f"{m}_high"])
            result[m] = {"mae_points": round(100 * float(err.mean()), 2), "max_error_points": round(100 * float(err.max()), 2),
                         "interval_coverage": round(float(held.mean()), 3),
                         "mean_half_width_points": round(100 * float((joined[f"{m}_high"] - joined[f"{m}_low"]).mean() / 2), 2)}
        result["tiers"] = joined["tier"].value_counts().to_dict()
        out[target] = result
    return out


@click.command()
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--min-scored", default=MIN_SCORED, show_default=True)
def main(run_date, min_scored):
    from runtime.spark_session import start_spark

    cfg = config_from_cli(run_date=run_date)
    click.echo(json.dumps(check(start_spark("audience_check"), cfg, min_scored), indent=1))


if __name__ == "__main__":
    main()
