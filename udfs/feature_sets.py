"""Feature sets: how a user's rows become a model's input values (CSR: offsets, indices, values).

One small interface, the same in training and on Spark workers (nothing here imports Spark):

  table            the warehouse table the set reads (user_texts, profiles)
  columns(model)   the columns of that table it reads for this model
  fit(frame, ...)  what it learns from the fitting users (idf, means and deviations), as a spec
                   the model artifact carries (model.json `features`, with `set` naming the set)
  csr(model, rows) Arrow batch or pandas frame -> (offsets, indices, values or None = presence)

`text_tokens` reads texts through the MI-selected vocab (presence or tf-idf);
`profile_numeric` reads profile metadata -- counts, ratios, lengths, flags -- standardised by
the fitting users' means and deviations, every feature present for every user.
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


def _count(batch, name: str) -> np.ndarray:
    """A count column as float, null -> NaN."""
    return pc.cast(batch.column(name), pa.float64()).to_numpy(zero_copy_only=False)


def _length(batch, name: str) -> np.ndarray:
    return pc.fill_null(pc.utf8_length(pc.cast(batch.column(name), pa.string())), 0).to_numpy(
        zero_copy_only=False).astype(np.float64)


def _flag(batch, name: str) -> np.ndarray:
    return pc.fill_null(pc.cast(batch.column(name), pa.bool_()), False).to_numpy(zero_copy_only=False).astype(np.float64)


def _digit_share(batch, name: str) -> np.ndarray:
    text = pc.fill_null(pc.cast(batch.column(name), pa.string()), "")
    digits = pc.utf8_length(pc.replace_substring_regex(text, r"[^0-9]", "")).to_numpy(zero_copy_only=False)
    return digits / np.maximum(pc.utf8_length(text).to_numpy(zero_copy_only=False), 1)


NUMERIC_FEATURES = ("log_followers", "log_following", "log_media", "log_usertags", "log_followers_per_following",
                    "log_media_per_follower", "bio_length", "name_length", "username_length",
                    "username_digit_share", "has_external_url", "is_private", "is_verified", "anonymous_picture")


def _numeric_features(b) -> dict[str, np.ndarray]:
    followers, following = _count(b, "follower_count"), _count(b, "following_count")
    media, tags = _count(b, "media_count"), _count(b, "usertags_count")
    return {
        "log_followers": np.log1p(followers),
        "log_following": np.log1p(following),
        "log_media": np.log1p(media),
        "log_usertags": np.log1p(tags),
        "log_followers_per_following": np.log1p(followers) - np.log1p(following),
        "log_media_per_follower": np.log1p(media) - np.log1p(followers),
        "bio_length": _length(b, "biography"),
        "name_length": _length(b, "full_name"),
        "username_length": _length(b, "username"),
        "username_digit_share": _digit_share(b, "username"),
        "has_external_url": (_length(b, "external_url") > 0).astype(np.float64),
        "is_private": _flag(b, "is_private"),
        "is_verified": _flag(b, "is_verified"),
        "anonymous_picture": _flag(b, "has_anonymous_profile_picture"),
    }


class ProfileNumeric:
    name = "profile_numeric"
    table = "profiles"
    COLUMNS = ("username", "full_name", "biography", "external_url", "follower_count", "following_count",
               "media_count", "usertags_count", "is_private", "is_verified", "has_anonymous_profile_picture")
    FEATURES = tuple(f"{NUMERIC_PREFIX}{name}" for name in NUMERIC_FEATURES)

    @classmethod
    def columns(cls, model: "NetworkModel" = None) -> tuple[str, ...]:
        return cls.COLUMNS

    @classmethod
    def raw(cls, rows) -> np.ndarray:
        """(users x features) before standardising; a missing count is NaN."""
        values = _numeric_features(_arrow(rows, cls.COLUMNS))
        return np.column_stack([values[name] for name in NUMERIC_FEATURES]).astype(np.float64)

    @classmethod
    def fit(cls, frame, vocab: list[str] | None = None, spec: dict | None = None) -> tuple[dict, None]:
        """Means and deviations of the fitting users (NaN ignored; a constant feature keeps deviation 1)."""
        x = cls.raw(frame)
        if not len(x):
            raise ValueError("no fitting users to standardise profile features on")
        with np.errstate(all="ignore"):
            mean, std = np.nan_to_num(np.nanmean(x, axis=0)), np.nan_to_num(np.nanstd(x, axis=0))
        std[std < 1e-9] = 1.0
        return {"set": cls.name, "weighting": "standardised", "mean": mean.tolist(), "std": std.tolist()}, None

    @classmethod
    def sample(cls) -> pa.RecordBatch:
        """One made-up user, to warm a worker's scorer."""
        texts = {c: pa.array(["a1"]) for c in ("username", "full_name", "biography", "external_url")}
        counts = {c: pa.array([1], pa.int64()) for c in cls.COLUMNS if c.endswith("_count")}
        flags = {c: pa.array([False]) for c in cls.COLUMNS if c.startswith(("is_", "has_"))}
        return pa.RecordBatch.from_pydict({**texts, **counts, **flags})

    @classmethod
    def csr(cls, model: "NetworkModel", rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every feature of every user, standardised; missing values sit at the mean (0)."""
        x = (cls.raw(rows) - np.asarray(model.features["mean"])) / np.asarray(model.features["std"])
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
