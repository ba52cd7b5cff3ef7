"""Tree ensembles (gradient-boosted trees) as plain arrays, scored by numba over CSR rows.

Every tree's nodes sit in one set of flat arrays: `feature` (-1 at a leaf), `threshold`, `left`,
`right` (node positions), `missing` (how a missing value is told apart: 0 none -- NaN is read as
0, 1 zero -- 0 and NaN take the default way, 2 nan -- NaN takes it), `default_left` and `value`
(a leaf's output); `roots` holds each tree's first node. Tree t adds to output t % outputs; one
output is a logistic P(classes[1]), several a softmax. This is LightGBM's own decision rule
(`lightgbm_arrays` reads its public `dump_model()`), so the scorer needs no LightGBM.

An entry absent from a CSR row is missing (NaN), not 0: profile features are all present.
"""
from __future__ import annotations

import numba as nb
import numpy as np

MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2
_MISSING_TYPES = {"None": MISSING_NONE, "Zero": MISSING_ZERO, "NaN": MISSING_NAN}
ZERO_THRESHOLD = 1e-35  # LightGBM's kZeroThreshold
ARRAY_NAMES = ("feature", "threshold", "left", "right", "missing", "default_left", "value", "roots")


@nb.njit(cache=True, nogil=True)
def _leaf_value(x, root, feature, threshold, left, right, missing, default_left, value):
    node = root
    while feature[node] >= 0:
        v = x[feature[node]]
        kind = missing[node]
        if np.isnan(v) and kind != MISSING_NAN:
            v = 0.0
        if (kind == MISSING_ZERO and abs(v) <= ZERO_THRESHOLD) or (kind == MISSING_NAN and np.isnan(v)):
            node = left[node] if default_left[node] else right[node]
        elif v <= threshold[node]:
            node = left[node]
        else:
            node = right[node]
    return value[node]


@nb.njit(cache=True, nogil=True)
def trees_predict(offsets, indices, values, n_features, feature, threshold, left, right, missing, default_left,
                  value, roots, n_outputs, n_classes):
    n = len(offsets) - 1
    probs = np.empty((n, n_classes))
    x = np.empty(n_features)
    raw = np.empty(n_outputs)
    for row in range(n):
        x[:] = np.nan
        for k in range(offsets[row], offsets[row + 1]):
            j = indices[k]
            if 0 <= j < n_features:
                x[j] = values[k]
        raw[:] = 0.0
        for t in range(len(roots)):
            raw[t % n_outputs] += _leaf_value(x, roots[t], feature, threshold, left, right, missing, default_left, value)
        if n_outputs == 1:
            p = 1.0 / (1.0 + np.exp(-raw[0]))
            probs[row, 0] = 1.0 - p
            probs[row, 1] = p
        else:
            top = raw.max()
            total = 0.0
            for c in range(n_outputs):
                probs[row, c] = np.exp(raw[c] - top)
                total += probs[row, c]
            for c in range(n_outputs):
                probs[row, c] /= total
    return probs


def predict_trees(offsets, indices, values, trees: dict, n_features: int, n_classes: int) -> np.ndarray:
    """Probabilities of dense-or-sparse CSR rows (values required: trees read numbers)."""
    n_outputs = 1 if n_classes == 2 else n_classes
    return trees_predict(np.asarray(offsets, np.int64), np.asarray(indices, np.int32),
                         np.asarray(values, np.float64), n_features,
                         *(trees[name] for name in ARRAY_NAMES), n_outputs, n_classes)


def lightgbm_arrays(dump: dict) -> dict[str, np.ndarray]:
    """The flat arrays of a LightGBM model's `booster.dump_model()` (numerical splits only)."""
    columns: dict[str, list] = {name: [] for name in ARRAY_NAMES if name != "roots"}
    roots = []

    def add(node: dict) -> int:
        at = len(columns["feature"])
        for name in columns:
            columns[name].append(0)
        if "leaf_value" in node or "split_feature" not in node:
            columns["feature"][at] = -1
            columns["value"][at] = float(node.get("leaf_value", 0.0))
            return at
        if node.get("decision_type", "<=") != "<=":
            raise ValueError(f"only numerical splits are supported, got {node.get('decision_type')!r}")
        columns["feature"][at] = int(node["split_feature"])
        columns["threshold"][at] = float(node["threshold"])
        columns["missing"][at] = _MISSING_TYPES[node.get("missing_type", "None")]
        columns["default_left"][at] = bool(node.get("default_left", True))
        columns["left"][at] = add(node["left_child"])
        columns["right"][at] = add(node["right_child"])
        return at

    for tree in dump["tree_info"]:
        roots.append(add(tree["tree_structure"]))
    dtypes = {"feature": np.int32, "threshold": np.float64, "left": np.int32, "right": np.int32,
              "missing": np.int8, "default_left": np.bool_, "value": np.float64}
    arrays = {name: np.asarray(columns[name], dtype=dtypes[name]) for name in columns}
    arrays["roots"] = np.asarray(roots, dtype=np.int32)
    return arrays
