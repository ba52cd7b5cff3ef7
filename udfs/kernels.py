"""numba forward passes over CSR input (offsets + vocab indices, optionally a value per entry).

Sparse input makes the first layer a weighted sum of weight rows; binary presence (no values) is
the special case of every value 1, and skips the multiplications. `weighted_values` turns token
counts into tf / sublinear tf, idf and l2-normalised values. A network is given as its
layers' weight matrices and biases; hidden layers use ReLU; the output is a logistic unit
(binary: P(classes[1])) or a softmax. Twin networks (one per class, each 'this class vs rest')
are scored together: the class whose network responds strongest wins, and the responses,
normalised to sum to one, are the probabilities.

Kernels take int64 offsets that need not start at 0 (a sliced Arrow array) and ignore indices
outside the vocabulary (negative or >= input size).
"""
from __future__ import annotations

import numba as nb
import numpy as np

OUT_LOGISTIC = 0
OUT_SOFTMAX = 1
UNCERTAIN = "uncertain"  # the label of a user the model cannot call


@nb.njit(cache=True, nogil=True)
def _first_layer(offsets, indices, values, row, w0, b0, h):
    # Explicit loops: numba's array expressions (h += w0[j]) allocate a temporary per call.
    width = h.shape[0]
    for i in range(width):
        h[i] = b0[i]
    d = w0.shape[0]
    if values.shape[0] == 0:  # binary presence
        for k in range(offsets[row], offsets[row + 1]):
            j = indices[k]
            if 0 <= j < d:
                for i in range(width):
                    h[i] += w0[j, i]
        return
    for k in range(offsets[row], offsets[row + 1]):
        j = indices[k]
        if 0 <= j < d:
            v = values[k]
            for i in range(width):
                h[i] += v * w0[j, i]


@nb.njit(cache=True, nogil=True)
def weighted_values(offsets, indices, counts, idf, sublinear, l2, groups):
    """A value per CSR entry: tf (the count; 1 without counts), 1 + ln(tf) when sublinear, times
    idf[index] (an index outside idf gets 0). With l2, each row is scaled to unit length -- per
    group of vocab entries (groups[index], e.g. the token family) when groups is not empty, so a
    family with many tokens does not drown one with few."""
    out = np.zeros(indices.shape[0])
    has_counts = counts.shape[0] > 0
    d = idf.shape[0]
    n_groups = 1
    for j in range(groups.shape[0]):
        if groups[j] + 1 > n_groups:
            n_groups = groups[j] + 1
    totals = np.zeros(n_groups)
    for row in range(offsets.shape[0] - 1):
        for g in range(n_groups):
            totals[g] = 0.0
        for k in range(offsets[row], offsets[row + 1]):
            j = indices[k]
            if j < 0 or j >= d:
                continue
            tf = np.float64(counts[k]) if has_counts else 1.0
            v = (1.0 + np.log(tf)) if sublinear else tf
            v *= idf[j]
            out[k] = v
            totals[groups[j] if groups.shape[0] > 0 else 0] += v * v
        if l2:
            for k in range(offsets[row], offsets[row + 1]):
                j = indices[k]
                if 0 <= j < d:
                    total = totals[groups[j] if groups.shape[0] > 0 else 0]
                    if total > 0.0:
                        out[k] /= np.sqrt(total)
    return out


@nb.njit(cache=True, nogil=True)
def _dense(x, w, b, out, relu):
    width = out.shape[0]
    for k in range(width):
        out[k] = b[k]
    for i in range(x.shape[0]):
        xi = x[i]
        if xi != 0.0:
            for k in range(width):
                out[k] += xi * w[i, k]
    if relu:
        for i in range(out.shape[0]):
            if out[i] < 0.0:
                out[i] = 0.0


@nb.njit(cache=True, nogil=True)
def _net_forward(offsets, indices, values, w0, b0, w1, b1, w2, b2, n_layers, out_kind, probs, row, h0, h1, o):
    """One row through a 1-3 layer network; writes class probabilities into probs."""
    _first_layer(offsets, indices, values, row, w0, b0, h0)
    last = h0
    if n_layers >= 2:
        for i in range(h0.shape[0]):
            if h0[i] < 0.0:
                h0[i] = 0.0
        if n_layers == 2:
            _dense(h0, w1, b1, o, False)
            last = o
        else:
            _dense(h0, w1, b1, h1, True)
            _dense(h1, w2, b2, o, False)
            last = o
    if out_kind == OUT_LOGISTIC:
        z = last[0]
        if z >= 0:
            p = 1.0 / (1.0 + np.exp(-z))
        else:
            e = np.exp(z)
            p = e / (1.0 + e)
        probs[0] = 1.0 - p
        probs[1] = p
    else:
        m = last[0]
        for i in range(last.shape[0]):
            if last[i] > m:
                m = last[i]
        s = 0.0
        for i in range(last.shape[0]):
            probs[i] = np.exp(last[i] - m)
            s += probs[i]
        for i in range(last.shape[0]):
            probs[i] /= s


@nb.njit(cache=True, nogil=True)
def mlp_predict(offsets, indices, values, w0, b0, w1, b1, w2, b2, n_layers, out_kind, n_classes):
    """Class probabilities (n_rows x n_classes, float64) of a network for every CSR row (values:
    one per index, or empty for binary presence)."""
    n = offsets.shape[0] - 1
    out = np.empty((n, n_classes))
    h0 = np.empty(w0.shape[1])
    h1 = np.empty(w1.shape[1] if n_layers == 3 else 1)
    width = w2.shape[1] if n_layers == 3 else (w1.shape[1] if n_layers == 2 else w0.shape[1])
    o = np.empty(width)
    probs = np.empty(n_classes)
    for row in range(n):
        _net_forward(offsets, indices, values, w0, b0, w1, b1, w2, b2, n_layers, out_kind, probs, row, h0, h1, o)
        out[row] = probs
    return out


def _padded(layers):
    """(w0, b0, w1, b1, w2, b2, n_layers) with unused layers as empty arrays (numba needs a fixed signature)."""
    if not 1 <= len(layers) <= 3:
        raise ValueError(f"networks of 1 to 3 weight layers are supported, got {len(layers)}")
    empty_w, empty_b = np.zeros((1, 1)), np.zeros(1)
    flat = []
    for i in range(3):
        w, b = layers[i] if i < len(layers) else (empty_w, empty_b)
        flat += [np.ascontiguousarray(w, dtype=np.float64), np.ascontiguousarray(b, dtype=np.float64)]
    return (*flat, len(layers))


_BINARY = np.zeros(0)


def predict_network(offsets, indices, layers, n_classes: int, values=None) -> np.ndarray:
    """Probabilities of one network: layers = [(W, b), ...] as sklearn's coefs_/intercepts_;
    values None = binary presence."""
    out_width = layers[-1][0].shape[1]
    out_kind = OUT_LOGISTIC if out_width == 1 else OUT_SOFTMAX
    if out_kind == OUT_LOGISTIC and n_classes != 2:
        raise ValueError("a single logistic output needs exactly 2 classes")
    values = _BINARY if values is None else np.asarray(values, dtype=np.float64)
    return mlp_predict(np.asarray(offsets, dtype=np.int64), np.asarray(indices, dtype=np.int32), values,
                       *_padded(layers), out_kind, n_classes)


def predict_twin(offsets, indices, nets, values=None) -> np.ndarray:
    """One 'class vs rest' network per class: responses normalised to probabilities."""
    responses = np.column_stack([predict_network(offsets, indices, layers, 2, values)[:, 1] for layers in nets])
    total = responses.sum(axis=1, keepdims=True)
    return np.divide(responses, total, out=np.full_like(responses, 1.0 / len(nets)), where=total > 0)


def label_and_confidence(probs: np.ndarray, classes, threshold, empty: np.ndarray | None = None):
    """Most probable class, or 'uncertain' where its probability is below the threshold (one for
    all classes, or one per class) or the row had no input token at all (the answer would be the
    network's bias: a coin flip)."""
    best = probs.argmax(axis=1)
    confidence = probs[np.arange(len(probs)), best]
    labels = np.asarray(classes, dtype=object)[best]
    per_class = np.broadcast_to(np.asarray(threshold, dtype=np.float64), (len(classes),))
    labels[confidence < per_class[best]] = UNCERTAIN
    if empty is not None:
        labels[empty] = UNCERTAIN
    return labels, confidence


def empty_rows(offsets: np.ndarray) -> np.ndarray:
    return np.diff(offsets) == 0
