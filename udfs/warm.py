"""Compiles every numba entry point once into the shared cache (make setup runs it), so the first
job or test does not pay the compilation (about a minute on 2 cores)."""
from __future__ import annotations

import time

import numpy as np
import pyarrow as pa


def main() -> None:
    from udfs import NUMBA_CACHE_DIR, kernels
    from udfs.tokenizer import FAMILIES, TokenCounter, VocabLookup, token_table

    started = time.perf_counter()
    batch = pa.RecordBatch.from_arrays(
        [pa.array(["Mom of 2 📍 Lyon #MomLife", None]), pa.array(["Élodie Martin", "x"]),
         pa.array([["Café #東京 🇫🇷 😍"], None], pa.list_(pa.string()))], names=["biography", "full_name", "captions"])
    counter = TokenCounter(FAMILIES, 2)
    counter.add(batch, np.array([0, 1]))
    counter.result(["a", "b"])
    token_table(batch, FAMILIES)
    lookup = VocabLookup(["hashtag\t#東京", "word\tcafé"])
    offsets, values = lookup.csr(batch)
    _, _, counts = lookup.csr_counts(batch)
    layers = [(np.ones((2, 3)), np.zeros(3)), (np.ones((3, 1)), np.zeros(1))]
    probs = kernels.predict_network(offsets, values, layers, 2)
    weighted = kernels.weighted_values(offsets, values, counts, np.ones(2), True, True, np.zeros(2, np.int32))
    kernels.weighted_values(offsets, values, counts[:0], np.ones(2), True, True, np.zeros(0, np.int32))
    kernels.predict_network(offsets, values, layers, 2, weighted)
    kernels.predict_twin(offsets, values, [layers, layers])
    kernels.label_and_confidence(probs, ["a", "b"], 0.5, kernels.empty_rows(offsets))
    from udfs.trees import predict_trees

    tree = {"feature": np.array([0, -1, -1], np.int32), "threshold": np.array([0.5, 0, 0]),
            "left": np.array([1, 0, 0], np.int32), "right": np.array([2, 0, 0], np.int32),
            "missing": np.array([2, 0, 0], np.int8), "default_left": np.array([True, False, False]),
            "value": np.array([0.0, -1.0, 1.0]), "roots": np.array([0], np.int32)}
    predict_trees(np.array([0, 1], np.int64), np.array([0], np.int32), np.array([0.3]), tree, 1, 2)
    predict_trees(np.array([0, 1], np.int64), np.array([0], np.int32), np.array([0.3]), tree, 1, 3)
    from udfs.image_cnn import predict_groups

    convs = {"conv0.0": np.ones((3, 3, 3, 3, 2), np.float32), "conv0.1": np.zeros(2, np.float32),
             "dense.0": np.ones((2, 2), np.float32), "dense.1": np.zeros(2, np.float32),
             "a.0": np.ones((2, 2), np.float32), "a.1": np.zeros(2, np.float32)}
    predict_groups(np.zeros((1, 2, 4, 4, 3), np.uint8), np.ones((1, 2), np.float32), convs, 1, ("a",))
    print(f"numba kernels compiled into {NUMBA_CACHE_DIR} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
