"""Class shares of a group from a classifier's outputs, corrected for its errors (Forman 2008;
QuaPy's aggregative quantifiers): classify, then aggregate with a correction estimated once.

  CC    classify and count: the share of members whose most probable class is c
  ACC   adjusted: q = p M, M[i, j] = P(predicted j | true i) on held-out users, so p = q M^-1
  PACC  probabilistic: the same with mean posteriors, P[i, j] = mean P(j) over held-out users of class i

Both adjustments are linear in what is averaged, so a member can carry its own term: z = onehot
(argmax) M^-1 for ACC, z = posterior P^-1 for PACC; a group's estimate is the mean of its
members' z (one group-by), then clipped to [0, 1] and renormalised (QuaPy's `norm='clip'`).

Fakes first (`fakes_first`): a target counted among an audience's authentic members would be
biased by the fakes the authenticity model lets through, which carry predictions of the target's
classes too. So the correction is joint: classes [fake, *classes], a member's row [P(fake),
P(authentic) x posterior] (ACC: the argmaxes' onehots), the matrix's fake row from labelled
fakes. The group's share of class c is r_c = mean t_c / mean s, t = the member's row times the
inverse in the target's classes and s = their sum (without fakes s = 1, and this is plain ACC
and PACC).

Variance of the share (delta method of the ratio), per class c, S = the group's sum of t:
  from the group's own members:  Var(t_c - r_c s) / (n S^2)
  from the matrix (held-out users): sum_i q_i^2 (A_ic - 2 r_c B_ic + r_c^2 D_i) / S^2, q the group's
  joint shares, A_ic = a_c' S_i a_c / n_i, B_ic = a_c' S_i b / n_i, D_i = b' S_i b / n_i, with a_c
  the inverse's column of class c, b the sum of those columns and S_i the covariance of row i's
  held-out users (onehots for ACC, posteriors for PACC). Without fakes b = 1 and B = D = 0.
The 95% interval is the estimate +- 1.96 standard deviations, cut to [0, 1].

`matrices` is computed once per model version at training (logged with the model, its held-out
users beside it); `fakes_first` by the audience job from the two models' held-out users and
`adjusted_shares` is the same arithmetic on one group in numpy (tests hold the Spark job to it,
and it to QuaPy).
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


def _moments(rows: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Weighted mean, covariance and Kish effective size of some held-out users' rows."""
    mean = np.average(rows, axis=0, weights=w)
    centred = rows - mean
    return mean, (centred * w[:, None]).T @ centred / w.sum(), float(w.sum() ** 2 / max((w ** 2).sum(), 1e-12))


def _correction(matrix: np.ndarray, covariances: np.ndarray, effective: np.ndarray, offset: int) -> dict:
    """The inverse and the matrix's variance terms (module doc) of a matrix whose first `offset`
    rows and columns are not the target's classes."""
    inverse = _inverse(matrix)
    a = inverse[:, offset:]  # the estimate of the target's classes: columns offset.. of the inverse
    b = a.sum(axis=1)
    n = np.maximum(effective, 1)
    return {"matrix": matrix.tolist(), "inverse": inverse.tolist(), "offset": offset,
            "matrix_variance": (np.einsum("kj,ikl,lj->ij", a, covariances, a) / n[:, None]).tolist(),
            "matrix_variance_b": (np.einsum("kj,ikl,l->ij", a, covariances, b) / n[:, None]).tolist(),
            "matrix_variance_d": (np.einsum("k,ikl,l->i", b, covariances, b) / n).tolist()}


def _no_correction(k: int, offset: int = 0) -> dict:
    """Classify and count as a correction: the identity, without variance of its own."""
    size = k + offset
    zeros = np.zeros((size, k)).tolist()
    return {"inverse": np.eye(size).tolist(), "offset": offset, "matrix_variance": zeros,
            "matrix_variance_b": zeros, "matrix_variance_d": [0.0] * size}


def member_rows(method: str, probs: np.ndarray, fake: np.ndarray | None = None) -> np.ndarray:
    """What a member contributes before the correction: its onehot (cc, acc) or posterior (pacc);
    with `fake` (P(fake) by the authenticity model), the joint row [not authentic, authentic x
    class]: P(fake) and P(authentic) x posterior for pacc, onehots of both argmaxes otherwise."""
    probs = np.asarray(probs, dtype=np.float64)
    k = probs.shape[1]
    rows = probs if method == "pacc" else np.eye(k)[probs.argmax(axis=1)] if len(probs) else np.zeros((0, k))
    if fake is None:
        return rows
    fake = np.asarray(fake, dtype=np.float64)
    lead = fake if method == "pacc" else (fake > 0.5).astype(np.float64)
    return np.column_stack([lead, (1 - lead)[:, None] * rows])


def matrices(y: np.ndarray, probs: np.ndarray, classes: list[str], weights: np.ndarray | None = None) -> dict:
    """The correction of a model, from held-out users' true classes and probabilities. `weights`:
    per user, when the held-out users are a stratified sample (hand labels): each weighs its
    stratum's population over its sample count, so the rates are the population's."""
    k = len(classes)
    y = np.asarray(y, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    counts = np.bincount(y, minlength=k)
    out = {"classes": list(classes), "users": int(len(y)), "users_per_class": counts.tolist(),
           "weighted": weights is not None}
    effective = np.zeros(k)
    for method in ("acc", "pacc"):
        rows = member_rows(method, probs)
        matrix = np.eye(k)  # a class without held-out users: assumed read right (no correction)
        covariances = np.zeros((k, k, k))
        for i in range(k):
            if (y == i).any():
                matrix[i], covariances[i], effective[i] = _moments(rows[y == i], w[y == i])
        out[method] = _correction(matrix, covariances, effective, offset=0)
    # a weighted sample counts as fewer users: Kish's effective size, per class
    out["effective_users_per_class"] = np.round(effective, 1).tolist()
    return out


def fakes_first(y: np.ndarray, probs: np.ndarray, fake_of_labelled: np.ndarray, fakes_probs: np.ndarray,
                fakes_fake: np.ndarray, classes: list[str], weights: np.ndarray | None = None,
                fakes_weights: np.ndarray | None = None) -> dict:
    """A target's correction among every scored member, fakes included: joint classes [fake,
    *classes], rows as member_rows makes them with the authenticity model's P(fake).
      rows 1..k: the target's held-out users of each class (authentic), their held-out posteriors
        and the authenticity model's P(fake) of them (`fake_of_labelled`);
      row 0: labelled fakes, their out-of-fold P(fake) (`fakes_fake`) and the target's posteriors
        of them (`fakes_probs`) -- what leaked fakes add to the counts.
    The group's estimate of the target's classes is then among its authentic members, whatever
    share of fakes the authenticity model let through."""
    k = len(classes)
    y = np.asarray(y, dtype=np.int64)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    wf = np.ones(len(fakes_fake)) if fakes_weights is None else np.asarray(fakes_weights, dtype=np.float64)
    out = {"classes": ["fake", *classes], "users": int(len(y)), "users_per_class": np.bincount(y, minlength=k).tolist(),
           "fakes": int(len(fakes_fake)), "weighted": weights is not None or fakes_weights is not None}
    effective = np.zeros(k + 1)
    for method in ("acc", "pacc"):
        labelled = member_rows(method, probs, fake_of_labelled)
        fakes = member_rows(method, fakes_probs, fakes_fake)
        matrix, covariances = np.eye(k + 1), np.zeros((k + 1, k + 1, k + 1))
        if len(fakes):
            matrix[0], covariances[0], effective[0] = _moments(fakes, wf)
        for i in range(k):
            if (y == i).any():
                matrix[i + 1], covariances[i + 1], effective[i + 1] = _moments(labelled[y == i], w[y == i])
        out[method] = _correction(matrix, covariances, effective, offset=1)
    out["effective_users_per_class"] = np.round(effective, 1).tolist()
    return out


def method_correction(correction: dict, method: str, k: int) -> dict:
    """One method's part of a correction (cc: none), with the variance terms a correction logged
    before they existed lacks (zero: its target columns sum to one)."""
    if method == "cc":
        return _no_correction(k, correction.get("pacc", {}).get("offset", 0))
    part = dict(correction[method])
    size = len(part["inverse"])
    part.setdefault("offset", 0)
    part.setdefault("matrix_variance_b", np.zeros((size, k)).tolist())
    part.setdefault("matrix_variance_d", [0.0] * size)
    return part


def member_terms(rows: np.ndarray, part: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, s, lead) per member: t = row M^-1 in the target's classes, s = their sum (1 without
    fakes), lead = the rest (the fake class)."""
    z = rows @ np.asarray(part["inverse"])
    t = z[:, part["offset"]:]
    return t, t.sum(axis=1), z[:, :part["offset"]].sum(axis=1)


def group_estimates(n, mean_t, mean_t2, mean_ts, mean_s, mean_s2, mean_lead, var_a, var_b, var_d, offset):
    """Shares, standard deviations of groups (rows) from the means of their members' terms: the
    share r_c = mean t_c / mean s (clipped, renormalised), its variance by the delta method of
    the ratio, from the members (Var(t_c - r_c s) / n) and from the matrix. var_*: per group
    (g x k' x k, g x k' x k, g x k'), the correction's terms of each group's model version."""
    share = clip_normalise(mean_t)
    total = np.maximum(np.clip(mean_t, 0, 1).sum(axis=1), 1e-9)[:, None]
    joint = clip_normalise(np.column_stack([mean_lead, mean_t])) if offset else share
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = (mean_t2 - 2 * share * mean_ts + share ** 2 * mean_s2[:, None]
                  - (mean_t - share * mean_s[:, None]) ** 2)
        member_var = np.where(n[:, None] > 0, spread / np.maximum(n, 1)[:, None], 0.0)
    weights = joint ** 2
    matrix_var = (np.einsum("gi,gij->gj", weights, var_a) - 2 * share * np.einsum("gi,gij->gj", weights, var_b)
                  + share ** 2 * np.einsum("gi,gi->g", weights, var_d)[:, None])
    return share, np.sqrt(np.maximum((member_var + matrix_var) / total ** 2, 0.0))


def clip_normalise(estimate: np.ndarray) -> np.ndarray:
    """Shares cut to [0, 1] and renormalised to sum to 1 (rows of a 2-d array alike)."""
    clipped = np.clip(estimate, 0.0, 1.0)
    total = clipped.sum(axis=-1, keepdims=True)
    k = estimate.shape[-1]
    return np.divide(clipped, total, out=np.full_like(clipped, 1.0 / k), where=total > 0)


def adjusted_shares(probs: np.ndarray, correction: dict, fake: np.ndarray | None = None) -> dict[str, dict[str, np.ndarray]]:
    """One group's shares by every method, with standard deviations and 95% intervals (`fake`:
    its members' P(fake), for a fakes_first correction)."""
    probs = np.asarray(probs, dtype=np.float64)
    n, k = probs.shape
    out = {}
    for method in METHODS:
        part = method_correction(correction, method, k)
        t, s, lead = member_terms(member_rows(method, probs, fake), part)
        mean = lambda x: np.atleast_2d(x.mean(axis=0))  # noqa: E731
        share, sd = group_estimates(
            np.array([float(n)]), mean(t), mean(t ** 2), mean(t * s[:, None]), np.array([s.mean()]),
            np.array([(s ** 2).mean()]), np.array([lead.mean()]), np.asarray(part["matrix_variance"])[None],
            np.asarray(part["matrix_variance_b"])[None], np.asarray(part["matrix_variance_d"])[None], part["offset"])
        share, sd = share[0], sd[0]
        out[method] = {"share": share, "sd": sd, "low": np.clip(share - Z95 * sd, 0, 1),
                       "high": np.clip(share + Z95 * sd, 0, 1)}
    return out
