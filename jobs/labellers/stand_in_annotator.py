"""The `stand_in_annotator` labeller: a generated world has no person to label it, so this one
stands in for the hand-labelling tool (jobs.hand_labels) on sample worlds only.

It takes the tool's own stratified queue (jobs.hand_labels.label_queue) of SAMPLE_SIZE profiles
and answers from the world's hidden truth, as a careful but human annotator would: wrong on
ERROR_RATE of the accounts, and on HARD_ERROR_RATE of the hard ones (dormant real users and
fakes wearing a real user's name and bio), who fool people too. Which answers are wrong is
fixed by a hash of the user id, so reruns give the same labels.

Real data has no truth: there it labels nobody (`no_world_truth`), and the target trains on
manual and imported labels. Its priority is the lowest: any real label of a user wins.
"""
from __future__ import annotations

import glob
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from runtime import delta_io
from runtime.config import PipelineConfig

SAMPLE_SIZE = 1000
ERROR_RATE = 0.03
HARD_ERROR_RATE = 0.15
# The truth's answer for each target this annotator can stand in for.
TRUTH_ANSWERS = {"authenticity": lambda: F.when(F.col("is_fake"), "fake").otherwise("authentic")}
EVIDENCE = f"stand-in annotator: world truth, wrong on {ERROR_RATE:.0%} ({HARD_ERROR_RATE:.0%} of hard cases)"
OUTCOME_SCHEMA = "user_id long, status string, label string, evidence string"


def newest_truth(config: PipelineConfig) -> str | None:
    """The newest world truth landed on or before the night (a world is generated once)."""
    nights = sorted(p for p in glob.glob(f"{config.landing}/*/source=_truth") if Path(p).parent.name <= str(config.run_date))
    return nights[-1] if nights else None


def answers(queue: DataFrame, truth: DataFrame, target: str, classes: list[str],
            salt: str = "stand-in-errors") -> DataFrame:
    """(user_id, status, label, evidence): the truth's answer, the other class where the annotator
    errs. `salt` picks which answers err: another salt is another, independent look."""
    hard = F.coalesce(F.col("dormant"), F.lit(False)) | (F.coalesce(F.col("fake_quality"), F.lit("")) == "high")
    rate = F.when(hard, HARD_ERROR_RATE).otherwise(ERROR_RATE)
    errs = F.pmod(F.xxhash64(F.lit(salt), "user_id"), F.lit(1_000_000)) < rate * 1_000_000
    columns = [c for c in ("dormant", "fake_quality") if c in truth.columns]
    truth = truth.select("user_id", TRUTH_ANSWERS[target]().alias("truth"),
                         *[F.col(c) for c in ("is_fake", *columns)])
    for c in ("dormant", "fake_quality"):
        if c not in columns:
            truth = truth.withColumn(c, F.lit(None).cast("boolean" if c == "dormant" else "string"))
    a, b = classes
    other = F.when(F.col("truth") == a, b).otherwise(a)
    return (queue.join(truth, "user_id")
            .select("user_id", F.lit("labelled").alias("status"),
                    F.when(errs, other).otherwise(F.col("truth")).alias("label"), F.lit(EVIDENCE).alias("evidence")))


def label(spark: SparkSession, config: PipelineConfig, tdef) -> tuple[DataFrame, dict]:
    from jobs.hand_labels import label_queue

    empty = spark.createDataFrame([], OUTCOME_SCHEMA)
    if tdef.name not in TRUTH_ANSWERS:
        return empty, {"no_answers_for_target": tdef.name}
    folder = newest_truth(config)
    if folder is None:
        return empty, {"no_world_truth": True}
    profiles = delta_io.read_table(spark, config, "profiles")
    queue = label_queue(profiles, SAMPLE_SIZE, seed="stand-in-v1")
    outcome = answers(queue, spark.read.json(folder), tdef.name, list(tdef.classes))
    return outcome, {"truth": folder, "sample_size": SAMPLE_SIZE, "error_rate": ERROR_RATE,
                     "hard_error_rate": HARD_ERROR_RATE}
