"""CSR (offsets, values) straight from Arrow list<int32> buffers, without looping over rows in Python."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


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
