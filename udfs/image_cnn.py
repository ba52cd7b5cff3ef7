"""numba forward pass of the image model (jobs.image_model) on its exported weights, for scoring
inside Spark without TensorFlow on the workers.

A user's volume [p, h, w, 3] goes through Conv3D layers (3x3x3, 'same', ReLU: Keras's
cross-correlation, zero padding), each followed by 2x2 max-pooling within each picture, then the
mean over each picture's positions, the mean over the group's real pictures (mask), a ReLU dense
layer and one softmax per head. A convolution is an im2col matrix times the kernel matrix, so
the multiply-adds run in BLAS (numba's np.dot).
"""
from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def conv3d_same_relu(x, kernel, bias):
    """x [p, h, w, c] float32, kernel [kd, kh, kw, c, o], bias [o] -> ReLU(conv) [p, h, w, o]."""
    p, h, w, c = x.shape
    kd, kh, kw, _, o = kernel.shape
    cols = np.zeros((p * h * w, kd * kh * kw * c), np.float32)
    for i in range(p):
        for y in range(h):
            for z in range(w):
                row = (i * h + y) * w + z
                k = 0
                for di in range(kd):
                    ii = i + di - kd // 2
                    for dy in range(kh):
                        yy = y + dy - kh // 2
                        for dz in range(kw):
                            zz = z + dz - kw // 2
                            if 0 <= ii < p and 0 <= yy < h and 0 <= zz < w:
                                for ch in range(c):
                                    cols[row, k + ch] = x[ii, yy, zz, ch]
                            k += c
    out = np.dot(cols, np.ascontiguousarray(kernel).reshape(kd * kh * kw * c, o))
    for r in range(out.shape[0]):
        for j in range(o):
            v = out[r, j] + bias[j]
            out[r, j] = v if v > 0 else 0.0
    return out.reshape(p, h, w, o)


@nb.njit(cache=True, nogil=True)
def max_pool_2x2(x):
    """[p, h, w, c] -> [p, h // 2, w // 2, c], the max of each 2x2 block within a picture."""
    p, h, w, c = x.shape
    out = np.empty((p, h // 2, w // 2, c), np.float32)
    for i in range(p):
        for y in range(h // 2):
            for z in range(w // 2):
                for ch in range(c):
                    out[i, y, z, ch] = max(max(x[i, 2 * y, 2 * z, ch], x[i, 2 * y, 2 * z + 1, ch]),
                                           max(x[i, 2 * y + 1, 2 * z, ch], x[i, 2 * y + 1, 2 * z + 1, ch]))
    return out


@nb.njit(cache=True, nogil=True)
def group_mean(x, mask):
    """[p, h, w, c] and mask [p] -> [c]: each picture's mean over its positions, then the mean over
    the pictures the mask calls real (none: zeros)."""
    p, h, w, c = x.shape
    out = np.zeros(c, np.float32)
    total = 0.0
    for i in range(p):
        if mask[i] == 0:
            continue
        total += mask[i]
        for ch in range(c):
            s = 0.0
            for y in range(h):
                for z in range(w):
                    s += x[i, y, z, ch]
            out[ch] += mask[i] * s / (h * w)
    return out / max(total, 1.0)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


def predict_groups(volumes: np.ndarray, mask: np.ndarray, weights: dict[str, np.ndarray], n_convs: int,
                   heads: tuple[str, ...]) -> dict[str, np.ndarray]:
    """volumes uint8 [n, p, h, w, 3], mask [n, p], weights as jobs.image_model exports them
    ('conv0.0' kernel, 'conv0.1' bias, ..., 'dense.0/1', '<head>.0/1') -> per head [n, classes]."""
    convs = [(np.ascontiguousarray(weights[f"conv{i}.0"], np.float32), np.asarray(weights[f"conv{i}.1"], np.float32))
             for i in range(n_convs)]
    dense_w, dense_b = np.asarray(weights["dense.0"], np.float32), np.asarray(weights["dense.1"], np.float32)
    outs = {h: (np.asarray(weights[f"{h}.0"], np.float32), np.asarray(weights[f"{h}.1"], np.float32)) for h in heads}
    probs = {h: np.empty((len(volumes), outs[h][1].shape[0]), np.float32) for h in heads}
    mask = np.asarray(mask, np.float32)
    for u in range(len(volumes)):
        x = volumes[u].astype(np.float32) / np.float32(255)
        for kernel, bias in convs:
            x = max_pool_2x2(conv3d_same_relu(x, kernel, bias))
        hidden = np.maximum(group_mean(x, mask[u]) @ dense_w + dense_b, 0)
        for h in heads:
            w, b = outs[h]
            probs[h][u] = _softmax(hidden @ w + b)
    return probs
