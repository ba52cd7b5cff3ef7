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
    ok = curve[curve["accuracy"] >= min_accuracy]
    if ok.empty:
        return float(curve["threshold"].iloc[0])
    return float(ok["threshold"].iloc[-1])

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
