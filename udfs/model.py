"""A trained network as plain arrays + its vocab (its MLflow pyfunc face is udfs.pyfunc).

Saved as weights.npz (W/b of every layer of every net) + model.json (classes, kind, vocab,
threshold), so the numba scorer never needs the training library.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from udfs import kernels

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class NetworkModel:
    classes: list[str]
    kind: str  # "network" or "twin"
    nets: list[list[tuple[np.ndarray, np.ndarray]]]  # one net, or one per class for twin
    vocab: list[str]  # feature strings; position = input index
    threshold: float = 0.0  # below this confidence the label is 'uncertain'
    meta: dict = field(default_factory=dict)

    # ---- inputs
    def indices_of_texts(self, batch) -> tuple[np.ndarray, np.ndarray]:
        """CSR (offsets, sorted distinct vocab indices) of an Arrow batch (or pandas frame) with
        biography, full_name and captions (list of strings), tokenised as in training."""
        import pyarrow as pa

        if not isinstance(batch, (pa.RecordBatch, pa.Table)):
            batch = _texts_batch(batch)
        return self.vocab_lookup.csr(batch)

    @cached_property
    def vocab_lookup(self):
        from udfs.tokenizer import VocabLookup

        return VocabLookup(self.vocab)

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


def __getattr__(name: str):
    # The MLflow face lives in udfs.pyfunc so scoring workers never import mlflow; models logged
    # when it lived here still unpickle through this name.
    if name == "PyfuncNetwork":
        from udfs.pyfunc import PyfuncNetwork

        return PyfuncNetwork
    raise AttributeError(name)
