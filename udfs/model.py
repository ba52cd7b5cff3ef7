"""A trained network as plain arrays + its vocab (its MLflow pyfunc face is udfs.pyfunc).

Saved as weights.npz (W/b of every layer of every net) + model.json (classes, kind, vocab,
threshold), so the numba scorer never needs the training library.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from udfs import kernels

TOKEN_SEP = "\t"  # a feature is "<family>\t<token>"


@dataclass
class NetworkModel:
    classes: list[str]
    kind: str  # "network" or "twin"
    nets: list[list[tuple[np.ndarray, np.ndarray]]]  # one net, or one per class for twin
    vocab: list[str]  # feature strings; position = input index
    threshold: float = 0.0  # below this confidence the label is 'uncertain'
    meta: dict = field(default_factory=dict)

    # ---- inputs
    def indices_of(self, features_per_row) -> tuple[np.ndarray, np.ndarray]:
        """CSR (offsets, indices) of rows given as feature strings (an Arrow list<string> array, or
        any sequence of lists); unknown features dropped, each index once per row, sorted."""
        import pyarrow as pa

        rows = features_per_row
        if not isinstance(rows, (pa.Array, pa.ChunkedArray)):
            rows = pa.array([None if r is None else list(r) for r in rows], type=pa.list_(pa.string()))
        return csr_from_features(rows, self.vocab_array)

    @cached_property
    def vocab_array(self):
        import pyarrow as pa

        return pa.array(self.vocab, type=pa.string())

    # ---- scoring
    def predict_csr(self, offsets, indices) -> np.ndarray:
        if self.kind == "twin":
            return kernels.predict_twin(offsets, indices, self.nets)
        return kernels.predict_network(offsets, indices, self.nets[0], len(self.classes))

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
        np.savez(folder / "weights.npz", **arrays)
        (folder / "model.json").write_text(json.dumps({
            "classes": self.classes, "kind": self.kind, "threshold": self.threshold, "vocab": self.vocab,
            "layers": [len(layers) for layers in self.nets], "meta": self.meta}, ensure_ascii=False))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "NetworkModel":
        folder = Path(folder)
        spec = json.loads((folder / "model.json").read_text())
        arrays = np.load(folder / "weights.npz")
        nets = [[(arrays[f"n{n}_w{l}"], arrays[f"n{n}_b{l}"]) for l in range(k)] for n, k in enumerate(spec["layers"])]
        return cls(spec["classes"], spec["kind"], nets, spec["vocab"], spec["threshold"], spec.get("meta", {}))


def csr_from_features(rows, vocab) -> tuple[np.ndarray, np.ndarray]:
    """Arrow list<string> rows -> CSR of their positions in `vocab` (an Arrow string array).

    One hash lookup per feature in Arrow's C++ (`index_in`), then numpy: no Python per row.
    Handles nulls and sliced arrays; duplicates within a row count once (inputs are presences)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    n = len(rows)
    if rows.null_count:
        rows = pc.fill_null(rows, pa.scalar([], rows.type))
    lengths = np.asarray(pc.list_value_length(rows).fill_null(0), dtype=np.int64)
    flat = pc.list_flatten(rows)  # respects slicing, unlike .values
    found = np.asarray(pc.index_in(flat, value_set=vocab).fill_null(-1), dtype=np.int64)
    row_of = np.repeat(np.arange(n, dtype=np.int64), lengths)
    keep = found >= 0
    width = max(len(vocab), 1)
    keys = np.unique(row_of[keep] * width + found[keep])  # sorted by row, then index; distinct
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // width, minlength=n), out=offsets[1:])
    return offsets, (keys % width).astype(np.int32)


def output_frame(model: NetworkModel, probs: np.ndarray, offsets: np.ndarray | None = None) -> pd.DataFrame:
    labels, confidence = model.label(probs, offsets)
    out = pd.DataFrame({"label": labels, "confidence": confidence})
    for i, c in enumerate(model.classes):
        out[f"p_{c}"] = probs[:, i]
    return out


def __getattr__(name: str):
    # The MLflow face lives in udfs.pyfunc so scoring workers never import mlflow; models logged
    # when it lived here still unpickle through this name.
    if name == "PyfuncNetwork":
        from udfs.pyfunc import PyfuncNetwork

        return PyfuncNetwork
    raise AttributeError(name)
