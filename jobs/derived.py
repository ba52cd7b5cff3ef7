"""Outputs derived by a stated rule from a target's predictions, written beside them by the score
job (a target lists them in `TargetDef.derived`). Each is a pure transform of the night's
predictions of its target and the profiles, giving `predictions` rows of its own target name.

audience_type (from authenticity), as analytics vendors show audiences (HypeAuditor's types):
  suspicious     the model calls the account fake
  influencer     otherwise, 5,000 followers or more
  mass_follower  otherwise, following 1,500 accounts or more (they see little of any one feed)
  real           every other account the model calls authentic
  uncertain      the model could not call it
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.targets import DERIVED_OUTPUTS

INFLUENCER_FOLLOWERS = 5000
MASS_FOLLOWING = 1500
AUDIENCE_TYPES = ("real", "influencer", "mass_follower", "suspicious")


def audience_types(predictions: DataFrame, profiles: DataFrame) -> DataFrame:
    """Rows of target `audience_type` for the authenticity predictions given."""
    label = (F.when(F.col("label") == "uncertain", "uncertain").when(F.col("label") == "fake", "suspicious")
             .when(F.col("follower_count") >= INFLUENCER_FOLLOWERS, "influencer")
             .when(F.col("following_count") >= MASS_FOLLOWING, "mass_follower").otherwise("real"))
    rows = predictions.join(profiles.select("user_id", "follower_count", "following_count"), "user_id", "left")
    return rows.select("user_id", "shard", F.lit("audience_type").alias("target"), label.alias("label"),
                       "probabilities", "confidence", F.concat(F.col("model_name"), F.lit("+rule")).alias("model_name"),
                       "model_version", "run_date")


DERIVED = {"audience_type": audience_types}
DERIVED_CLASSES = {"audience_type": AUDIENCE_TYPES}  # each output's labels besides 'uncertain'
assert tuple(DERIVED) == DERIVED_OUTPUTS, "jobs.targets.DERIVED_OUTPUTS names what this module derives"
