"""Import the CrowdFlower Twitter gender data as profiles, posts and `import` labels, and evaluate.

Each row becomes a profile (screen name as username and full name, `description` as bio) with
one post (`text`); rows judged male or female with confidence 1 become gender labels (source
`import`). The same token/MI and training jobs then run on it, and a TF-IDF + logistic
regression reference is computed on the same held-out users in the same run.

  python -m jobs.crowdflower --csv ../shared/data/twitter_gender_crowdflower/gender-classifier-DFE-791531.csv
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import delta_io
from jobs import texts as texts_job
from jobs.config import PROJECT_ROOT, PipelineConfig
from jobs.ingest import shard_of

DEFAULT_CSV = PROJECT_ROOT.parent / "shared" / "data" / "twitter_gender_crowdflower" / "gender-classifier-DFE-791531.csv"
ID_BASE = 9_000_000_000_000  # keeps imported ids apart from platform ids


def read_csv(path: str | Path) -> pd.DataFrame:
    df = pd.read_csv(path, encoding="latin1", dtype=str, keep_default_na=False)
    missing = {"_unit_id", "gender", "gender:confidence", "description", "text", "name"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: not the CrowdFlower gender file, missing columns {sorted(missing)}")
    return df


def import_frames(spark: SparkSession, raw: pd.DataFrame, shards: int, run_date) -> dict[str, DataFrame]:
    """profiles, posts and labels rows (table columns) from the CSV rows."""
    rows = raw.assign(user_id=ID_BASE + pd.to_numeric(raw["_unit_id"]).astype("int64"))
    rows = rows.drop_duplicates("user_id")
    sdf = spark.createDataFrame(rows[["user_id", "name", "description", "text", "gender", "gender:confidence"]]
                                .rename(columns={"gender:confidence": "confidence"}))
    fetched = F.lit(dt.datetime.combine(run_date, dt.time())).cast("timestamp")
    day = F.lit(run_date).cast("date")
    profiles = sdf.select(
        "user_id", shard_of(F.col("user_id"), shards).alias("shard"), F.col("name").alias("username"),
        F.col("name").alias("full_name"), F.col("description").alias("biography"),
        *[F.lit(None).cast(t).alias(c) for c, t in [("external_url", "string"), ("follower_count", "bigint"),
          ("following_count", "bigint"), ("media_count", "bigint"), ("usertags_count", "bigint"),
          ("is_private", "boolean"), ("is_verified", "boolean"), ("has_anonymous_profile_picture", "boolean"),
          ("reel_auto_archive", "string")]],
        fetched.alias("fetched_at"), F.xxhash64("name", "description").alias("record_hash"),
        F.lit("crowdflower").alias("source_file"), day.alias("ingest_run"))
    posts = sdf.select(
        (F.col("user_id") * 10).alias("post_id"), "user_id", fetched.alias("taken_at"), F.col("text").alias("caption"),
        F.lit(False).alias("caption_truncated"), F.lit(None).cast("bigint").alias("like_count"),
        F.lit(None).cast("bigint").alias("comment_count"), fetched.alias("fetched_at"),
        F.xxhash64("text").alias("record_hash"), F.lit("crowdflower").alias("source_file"), day.alias("ingest_run"))
    labels = (sdf.where(F.col("gender").isin("male", "female") & (F.col("confidence").cast("double") == 1.0))
              .select("user_id", F.lit("gender").alias("target"), F.col("gender").alias("label"),
                      F.lit("import").alias("source"), F.lit("crowdflower gender:confidence=1").alias("evidence"),
                      day.alias("run_date")))
    return {"profiles": profiles, "posts": posts, "labels": labels}


def run(spark: SparkSession, config: PipelineConfig, csv: str | Path = DEFAULT_CSV) -> dict:
    """Import into the configured warehouse; replaces what an earlier import wrote."""
    frames = import_frames(spark, read_csv(csv), config.shards, config.run_date)
    delta_io.replace_where(config, "profiles", frames["profiles"], "source_file = 'crowdflower'")
    delta_io.replace_where(config, "posts", frames["posts"], "source_file = 'crowdflower'")
    texts_job.run(spark, config)  # token_mi, train and score read each user's texts from user_texts
    delta_io.replace_where(config, "labels", frames["labels"],
                           "target = 'gender' AND source = 'import' AND evidence LIKE 'crowdflower%'")
    counts = {r["label"]: r["count"] for r in frames["labels"].groupBy("label").count().collect()}
    return {"profiles": frames["profiles"].count(), "labels": counts}


def evaluate_all(spark: SparkSession, config: PipelineConfig, csv: str | Path, vocab_size: int, out: Path,
                 folds: int = 5, models: tuple[str, ...] = ("logreg", "linsvm", "mlp1")) -> dict:
    """Import, then k-fold cross-validation (jobs.cross_validation): the ranking, vocab and every
    fitted step see the training folds only; the TF-IDF + LR reference runs on the same folds."""
    from jobs import cross_validation

    imported = run(spark, config, csv)
    result = cross_validation.run(spark, config, "gender", folds=folds, vocab_size=vocab_size, models=models,
                                  out_dir=out)
    return {"imported": imported, "out": str(out), "table": cross_validation.format_summary(result["summary"]),
            "sizes": result["sizes"]}


@click.command()
@click.option("--csv", default=str(DEFAULT_CSV), show_default=True)
@click.option("--warehouse", default=str(PROJECT_ROOT / "var" / "crowdflower" / "warehouse"), show_default=True)
@click.option("--vocab-size", default=50000, show_default=True)
@click.option("--folds", default=5, show_default=True)
@click.option("--models", default="logreg,linsvm,mlp1", show_default=True)
@click.option("--import-only", is_flag=True, help="Only import; do not train or evaluate.")
def main(csv, warehouse, vocab_size, folds, models, import_only):
    from jobs.spark_session import start_spark

    cfg = PipelineConfig(warehouse=warehouse, run_date=dt.date(2026, 11, 22))
    spark = start_spark("crowdflower")
    if import_only:
        click.echo(json.dumps(run(spark, cfg, csv)))
        return
    out = Path(warehouse).parent / "evaluations" / f"{dt.datetime.now():%Y%m%dT%H%M%S}"
    summary = evaluate_all(spark, cfg, csv, vocab_size, out, folds, tuple(models.split(",")))
    click.echo(summary["table"])
    click.echo(json.dumps({k: v for k, v in summary.items() if k != "table"}, indent=1))


if __name__ == "__main__":
    main()
