"""Class shares of a group from a classifier's outputs, corrected for its errors (Forman 2008;
QuaPy's aggregative quantifiers): classify, then aggregate with a correction estimated once.

  CC    classify and count: the share of members whose most probable class is c
  ACC   adjusted: q = p M, M[i, j] = P(predicted j | true i) on held-out users, so p = q M^-1
  PACC  probabilistic: the same with mean posteriors, P[i, j] = mean P(j) over held-out users of class i

Both adjustments are linear in what is averaged, so a member can carry its own term: z = onehot
(argmax) M^-1 for ACC, z = posterior P^-1 for PACC; a group's estimate is the mean of its
members' z (one group-by), then clipped to [0, 1] and renormalised (QuaPy's `norm='clip'`).

Variance of the estimate (delta method), per class j:
  from the group's own members:  Var(z_j) / n
  from the matrix (held-out users): sum_i p_i^2 C[i, j], C[i, j] = w_j' S_i w_j / n_i, with w_j the
  j-th column of the inverse and S_i the covariance of class i's held-out rows (onehots for ACC,
  posteriors for PACC).
The 95% interval is the estimate +- 1.96 standard deviations, cut to [0, 1].

`matrices` is computed once per model version at training (logged with the model); the audience
job reads it, and `adjusted_shares` is the same arithmetic on one group in numpy (tests hold the
Spark job to it, and it to QuaPy).
"""
from __future__ import annotations

import numpy as np

Z95 = 1.959963984540054
METHODS = ("cc", "acc", "pacc")


def _inverse(matrix: np.ndarray) -> np.ndarray:
    """The inverse, or the pseudo-inverse when a class was never predicted (singular matrix)."""
    try:
        if np.linalg.cond(matrix) < 1e12:
            return np.linalg.inv(matrix)
    except np.linalg.LinAlgError:
        pass
    return np.linalg.pinv(matrix)


def matrices(y: np.ndarray, probs: np.ndarray, classes: list[str], weights: np.ndarray | None = None) -> dict:
    """The correction of a model, from held-out users' true classes and probabilities. `weights`:
    per user, when the held-out users are a stratified sample (hand labels): each weighs its
    stratum's population over its sample count, so the rates are the population's."""
    k = len(classes)
    y = np.asarray(y, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    onehot = np.eye(k)[probs.argmax(axis=1)]
    counts = np.bincount(y, minlength=k)
    # a weighted sample counts as fewer users: Kish's effective size, per class
    effective = np.array([w[y == i].sum() ** 2 / max((w[y == i] ** 2).sum(), 1e-12) for i in range(k)])
    out = {"classes": list(classes), "users": int(len(y)), "users_per_class": counts.tolist(),
           "weighted": weights is not None, "effective_users_per_class": np.round(effective, 1).tolist()}
    for method, rows in (("acc", onehot), ("pacc", probs)):
        matrix = np.eye(k)  # a class without held-out users: assumed read right (no correction)
        covariances = np.zeros((k, k, k))
        for i in range(k):
            mine, wi = rows[y == i], w[y == i]
            if len(mine):
                matrix[i] = np.average(mine, axis=0, weights=wi)
                centred = mine - matrix[i]
                covariances[i] = (centred * wi[:, None]).T @ centred / wi.sum()
        inverse = _inverse(matrix)
        # C[i, j] = w_j' S_i w_j / n_i
        c = np.einsum("kj,ikl,lj->ij", inverse, covariances, inverse) / np.maximum(effective, 1)[:, None]
        out[method] = {"matrix": matrix.tolist(), "inverse": inverse.tolist(), "matrix_variance": c.tolist()}
    return out


def clip_normalise(estimate: np.ndarray) -> np.ndarray:
    """Shares cut to [0, 1] and renormalised to sum to 1 (rows of a 2-d array alike)."""
    clipped = np.clip(estimate, 0.0, 1.0)
    total = clipped.sum(axis=-1, keepdims=True)
    k = estimate.shape[-1]
    return np.divide(clipped, total, out=np.full_like(clipped, 1.0 / k), where=total > 0)


def adjusted_shares(probs: np.ndarray, correction: dict) -> dict[str, dict[str, np.ndarray]]:
    """One group's shares by every method, with standard deviations and 95% intervals."""
    probs = np.asarray(probs, dtype=np.float64)
    n, k = probs.shape
    onehot = np.eye(k)[probs.argmax(axis=1)]
    out = {}
    for method in METHODS:
        if method == "cc":
            z, c = onehot, np.zeros((k, k))
        else:
            inverse = np.asarray(correction[method]["inverse"])
            z = (onehot if method == "acc" else probs) @ inverse
            c = np.asarray(correction[method]["matrix_variance"])
        share = clip_normalise(z.mean(axis=0))
        variance = z.var(axis=0) / n + (share ** 2) @ c
        sd = np.sqrt(np.maximum(variance, 0.0))
        out[method] = {"share": share, "sd": sd, "low": np.clip(share - Z95 * sd, 0, 1),
                       "high": np.clip(share + Z95 * sd, 0, 1)}
    return out
