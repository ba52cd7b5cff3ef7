"""The `stand_in_panel` labeller: a simple random sample of PANEL_SIZE profiles, each answered by
LOOKS independent looks of the stand-in annotator (jobs.labellers.stand_in_annotator) and
labelled by their majority, as a panel of three people labelling the same profiles would.

Why a second sample beside the stratified one: the stratified queue over-samples the rare and
hard strata, which is what a model needs to learn from, but a correction matrix for audiences
must hold the population's error rates. Reweighting strata back to the population does not
recover them when the annotator's errors are concentrated in the strata the queue favours (a
fake that fools one person is labelled authentic, and the matrix learns the wrong recall). An
unweighted random sample with majority labels measures the rates directly; train
(jobs.train) takes the correction from these users alone when a target has them.

On real data the same sample comes from `jobs.hand_labels --panel` (source `manual_panel`).
Which look errs is fixed by a hash of the user id and the look, so reruns give the same labels.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.labellers.stand_in_annotator import (ERROR_RATE, HARD_ERROR_RATE, OUTCOME_SCHEMA, TRUTH_ANSWERS,
                                               answers, newest_truth)
from runtime import delta_io
from runtime.config import PipelineConfig

PANEL_SIZE = 1000
LOOKS = 3
SEED = "stand-in-panel-v1"
EVIDENCE = (f"stand-in panel: majority of {LOOKS} looks at the world truth, each wrong on {ERROR_RATE:.0%} "
            f"({HARD_ERROR_RATE:.0%} of hard cases)")


def panel_sample(profiles: DataFrame, n: int, seed: str = SEED) -> DataFrame:
    """(user_id) of a simple random sample of n profiles: the first n in a hash order of the id."""
    return (profiles.select("user_id").distinct()
            .orderBy(F.xxhash64(F.lit(seed), "user_id"), "user_id").limit(n))


def majority_answers(sample: DataFrame, truth: DataFrame, target: str, classes: list[str],
                     looks: int = LOOKS) -> DataFrame:
    """(user_id, status, label, evidence): the most frequent answer over `looks` independent looks
    (an odd number: two classes never tie)."""
    if looks < 1 or looks % 2 == 0:
        raise ValueError(f"looks must be a positive odd number, got {looks}")
    each = [answers(sample, truth, target, classes, salt=f"{SEED}-look-{i}").select(
        "user_id", F.col("label").alias(f"look_{i}")) for i in range(looks)]
    joined = each[0]
    for other in each[1:]:
        joined = joined.join(other, "user_id")
    first = classes[0]
    votes_first = sum((F.col(f"look_{i}") == first).cast("int") for i in range(looks))
    label = F.when(votes_first * 2 > looks, F.lit(first)).otherwise(F.lit(classes[1]))
    return joined.select("user_id", F.lit("labelled").alias("status"), label.alias("label"),
                         F.lit(EVIDENCE).alias("evidence"))


def label(spark: SparkSession, config: PipelineConfig, tdef) -> tuple[DataFrame, dict]:
    empty = spark.createDataFrame([], OUTCOME_SCHEMA)
    if tdef.name not in TRUTH_ANSWERS:
        return empty, {"no_answers_for_target": tdef.name}
    folder = newest_truth(config)
    if folder is None:
        return empty, {"no_world_truth": True}
    sample = panel_sample(delta_io.read_table(spark, config, "profiles"), PANEL_SIZE)
    outcome = majority_answers(sample, spark.read.json(folder), tdef.name, list(tdef.classes))
    return outcome, {"truth": folder, "panel_size": PANEL_SIZE, "looks": LOOKS, "error_rate": ERROR_RATE,
                     "hard_error_rate": HARD_ERROR_RATE}
