"""A trained network as plain arrays + its vocab, and its MLflow pyfunc face.

Saved as weights.npz (W/b of every layer of every net) + model.json (classes, kind, vocab,
threshold), so the numba scorer never needs the training library.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
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

    def __post_init__(self):
        self._index = {f: i for i, f in enumerate(self.vocab)}

    # ---- inputs
    def indices_of(self, features_per_row) -> tuple[np.ndarray, np.ndarray]:
        """CSR (offsets, indices) of rows given as iterables of feature strings; unknown ones dropped."""
        offsets = [0]
        values: list[int] = []
        for feats in features_per_row:
            if feats is not None:
                values.extend(sorted({self._index[f] for f in feats if f in self._index}))
            offsets.append(len(values))
        return np.asarray(offsets, dtype=np.int64), np.asarray(values, dtype=np.int32)

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


def output_frame(model: NetworkModel, probs: np.ndarray, offsets: np.ndarray | None = None) -> pd.DataFrame:
    labels, confidence = model.label(probs, offsets)
    out = pd.DataFrame({"label": labels, "confidence": confidence})
    for i, c in enumerate(model.classes):
        out[f"p_{c}"] = probs[:, i]
    return out


try:  # the pyfunc face exists wherever mlflow is installed (always, in this project)
    import mlflow.pyfunc

    class PyfuncNetwork(mlflow.pyfunc.PythonModel):
        """Input: a DataFrame with `features` (list of "<family>\\t<token>") or `indices` (list of
        this model's vocab indices). Output: label, confidence and p_<class> columns."""

        def load_context(self, context):
            self.model = NetworkModel.load(context.artifacts["network"])

        def predict(self, context, model_input, params=None):
            if "indices" in model_input.columns:
                col = model_input["indices"]
                lengths = np.fromiter((0 if v is None else len(v) for v in col), dtype=np.int64, count=len(col))
                offsets = np.concatenate([[0], np.cumsum(lengths)])
                values = (np.concatenate([np.asarray(v, dtype=np.int32) for v in col if v is not None and len(v)])
                          if lengths.sum() else np.zeros(0, dtype=np.int32))
            else:
                offsets, values = self.model.indices_of(model_input["features"])
            return output_frame(self.model, self.model.predict_csr(offsets, values), offsets)
except ImportError:  # pragma: no cover
    PyfuncNetwork = None
