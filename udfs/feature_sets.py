"""Feature sets: how a user's rows become a model's input values (CSR: offsets, indices, values).

One small interface, the same in training and on Spark workers (nothing here imports Spark):

  table            the warehouse table the set reads (user_texts, profiles)
  prepare(frame)   Spark rows of that table -> the columns the set reads (identity for texts)
  columns(model)   the columns of that table it reads for this model
  fit(frame, ...)  what it learns from the fitting users (idf, means and deviations), as a spec
                   the model artifact carries (model.json `features`, with `set` naming the set)
  csr(model, rows) Arrow batch or pandas frame -> (offsets, indices, values or None = presence)

`text_tokens` reads texts through the MI-selected vocab (presence or tf-idf);
`profile_numeric` reads profile metadata -- counts, ratios, lengths, flags, computed in Spark by
jobs.profile_features (`prepare(frame)` adds them to the table's rows) -- standardised by the
fitting users' means and deviations, or raw with missing values NaN for tree ensembles.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from udfs.csr import csr_of, csr_of_lists

if TYPE_CHECKING:
    import pandas as pd

    from udfs.model import NetworkModel

NUMERIC_PREFIX = "num\t"  # vocab entries of profile_numeric: "num\t<feature>"


def _arrow(rows, columns) -> pa.RecordBatch | pa.Table:
    if isinstance(rows, (pa.RecordBatch, pa.Table)):
        return rows
    return pa.Table.from_pandas(rows[[c for c in columns if c in rows.columns]], preserve_index=False)


class TextTokens:
    name = "text_tokens"
    table = "user_texts"

    @staticmethod
    def columns(model: "NetworkModel") -> tuple[str, ...]:
        from udfs.tokenizer import CAPTION_FAMILIES, FEATURE_SEP

        families = {f.split(FEATURE_SEP, 1)[0] for f in model.vocab}
        wanted = {"biography": bool(families & {"bio_word", "bio_char"}),
                  "full_name": bool(families & {"name_word", "name_char"}),
                  "captions": bool(families & set(CAPTION_FAMILIES))}
        return tuple(c for c, used in wanted.items() if used)

    @staticmethod
    def fit(frame: "pd.DataFrame", vocab: list[str], spec: dict) -> tuple[dict, np.ndarray | None]:
        """(spec, idf): tf-idf needs the fitting users' idf; presence needs nothing."""
        if spec.get("weighting", "binary") == "binary":
            return dict(spec, set="text_tokens"), None
        _, values = csr_of_lists(frame["indices"])
        df = np.bincount(values, minlength=len(vocab)).astype(np.float64)
        return dict(spec, set="text_tokens"), np.log((1.0 + len(frame)) / (1.0 + df)) + 1.0

    @staticmethod
    def prepare(rows):
        return rows

    @staticmethod
    def sample() -> pa.RecordBatch:
        """One made-up user, to warm a worker's tokeniser and scorer."""
        return pa.RecordBatch.from_arrays(
            [pa.array(["#a b"]), pa.array(["a b"]), pa.array([["#a b 🙂"]], pa.list_(pa.string()))],
            names=["biography", "full_name", "captions"])

    @staticmethod
    def csr(model: "NetworkModel", rows) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Texts (tokenised as in training) or an `indices` column (each listed token once)."""
        arrow = isinstance(rows, (pa.RecordBatch, pa.Table))
        names = rows.schema.names if arrow else list(rows.columns)
        if "indices" in names:
            lists = (lambda c: csr_of(rows.column(c))) if arrow else (lambda c: csr_of_lists(rows[c]))
            offsets, indices = lists("indices")
            counts = lists("counts")[1] if "counts" in names else None
        else:
            offsets, indices, counts = model.indices_of_texts(rows)
        return offsets, indices, model.values_of(offsets, indices, counts)


# Computed by jobs.profile_features (which says what each is); named here so that workers need no Spark.
PROFILE_BASE_FEATURES = (
    "username_type", "username_words", "username_length", "username_digits", "username_vowel_share",
    "full_name_length", "full_name_words", "full_name_non_ascii", "name_matches_username", "bio_length", "bio_words",
    "follower_count", "following_count", "media_count", "usertags_count", "is_private", "is_verified",
    "anonymous_picture", "reel_auto_archive", "has_external_url", "is_business")
PROFILE_DERIVED_FEATURES = ("log_followers", "log_following", "log_media", "log_followers_per_following",
                            "log_following_per_media")
NUMERIC_FEATURES = PROFILE_BASE_FEATURES + PROFILE_DERIVED_FEATURES


class ProfileNumeric:
    """Profile metadata as numbers (jobs.profile_features computes them in Spark: `prepare`).
    Weighting `standardised` (networks, linear models): by the fitting users' means and
    deviations, a missing value at the mean (0); `raw` (tree ensembles): as they are, a
    missing value NaN, which the trees send their learnt way."""
    name = "profile_numeric"
    table = "profiles"

    FEATURES = tuple(f"{NUMERIC_PREFIX}{name}" for name in NUMERIC_FEATURES)  # the model's vocab

    @classmethod
    def columns(cls, model: "NetworkModel" = None) -> tuple[str, ...]:
        return NUMERIC_FEATURES

    @staticmethod
    def prepare(rows):
        """The table's rows with the feature columns (a Spark DataFrame of `profiles`)."""
        from jobs.profile_features import with_features

        return with_features(rows, keep=tuple(c for c in ("user_id", "shard", "label", "is_test", "is_calibration", "fold")
                                              if c in rows.columns))

    @classmethod
    def raw(cls, rows) -> np.ndarray:
        """(users x features) as computed; missing is NaN."""
        batch = _arrow(rows, cls.columns())
        return np.column_stack([pc.cast(batch.column(c), pa.float64()).to_numpy(zero_copy_only=False)
                                for c in cls.columns()]).astype(np.float64)

    @classmethod
    def fit(cls, frame, vocab: list[str] | None = None, spec: dict | None = None) -> tuple[dict, None]:
        """Means and deviations of the fitting users (NaN ignored; a constant feature keeps deviation 1)."""
        x = cls.raw(frame)
        if not len(x):
            raise ValueError("no fitting users to standardise profile features on")
        weighting = (spec or {}).get("weighting", "standardised")
        if weighting == "raw":
            return {"set": cls.name, "weighting": "raw"}, None
        import warnings

        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # a feature the source lacks: all NaN
            mean, std = np.nan_to_num(np.nanmean(x, axis=0)), np.nan_to_num(np.nanstd(x, axis=0))
        std[std < 1e-9] = 1.0
        return {"set": cls.name, "weighting": "standardised", "mean": mean.tolist(), "std": std.tolist()}, None

    @classmethod
    def sample(cls) -> pa.RecordBatch:
        """One made-up user, to warm a worker's scorer."""
        return pa.RecordBatch.from_pydict({c: pa.array([1.0]) for c in cls.columns()})

    @classmethod
    def csr(cls, model: "NetworkModel", rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every feature of every user (dense rows in CSR form)."""
        x = cls.raw(rows)
        if model.features.get("weighting") != "raw":
            x = (x - np.asarray(model.features["mean"])) / np.asarray(model.features["std"])
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        n, d = x.shape
        offsets = np.arange(0, (n + 1) * d, d, dtype=np.int64)
        indices = np.tile(np.arange(d, dtype=np.int32), n)
        return offsets, indices, np.ascontiguousarray(x, dtype=np.float64).ravel()


FEATURE_SETS = {s.name: s for s in (TextTokens, ProfileNumeric)}


def feature_set(name: str):
    try:
        return FEATURE_SETS[name]
    except KeyError:
        raise KeyError(f"unknown feature set {name!r}; known: {sorted(FEATURE_SETS)}") from None
