"""The training set: labelled users' features as CSR arrays, split into fitting, calibration and test users.

Built in Spark, handed to the driver through Arrow. It must fit the driver: ~16 bytes per
(user, token) in the vocab, so 570k users x ~50 vocab tokens is ~450 MB; cap it with max_users.
Split (jobs.split): ~10% test users by a stable hash of the user id; of the rest, ~10% are
calibration users.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from runtime import delta_io
from runtime.config import PipelineConfig
from jobs.split import is_calibration_user, is_test_user
from jobs.targets import PLAIN_TARGET
from jobs.texts import fitting_texts, read_user_texts
from jobs.token_mi import labelled_users
from jobs.tokens import with_vocab_indices
from udfs.csr import csr_of_lists
from udfs.feature_sets import ProfileNumeric
from udfs.model import NetworkModel, input_values


def feature_frame(texts: DataFrame, labelled: DataFrame, vocab: list[str], keep_texts: str = "test",
                  test_fold: int | None = None, tdef=PLAIN_TARGET) -> DataFrame:
    """(user_id, label, full_name, is_test, is_calibration, indices, counts, biography, captions)
    of labelled users.

    indices/counts: positions in this vocab and how often each occurs; biography and captions are
    kept for test users only by default (they let another model with another vocab, the
    champion, be scored on the same users), for everyone with keep_texts='all' (a reference
    model reads the raw texts). With test_fold, `labelled` has a `fold` column and that fold is
    the test set. Bios are masked as tdef's label sources require (jobs.texts.fitting_texts)."""
    test = is_test_user(F.col("user_id")) if test_fold is None else F.col("fold") == test_fold
    texts = fitting_texts(texts, labelled, tdef).select(
        "user_id", "label", "full_name", test.alias("is_test"),
        (~test & is_calibration_user(F.col("user_id"))).alias("is_calibration"), "biography", "captions")
    # One pass over the texts: they ride through the lookup, then only test users keep them.
    keep = ("user_id", "label", "full_name", "is_test", "is_calibration", "biography", "captions")
    indexed = with_vocab_indices(texts, vocab, keep=keep)
    kept = [F.col(c) if keep_texts == "all" else F.when(F.col("is_test"), F.col(c)).alias(c) for c in ("biography", "captions")]
    return indexed.select("user_id", "label", "full_name", "is_test", "is_calibration", "indices", "counts", *kept)

def profile_frame(profiles: DataFrame, labelled: DataFrame, keep_texts: str = "test",
                  test_fold: int | None = None) -> DataFrame:
    """(user_id, label, is_test, is_calibration, and the features profile_numeric reads)
    of labelled users; keep_texts and test_fold as in feature_frame (every column is kept: they
    are what the champion is scored from)."""
    test = is_test_user(F.col("user_id")) if test_fold is None else F.col("fold") == test_fold
    flagged = profiles.join(labelled.select("user_id", "label", *(["fold"] if test_fold is not None else [])),
                            "user_id").withColumns(
        {"is_test": test, "is_calibration": ~test & is_calibration_user(F.col("user_id"))})
    return ProfileNumeric.prepare(flagged)


def csr_matrix(indices: pd.Series, width: int, counts: pd.Series | None = None, features: dict | None = None,
               idf: np.ndarray | None = None, groups: np.ndarray | None = None):
    """scipy CSR of the users' vocab positions: presence, or the values of a feature spec."""
    offsets, values = csr_of_lists(indices)
    data = None
    if features is not None and features.get("weighting", "binary") != "binary":
        data = input_values(features, idf, offsets, values, csr_of_lists(counts)[1] if counts is not None else None, groups)
    return scipy_csr(offsets, values, data, width)

def scipy_csr(offsets: np.ndarray, indices: np.ndarray, values: np.ndarray | None, width: int):
    """A feature set's CSR (values None = presence) as a scipy matrix for the fitting libraries."""
    import scipy.sparse as sp

    data = np.ones(len(indices), dtype=np.float64) if values is None else values
    return sp.csr_matrix((data, indices, offsets - offsets[0]), shape=(len(offsets) - 1, width))


@dataclass
class Split:
    """One evaluation's users: `fit` trains the model, `calibration` sets thresholds and
    calibration, `test` is only scored. Frames hold label and the feature set's columns
    (text tokens: indices, counts, and texts)."""
    fit: pd.DataFrame
    calibration: pd.DataFrame
    test: pd.DataFrame
    classes: list[str]

    def y(self, part: str) -> np.ndarray:
        return getattr(self, part)["label"].map({c: i for i, c in enumerate(self.classes)}).to_numpy()

    def X(self, part: str, model: NetworkModel):
        """The part's input values as the model's feature set computes them (as scoring will)."""
        return scipy_csr(*model.inputs(getattr(self, part)), len(model.vocab))

    @property
    def majority(self) -> int:
        return int(np.bincount(np.concatenate([self.y("fit"), self.y("calibration")]),
                               minlength=len(self.classes)).argmax())

def holdout_split(data: pd.DataFrame, classes: list[str]) -> Split:
    train = data[~data["is_test"]]
    return Split(train[~train["is_calibration"]].reset_index(drop=True),
                 train[train["is_calibration"]].reset_index(drop=True),
                 data[data["is_test"]].reset_index(drop=True), classes)

def labelled_feature_data(spark: SparkSession, config: PipelineConfig, tdef, features: list[str], max_users: int,
                          keep_texts: str = "test") -> pd.DataFrame:
    """Every labelled user's rows of the target's feature set (text tokens: vocab positions and
    counts, and texts; profile_numeric: profile columns) and split flags, ordered by id."""
    labelled = labelled_users(delta_io.read_table(spark, config, "labels"), tdef)
    n_labelled = labelled.count()
    if n_labelled > max_users:  # a deterministic sample by user id, so reruns train on the same users
        keep = int(1_000_000 * max_users / n_labelled)
        labelled = labelled.where(F.pmod(F.xxhash64(F.lit("sample-v1"), "user_id"), F.lit(1_000_000)) < keep)
    rows = TRAINING_ROWS[tdef.feature_set](spark, config, tdef, labelled, features, keep_texts)
    return rows.orderBy("user_id").toPandas()


# Per feature set (udfs.feature_sets): its labelled users' rows, read from the table it names.
TRAINING_ROWS = {
    "text_tokens": lambda spark, config, tdef, labelled, vocab, keep: feature_frame(
        read_user_texts(spark, config, tdef.recent_captions), labelled, vocab, keep, tdef=tdef),
    "profile_numeric": lambda spark, config, tdef, labelled, vocab, keep: profile_frame(
        delta_io.read_table(spark, config, ProfileNumeric.table), labelled, keep),
}
