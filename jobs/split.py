"""Who is a test, calibration or training user: stable hashes of the user id, never the label.

- test: pmod(xxhash64('split-v1', user_id), 1000) < 100 -- the same users on every run and engine.
- calibration: a second hash ('calib-v1') takes ~10% of the non-test users; thresholds and
  probability calibration are fitted on them, the model on the rest.
- folds: for labelled sets too small for a 10% test split of ~1,000 users, stratified k-fold:
  within each class, users ordered by the split hash are dealt round-robin to the k folds.

Everything fitted (token ranking, vocab, idf, scalers, thresholds, calibration) sees training
users only; test users are first seen when they are scored.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

TEST_PER_MILLE = 100
CALIBRATION_PER_MILLE = 100
MIN_TEST_USERS = 1000  # below this a single 10% split is too noisy: cross-validate instead
DEFAULT_FOLDS = 5


def _bucket(salt: str, user_id: Column) -> Column:
    return F.pmod(F.xxhash64(F.lit(salt), user_id.cast("bigint")), F.lit(1000))


def is_test_user(user_id: Column) -> Column:
    return _bucket("split-v1", user_id) < TEST_PER_MILLE


def is_calibration_user(user_id: Column) -> Column:
    """Among non-test users: the ones held out of model fitting for thresholds and calibration."""
    return _bucket("calib-v1", user_id) < CALIBRATION_PER_MILLE


def training_users(labelled: DataFrame) -> DataFrame:
    """The labelled users outside the test split: what token ranking and vocabs may see."""
    return labelled.where(~is_test_user(F.col("user_id")))


def wants_cross_validation(n_labelled: int) -> bool:
    return n_labelled * TEST_PER_MILLE / 1000 < MIN_TEST_USERS


def with_folds(labelled: DataFrame, k: int = DEFAULT_FOLDS, salt: str = "split-v1") -> DataFrame:
    """labelled (user_id, label, ...) + `fold` in [0, k): stratified, deterministic by user id
    (another salt: another split, for repeated cross-validation)."""
    order = Window.partitionBy("label").orderBy(F.xxhash64(F.lit(salt), F.col("user_id").cast("bigint")),
                                                "user_id")
    return labelled.withColumn("fold", ((F.row_number().over(order) - 1) % k).cast("int"))
