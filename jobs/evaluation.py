"""Evaluation: metrics, the accuracy-coverage curve, the 'uncertain' threshold and the baselines a
target's definition names (majority; first_name for gender)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from jobs.training_set import Split


def evaluate(y: np.ndarray, probs: np.ndarray, classes: list[str]) -> dict:
    from sklearn import metrics

    pred = probs.argmax(axis=1)
    labels = list(range(len(classes)))
    # Clipped away from 0 for the log, then renormalised: clipping alone lifts the sums above 1.
    clipped = np.clip(probs, 1e-7, 1)
    clipped /= clipped.sum(axis=1, keepdims=True)
    p, r, f, s = metrics.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    out = {"accuracy": metrics.accuracy_score(y, pred), "macro_f1": metrics.f1_score(y, pred, average="macro", labels=labels),
           "log_loss": metrics.log_loss(y, clipped, labels=labels), "ece": expected_calibration_error(y, probs),
           "n_test": int(len(y))}
    try:
        out["roc_auc"] = (metrics.roc_auc_score(y, probs[:, 1]) if len(classes) == 2
                          else metrics.roc_auc_score(y, probs, multi_class="ovr", labels=labels))
    except ValueError:
        out["roc_auc"] = float("nan")
    for i, c in enumerate(classes):
        out[f"precision_{c}"], out[f"recall_{c}"], out[f"f1_{c}"] = float(p[i]), float(r[i]), float(f[i])
    return {k: float(v) if not isinstance(v, int) else v for k, v in out.items()}

def expected_calibration_error(y: np.ndarray, probs: np.ndarray, bins: int = 15) -> float:
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)

def coverage_curve(y: np.ndarray, probs: np.ndarray) -> pd.DataFrame:
    """Accuracy among the users kept when the least confident are left 'uncertain'."""
    conf = probs.max(axis=1)
    order = np.argsort(-conf, kind="stable")
    correct = (probs.argmax(axis=1) == y)[order]
    kept = np.arange(1, len(y) + 1)
    return pd.DataFrame({"threshold": conf[order], "coverage": kept / len(y), "accuracy": np.cumsum(correct) / kept})

def threshold_for(curve: pd.DataFrame, min_accuracy: float) -> float:
    """Lowest confidence threshold whose kept users reach min_accuracy (0 if all users do)."""
    ok = np.flatnonzero(curve["accuracy"].to_numpy() >= min_accuracy)
    if len(ok) == 0:
        return float(curve["threshold"].iloc[0])
    if ok[-1] == len(curve) - 1:  # every held-out user may be kept: nothing vouches for a floor
        return 0.0
    return float(curve["threshold"].iloc[ok[-1]])

NEVER = 2.0  # a threshold no probability reaches: the class is always 'uncertain'
MIN_CLASS_SUPPORT = 10  # calibration predictions of a class needed to vouch for its precision
# The precision a class's threshold promises is its held-out precision less this many standard
# errors: the highest point of a noisy precision curve promises more than new users get.
PRECISION_BOUND_Z = 1.0


def wilson_lower_bound(right: np.ndarray, n: np.ndarray, z: float) -> np.ndarray:
    """Wilson score interval's lower end for right/n (z standard errors below)."""
    n = np.asarray(n, float)
    p = np.asarray(right, float) / n
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def class_precision_thresholds(y: np.ndarray, probs: np.ndarray, min_precision: float,
                               min_support: int = MIN_CLASS_SUPPORT, z: float = PRECISION_BOUND_Z) -> np.ndarray:
    """Per class, the lowest confidence at which the precision of the users predicted that class
    and kept, less z standard errors (Wilson), still reaches min_precision; NEVER for a class with
    fewer than min_support predictions there or none reaching it (its users go 'uncertain'
    rather than pollute another's share)."""
    pred, conf = probs.argmax(axis=1), probs.max(axis=1)
    thresholds = np.full(probs.shape[1], NEVER)
    for c in range(probs.shape[1]):
        mine = np.flatnonzero(pred == c)
        order = mine[np.argsort(-conf[mine], kind="stable")]
        kept = np.arange(1, len(order) + 1)
        precision = wilson_lower_bound(np.cumsum(y[order] == c), kept, z) if len(order) else kept
        ok = np.flatnonzero((precision >= min_precision) & (kept >= min_support))
        if len(ok):
            thresholds[c] = conf[order[ok[-1]]]
    return thresholds


def threshold_fold(user_ids: np.ndarray, folds: int) -> np.ndarray:
    """A stable fold per user (a hash of the id, never the label) for cross-fitted thresholds."""
    ids = np.asarray(user_ids).astype(np.uint64)
    return ((ids * np.uint64(2654435761) + np.uint64(40503)) % np.uint64(2**32) % np.uint64(folds)).astype(int)


def cross_fitted_probs(user_ids: np.ndarray, folds: int, fit_and_score) -> np.ndarray:
    """Every user's probabilities from a model that did not see them: fold k's users are scored
    by fit_and_score(fit_mask, score_mask), fitted on the other folds' users only."""
    fold = threshold_fold(user_ids, folds)
    out = None
    for k in range(folds):
        mine = fold == k
        if not mine.any():
            continue
        probs = fit_and_score(~mine, mine)
        out = np.zeros((len(fold), probs.shape[1])) if out is None else out
        out[mine] = probs
    return out


def abstention_thresholds(rule: str, y: np.ndarray, probs: np.ndarray, level: float) -> float | list[float]:
    """The 'uncertain' threshold(s) a target's abstention rule sets on held-out users:
    `accuracy`, one confidence keeping overall accuracy >= level; `class_precision`, one per
    class keeping each class's precision >= level."""
    if rule == "accuracy":
        return threshold_for(coverage_curve(y, probs), level)
    if rule == "class_precision":
        return class_precision_thresholds(y, probs, level).tolist()
    raise ValueError(f"unknown abstention rule {rule!r}")


def kept_mask(probs: np.ndarray, threshold) -> np.ndarray:
    """Users whose most probable class clears its threshold (scalar or one per class)."""
    best = probs.argmax(axis=1)
    return probs[np.arange(len(probs)), best] >= np.broadcast_to(np.asarray(threshold, float), (probs.shape[1],))[best]


def per_class_at_thresholds(y: np.ndarray, probs: np.ndarray, threshold, classes) -> dict[str, dict]:
    """Per class on these users: precision and predicted count among the kept, recall (kept and
    right over all of the class) -- the figures a per-class threshold promises."""
    kept, pred = kept_mask(probs, threshold), probs.argmax(axis=1)
    out = {}
    for c, name in enumerate(classes):
        predicted = kept & (pred == c)
        right = int((predicted & (y == c)).sum())
        out[name] = {"predicted": int(predicted.sum()), "right": right,
                     "precision": right / predicted.sum() if predicted.any() else None,
                     "recall": right / max(int((y == c).sum()), 1), "support": int((y == c).sum())}
    return out


def pooled_per_class(folds: list[dict[str, dict]]) -> dict[str, dict]:
    """per_class_at_thresholds of several folds (disjoint users) summed: precision and recall over all."""
    out = {}
    for name in folds[0]:
        predicted = sum(f[name]["predicted"] for f in folds)
        right = sum(f[name]["right"] for f in folds)
        support = sum(f[name]["support"] for f in folds)
        out[name] = {"predicted": predicted, "precision": right / predicted if predicted else None,
                     "recall": right / support if support else 0.0, "support": support}
    return out


def name_baseline(full_names: pd.Series, classes: list[str], majority: int) -> np.ndarray:
    """Probabilities from gender-guesser's first-name dictionary (the gender target's own baseline)."""
    import gender_guesser.detector as gd

    det = gd.Detector(case_sensitive=False)
    p_female = {"female": 0.95, "mostly_female": 0.75, "male": 0.05, "mostly_male": 0.25}
    probs = np.zeros((len(full_names), len(classes)))
    fi, mi = classes.index("female"), classes.index("male")
    for r, name in enumerate(full_names.fillna("")):
        first = name.strip().split(" ")[0] if name.strip() else ""
        pf = p_female.get(det.get_gender(first) if first else "unknown")
        if pf is None:  # unknown or androgynous name: fall back to the majority class, weakly
            probs[r, majority] = 0.5 + 1e-6
            probs[r, 1 - majority] = 0.5 - 1e-6
        else:
            probs[r, fi], probs[r, mi] = pf, 1 - pf
    return probs

def majority_probs(split: Split) -> np.ndarray:
    """Every test user in the class most fitting and calibration users have."""
    k = len(split.classes)
    return np.eye(k)[np.full(len(split.test), split.majority)] * (1 - 2e-6) + 1e-6


BASELINE_PROBS = {
    "majority": majority_probs,
    "name_baseline": lambda split: name_baseline(split.test["full_name"], split.classes, split.majority),
}


def baselines(split: Split, names) -> dict[str, dict]:
    """Test metrics of the baselines a target's definition names."""
    return {name: evaluate(split.y("test"), BASELINE_PROBS[name](split), split.classes) for name in names}


def format_table(metrics: dict[str, dict]) -> str:
    cols = ["accuracy", "macro_f1", "roc_auc", "log_loss", "ece", "train_seconds"]
    lines = ["| model | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for name, m in metrics.items():
        lines.append(f"| {name} | " + " | ".join(f"{m.get(c, float('nan')):.3f}" for c in cols) + " |")
    return "\n".join(lines)
