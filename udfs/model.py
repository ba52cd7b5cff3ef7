"""A trained network as plain arrays + its vocab and feature spec (its MLflow pyfunc face is udfs.pyfunc).

Saved as weights.npz (W/b of every layer of every net, the idf vector) + model.json (classes,
kind, vocab, feature spec, threshold), so the numba scorer never needs the training library;
held_out.npz beside them: the users the audience correction was measured on (ids, true class,
held-out probabilities, weights), which the audience job reads and scoring never loads.
A linear model (logistic regression, a calibrated linear SVM) is a network of one layer; a
gradient-boosted tree ensemble (kind `trees`) is its node arrays (udfs.trees).

The feature spec names its feature set (`set`, udfs.feature_sets; text_tokens when absent) and
what that set fitted. For text tokens it says how tokens become input values: `binary`
(presence) or `tfidf` (tf or sublinear tf, times the idf of the training users, l2-normalised
per user -- `l2: row` -- or per user and token family -- `l2: family`); for profile_numeric,
the fitting users' means and deviations.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from udfs import kernels
from udfs.feature_sets import feature_set

if TYPE_CHECKING:
    import pandas as pd


def load_held_out(folder: str | Path) -> dict[str, np.ndarray] | None:
    """A saved model's held-out users (HELD_OUT_FILE: user_id, y, probabilities, weight,
    weighted), or None when it was saved without them."""
    path = Path(folder) / HELD_OUT_FILE
    if not path.exists():
        return None
    with np.load(path) as arrays:
        return {name: arrays[name] for name in arrays.files}


BINARY = {"weighting": "binary"}
TFIDF = {"weighting": "tfidf", "sublinear": True, "l2": "family"}
FEATURE_SPECS = {"binary": BINARY, "tfidf": TFIDF}
_NO_COUNTS = np.zeros(0, np.int32)
HELD_OUT_FILE = "held_out.npz"


@dataclass
class NetworkModel:
    classes: list[str]
    kind: str  # "network", "twin" or "trees"
    nets: list[list[tuple[np.ndarray, np.ndarray]]]  # one net, or one per class for twin
    vocab: list[str]  # feature strings; position = input index
    threshold: float | list[float] = 0.0  # below this confidence (one, or one per class): 'uncertain'
    meta: dict = field(default_factory=dict)
    features: dict = field(default_factory=lambda: dict(BINARY))
    idf: np.ndarray | None = None  # per vocab entry, for tfidf features
    trees: dict | None = None  # kind "trees": the ensemble's flat node arrays (udfs.trees)
    held_out: dict | None = None  # user_id, y, probabilities, weight, weighted: saved, never loaded

    @property
    def weighted(self) -> bool:
        return self.features.get("weighting", "binary") != "binary"

    @property
    def feature_set(self):
        """The feature-set plugin (udfs.feature_sets) that turns this model's input rows into values."""
        return feature_set(self.features.get("set", "text_tokens"))

    def inputs(self, rows) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """CSR (offsets, indices, values or None = presence) of an Arrow batch or pandas frame."""
        return self.feature_set.csr(self, rows)

    # ---- inputs
    def indices_of_texts(self, batch) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """CSR (offsets, sorted distinct vocab indices, token counts or None) of an Arrow batch
        (or pandas frame) with biography, full_name and captions (list of strings), tokenised
        as in training; counts only when the features are weighted."""
        import pyarrow as pa

        if not isinstance(batch, (pa.RecordBatch, pa.Table)):
            batch = _texts_batch(batch)
        recent = self.features.get("recent_captions")
        if recent and "captions" in batch.schema.names:  # as in training: only the newest captions
            import pyarrow.compute as pc

            column = batch.schema.names.index("captions")
            batch = batch.set_column(column, "captions", pc.list_slice(batch.column("captions"), 0, recent))
        if self.weighted:
            return self.vocab_lookup.csr_counts(batch)
        return (*self.vocab_lookup.csr(batch), None)

    def values_of(self, offsets, indices, counts=None) -> np.ndarray | None:
        """Input values per CSR entry (None = binary presence); without counts each token counts once."""
        if not self.weighted:
            return None
        return input_values(self.features, self.idf, offsets, indices, counts, self.vocab_groups)

    @cached_property
    def vocab_groups(self) -> np.ndarray:
        return vocab_groups(self.vocab, self.features)

    @cached_property
    def vocab_lookup(self):
        from udfs.tokenizer import VocabLookup

        return VocabLookup(self.vocab)

    # ---- scoring
    def predict_csr(self, offsets, indices, counts=None) -> np.ndarray:
        """Probabilities of text-token CSR rows (counts for tf-idf features)."""
        return self.predict_values(offsets, indices, self.values_of(offsets, indices, counts))

    def predict_rows(self, rows) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities, offsets) of rows in whatever form the feature set reads."""
        offsets, indices, values = self.inputs(rows)
        return self.predict_values(offsets, indices, values), offsets

    def predict_values(self, offsets, indices, values) -> np.ndarray:
        """The numba forward pass over weighted CSR rows (values None = presence)."""
        if self.kind == "twin":
            return kernels.predict_twin(offsets, indices, self.nets, values)
        if self.kind == "trees":
            from udfs.trees import predict_trees

            return predict_trees(offsets, indices, values, self.trees, len(self.vocab), len(self.classes))
        return kernels.predict_network(offsets, indices, self.nets[0], len(self.classes), values)

    def label(self, probs: np.ndarray, offsets: np.ndarray | None = None):
        empty = kernels.empty_rows(offsets) if offsets is not None else None
        return kernels.label_and_confidence(probs, self.classes, self.threshold, empty)

    # ---- persistence
    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for n, layers in enumerate(self.nets):
            for l, (w, b) in enumerate(layers):
                arrays[f"n{n}_w{l}"] = w
                arrays[f"n{n}_b{l}"] = b
        if self.idf is not None:
            arrays["idf"] = self.idf
        for name, array in (self.trees or {}).items():
            arrays[f"tree_{name}"] = array
        np.savez(folder / "weights.npz", **arrays)
        if self.held_out is not None:
            np.savez(folder / HELD_OUT_FILE, **self.held_out)
        (folder / "model.json").write_text(json.dumps({
            "classes": self.classes, "kind": self.kind, "threshold": self.threshold, "vocab": self.vocab,
            "layers": [len(layers) for layers in self.nets], "meta": self.meta, "features": self.features},
            ensure_ascii=False))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "NetworkModel":
        folder = Path(folder)
        spec = json.loads((folder / "model.json").read_text())
        arrays = np.load(folder / "weights.npz")
        nets = [[(arrays[f"n{n}_w{l}"], arrays[f"n{n}_b{l}"]) for l in range(k)] for n, k in enumerate(spec["layers"])]
        trees = {k[len("tree_"):]: arrays[k] for k in arrays.files if k.startswith("tree_")} or None
        return cls(spec["classes"], spec["kind"], nets, spec["vocab"], spec["threshold"], spec.get("meta", {}),
                   spec.get("features", dict(BINARY)), arrays["idf"] if "idf" in arrays else None, trees)


def vocab_groups(vocab: list[str], features: dict) -> np.ndarray:
    """The l2 group of every vocab entry: its token family for `l2: family`, else none (empty)."""
    if features.get("l2") != "family":
        return np.zeros(0, np.int32)
    from udfs.tokenizer import FAMILIES, FEATURE_SEP

    return np.array([FAMILIES.index(f.split(FEATURE_SEP, 1)[0]) for f in vocab], dtype=np.int32)


def input_values(features: dict, idf: np.ndarray, offsets, indices, counts, groups: np.ndarray) -> np.ndarray:
    """Values of a weighted feature spec per CSR entry (counts None: each token counts once;
    groups: the vocab's vocab_groups)."""
    counts = _NO_COUNTS if counts is None else np.asarray(counts, dtype=np.int32)
    return kernels.weighted_values(np.asarray(offsets, np.int64), np.asarray(indices, np.int32), counts,
                                   np.asarray(idf, np.float64), bool(features.get("sublinear")),
                                   bool(features.get("l2")), np.asarray(groups, np.int32))


def _texts_batch(frame: pd.DataFrame):
    """Arrow batch of the text columns of a pandas frame (absent columns are empty)."""
    import pyarrow as pa

    n = len(frame)
    def column(name, kind):
        if name not in frame.columns:
            return pa.nulls(n, kind)
        values = frame[name].tolist()
        if kind != pa.string():
            values = [None if v is None else [str(x) for x in v] for v in values]
        return pa.array(values, type=kind)

    return pa.RecordBatch.from_arrays(
        [column("biography", pa.string()), column("full_name", pa.string()), column("captions", pa.list_(pa.string()))],
        names=["biography", "full_name", "captions"])


def output_frame(model: NetworkModel, probs: np.ndarray, offsets: np.ndarray | None = None) -> pd.DataFrame:
    import pandas as pd  # the pyfunc's output; Spark's Arrow scorer never needs pandas

    labels, confidence = model.label(probs, offsets)
    out = pd.DataFrame({"label": labels, "confidence": confidence})
    for i, c in enumerate(model.classes):
        out[f"p_{c}"] = probs[:, i]
    return out

