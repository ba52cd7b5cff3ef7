"""Spark's mapInArrow bodies for scoring: models cached per worker, rows -> feature set -> numba kernels.

Used inside Spark's mapInArrow; nothing here loops over rows in Python.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from udfs.model import NetworkModel

_MODELS: dict[str, NetworkModel] = {}  # one load per Python worker process (workers are reused)


def load_network(source: str) -> NetworkModel:
    """A network from a local folder (weights.npz + model.json), or from an MLflow model URI."""
    model = _MODELS.get(source)
    if model is None:
        folder = Path(source)
        if not (folder / "model.json").exists():
            import mlflow

            folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=source)) / "artifacts" / "network"
        model = _MODELS[source] = NetworkModel.load(folder)
    return model


def score_batches(batches, source: str, id_columns: tuple[str, ...] = ("user_id", "shard")):
    """mapInArrow body: batches with id columns + the columns the model's feature set reads (the
    users' texts or `indices`, list<int32> vocab positions; profile metadata) -> ids, label,
    confidence, p_<class>."""
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # one core per Spark task: no oversubscription
    model = load_network(source)
    for batch in batches:
        probs, offsets = model.predict_rows(batch)
        labels, confidence = model.label(probs, offsets)
        columns = [batch.column(c) for c in id_columns]
        columns += [pa.array(labels.astype(str)), pa.array(confidence.astype(np.float32))]
        columns += [pa.array(probs[:, i].astype(np.float32)) for i in range(len(model.classes))]
        names = list(id_columns) + ["label", "confidence"] + [f"p_{c}" for c in model.classes]
        yield pa.RecordBatch.from_arrays(columns, names=names)


def warm_batches(batches, source: str):
    """mapInArrow body that readies a Python worker for score_batches: imports, the model, and
    numba's compiled tokeniser and forward pass loaded from the cache, by scoring one sample user."""
    for _ in score_batches(iter([load_network(source).feature_set.sample()]), source, id_columns=()):
        pass
    for batch in batches:
        yield pa.RecordBatch.from_arrays([pa.array(np.ones(batch.num_rows, np.int64))], names=["ready"])
