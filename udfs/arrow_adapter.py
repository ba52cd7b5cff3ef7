"""Feeding numba kernels from Arrow: CSR straight from list<int32> buffers, models cached per worker.

Used inside Spark's mapInArrow; nothing here loops over rows in Python.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from udfs.model import NetworkModel

_MODELS: dict[str, NetworkModel] = {}  # one load per Python worker process (workers are reused)


def csr_of(indices: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, values) of a list<int32> array without copying rows; handles slices and nulls."""
    if isinstance(indices, pa.ChunkedArray):
        indices = indices.combine_chunks()
    if indices.null_count:
        indices = pc.fill_null(indices, pa.scalar([], indices.type))
    # Offsets of a sliced array index into the full child buffer: keep them as they are.
    offsets = np.asarray(indices.offsets, dtype=np.int64)
    values = np.asarray(indices.values, dtype=np.int32) if len(indices.values) else np.zeros(0, np.int32)
    return offsets, values


def csr_of_lists(rows) -> tuple[np.ndarray, np.ndarray]:
    """csr_of for a Python/pandas sequence of index lists (None = empty)."""
    return csr_of(pa.array([None if r is None else list(r) for r in rows], type=pa.list_(pa.int32())))


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
