"""The `stated_occupation` labeller: an occupation stated in the bio (jobs.occupations) -> a label.

Outcomes (counted in the job summary): labelled; ambiguous (a title the table puts in two
classes, e.g. "Sports therapist"); several (statements of different classes, "Nurse | student
of law"). Bios stating nothing are not counted as outcomes. The model for this target must not
read the bio (its definition's families are caption families only): the phrase is the label.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from runtime import delta_io
from runtime.config import PipelineConfig

OUTCOME_SCHEMA = "user_id long, status string, label string, evidence string"


def _label_batches(batches):
    import pandas as pd

    from jobs.occupations import bio_label

    for batch in batches:
        out = [bio_label(b) for b in batch["biography"]]
        yield pd.DataFrame({"user_id": batch["user_id"].to_numpy(), "status": [o[0] for o in out],
                            "label": [o[1] for o in out], "evidence": [o[2] for o in out]})


def bio_outcomes(profiles: DataFrame, classes) -> DataFrame:
    """(user_id, status, label, evidence) of every profile whose bio states an occupation; a class
    outside the target's is no label."""
    bios = profiles.where(F.length("biography") > 0).select("user_id", "biography")
    out = bios.mapInPandas(_label_batches, OUTCOME_SCHEMA).where(F.col("status") != "no_statement")
    return out.withColumn("status", F.when((F.col("status") == "labelled") & ~F.col("label").isin(*classes),
                                           "not_a_class").otherwise(F.col("status")))


def label(spark: SparkSession, config: PipelineConfig, tdef) -> tuple[DataFrame, dict]:
    profiles = delta_io.read_table(spark, config, "profiles")
    outcome = bio_outcomes(profiles, tdef.classes).localCheckpoint()
    return outcome, {"users_stating_an_occupation": outcome.count()}
