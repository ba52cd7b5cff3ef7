"""The `user_texts` table: each profile with its bio, name and its posts' captions.

Grouping every user's captions is a shuffle of all posts; token_mi, train and score all need
it, so ingest builds it once whenever profiles or posts change and the three jobs read it
(score reads only the shards it scores). The token rules themselves are not applied here:
the numba tokeniser runs on these texts inside each job.

  python -m jobs.texts [--run-date ...]   # rebuild by hand (ingest calls run() itself)
"""
from __future__ import annotations

import json

import click
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from runtime import delta_io
from runtime.config import PipelineConfig, config_from_cli
from jobs.tokens import user_texts


def user_texts_rows(profiles: DataFrame, posts: DataFrame, run_date) -> DataFrame:
    """user_texts table rows: every profile, its captions (empty list when it has no posts)."""
    return user_texts(profiles, posts, keep=("shard",)).withColumn("built_run", F.lit(run_date).cast("date"))


def read_user_texts(spark: SparkSession, config: PipelineConfig, recent_captions: int | None = None) -> DataFrame:
    """The table (with only each user's `recent_captions` newest captions, when given), or a
    clear error where ingest has not built it (an empty table would silently give every job
    nothing to learn from or score)."""
    if not delta_io.table_exists(spark, config, "user_texts"):
        raise RuntimeError(f"no user_texts table in {config.warehouse}: run ingest (or `python -m jobs.texts`) first")
    texts = delta_io.read_table(spark, config, "user_texts")
    return texts.withColumn("captions", F.slice("captions", 1, recent_captions)) if recent_captions else texts


def fitting_texts(texts: DataFrame, labelled: DataFrame, tdef) -> DataFrame:
    """The texts of the labelled users a model is ranked, fitted or judged on, joined with
    `labelled`; their bios through the target's label-source masks (jobs.labellers.bio_mask):
    the text that produced a label is not what the model reads to predict it. Scoring reads
    user_texts as it is."""
    from jobs.labellers import bio_mask

    joined = texts.join(labelled, "user_id")
    mask = bio_mask(tdef)
    if mask is None:
        return joined

    @F.pandas_udf("string")
    def masked(bios: pd.Series) -> pd.Series:
        return bios.map(mask, na_action="ignore")
    return joined.withColumn("biography", masked("biography"))


def run(spark: SparkSession, config: PipelineConfig) -> dict:
    """Rebuild the whole table from the current profiles and posts (one atomic overwrite)."""
    rows = user_texts_rows(delta_io.read_table(spark, config, "profiles"),
                           delta_io.read_table(spark, config, "posts"), config.run_date)
    delta_io.replace_where(config, "user_texts", rows, "true")
    return {"users": delta_io.last_write_rows(delta_io.ensure_table(spark, config, "user_texts"))}


@click.command()
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--warehouse", default=None)
def main(run_date, warehouse):
    from runtime.spark_session import start_spark

    cfg = config_from_cli(run_date=run_date, warehouse=warehouse)
    click.echo(json.dumps(run(start_spark("user_texts"), cfg), indent=1))


if __name__ == "__main__":
    main()
