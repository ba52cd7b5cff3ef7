"""The `stand_in_panel` labeller: a simple random sample of PANEL_SIZE profiles, each answered by
LOOKS independent looks of the stand-in annotator (jobs.labellers.stand_in_annotator) and
labelled by their majority, as a panel of three people labelling the same profiles would; a
profile they disagree on is adjudicated by ADJUDICATION_LOOKS more looks (the majority of all
seven). Why: the panel's few labelling errors fall on hard authentic users (dormant, digits),
whom the model calls authentic -- each one a "leaked fake" in the correction matrix. Measured on
the 100k world with three looks alone: 7 of the panel's 99 fakes were authentic users, the leak
rate came out too high and every audience's authentic share too low, by about 6.5 x its
true fake share.

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
ADJUDICATION_LOOKS = 4  # more looks at a profile the first three disagree on: its label is the majority of 7
SEED = "stand-in-panel-v1"
EVIDENCE = (f"stand-in panel: majority of {LOOKS} looks at the world truth ({LOOKS + ADJUDICATION_LOOKS} where they "
            f"disagree), each wrong on {ERROR_RATE:.0%} ({HARD_ERROR_RATE:.0%} of hard cases)")


def panel_sample(profiles: DataFrame, n: int, seed: str = SEED) -> DataFrame:
    """(user_id) of a simple random sample of n profiles: the first n in a hash order of the id."""
    return (profiles.select("user_id").distinct()
            .orderBy(F.xxhash64(F.lit(seed), "user_id"), "user_id").limit(n))


def majority_answers(sample: DataFrame, truth: DataFrame, target: str, classes: list[str],
                     looks: int = LOOKS, adjudication: int = ADJUDICATION_LOOKS) -> DataFrame:
    """(user_id, status, label, evidence): the most frequent answer over `looks` independent looks
    (an odd number: two classes never tie), and where they disagree over `adjudication` more
    looks besides (an even number: the total stays odd)."""
    if looks < 1 or looks % 2 == 0:
        raise ValueError(f"looks must be a positive odd number, got {looks}")
    if adjudication < 0 or adjudication % 2:
        raise ValueError(f"adjudication must be an even number of looks, got {adjudication}")
    total = looks + adjudication
    each = [answers(sample, truth, target, classes, salt=f"{SEED}-look-{i}").select(
        "user_id", F.col("label").alias(f"look_{i}")) for i in range(total)]
    joined = each[0]
    for other in each[1:]:
        joined = joined.join(other, "user_id")
    first = classes[0]
    votes = lambda n: sum((F.col(f"look_{i}") == first).cast("int") for i in range(n))  # noqa: E731
    agreed = (votes(looks) == 0) | (votes(looks) == looks)
    label = (F.when(agreed, F.when(votes(looks) * 2 > looks, F.lit(first)).otherwise(F.lit(classes[1])))
             .otherwise(F.when(votes(total) * 2 > total, F.lit(first)).otherwise(F.lit(classes[1]))))
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
    return outcome, {"truth": folder, "panel_size": PANEL_SIZE, "looks": LOOKS, "adjudication_looks": ADJUDICATION_LOOKS,
                     "error_rate": ERROR_RATE,
                     "hard_error_rate": HARD_ERROR_RATE}
