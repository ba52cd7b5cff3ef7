"""Train, evaluate and register a target's models in MLflow, with a champion gate.

Training set: labelled users' tokens mapped to a vocab version, as CSR index and count arrays
(built in Spark, handed to the driver through Arrow). It must fit the driver: ~16 bytes per
(user, token) in the vocab, so 570k users x ~50 vocab tokens is ~450 MB; cap it with --max-users.
Split (jobs.split): ~10% test users by a stable hash of the user id; of the rest, ~10% are
calibration users. Models and their idf are fitted on the remaining training users; the
regularisation strength, the SVM's probability calibration and the 'uncertain' threshold on the
calibration users; test users are only scored. The vocab comes from token_mi, which ranks training users only.

Models (weights exported as plain arrays for the numba scorer):
  perceptron (no hidden layer), mlp1 (1 hidden layer), mlp2 (2 hidden layers), and twin (one
  'class vs rest' net per class, each trained on its own disjoint share of the training users;
  the strongest response wins) -- scikit-learn MLPClassifier; logreg (logistic regression) and
  linsvm (linear SVM, probabilities by a logistic fit on the calibration users' margins) -- one
  linear layer; plus majority and first-name baselines for reference.
Input values (the model's feature spec, udfs.model): binary presence or tf-idf (sublinear tf,
idf of the fitting users, l2 per token family); linear models default to tf-idf, networks to presence.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import delta_io
from jobs.config import PROJECT_ROOT, PipelineConfig, config_from_cli
from jobs.split import is_calibration_user, is_test_user, wants_cross_validation
from jobs.targets import target_def
from jobs.token_mi import labelled_users
from jobs.texts import read_user_texts
from jobs.tokens import FEATURE_SEP, with_vocab_indices
from udfs import kernels
from udfs.arrow_adapter import csr_of_lists
from udfs.model import FEATURE_SPECS, NetworkModel, input_values, vocab_groups
from udfs.pyfunc import PyfuncNetwork

MODEL_KINDS = ("perceptron", "mlp1", "mlp2", "twin", "logreg", "linsvm")
DEFAULT_FEATURES = {"perceptron": "binary", "mlp1": "binary", "mlp2": "binary", "twin": "binary",
                    "logreg": "tfidf", "linsvm": "tfidf"}
GATE_METRIC = "macro_f1"


def mlflow_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI", f"sqlite:///{PROJECT_ROOT / 'var' / 'mlflow' / 'mlflow.db'}")


# ---------------------------------------------------------------- data
def feature_frame(texts: DataFrame, labelled: DataFrame, vocab: list[str], keep_texts: str = "test",
                  test_fold: int | None = None) -> DataFrame:
    """(user_id, label, full_name, is_test, is_calibration, indices, counts, biography, captions)
    of labelled users.

    indices/counts: positions in this vocab and how often each occurs; biography and captions are
    kept for test users only by default (they let another model with another vocab, the
    champion, be scored on the same users), for everyone with keep_texts='all' (a reference
    model reads the raw texts). With test_fold, `labelled` has a `fold` column and that fold is
    the test set."""
    test = is_test_user(F.col("user_id")) if test_fold is None else F.col("fold") == test_fold
    texts = texts.join(labelled, "user_id").select(
        "user_id", "label", "full_name", test.alias("is_test"),
        (~test & is_calibration_user(F.col("user_id"))).alias("is_calibration"), "biography", "captions")
    # One pass over the texts: they ride through the lookup, then only test users keep them.
    keep = ("user_id", "label", "full_name", "is_test", "is_calibration", "biography", "captions")
    indexed = with_vocab_indices(texts, vocab, keep=keep)
    kept = [F.col(c) if keep_texts == "all" else F.when(F.col("is_test"), F.col(c)).alias(c) for c in ("biography", "captions")]
    return indexed.select("user_id", "label", "full_name", "is_test", "is_calibration", "indices", "counts", *kept)


def to_csr(indices: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    return csr_of_lists(indices)


def csr_matrix(indices: pd.Series, width: int, counts: pd.Series | None = None, features: dict | None = None,
               idf: np.ndarray | None = None, groups: np.ndarray | None = None):
    """scipy CSR of the users' vocab positions: presence, or the values of a feature spec."""
    import scipy.sparse as sp

    offsets, values = to_csr(indices)
    data = np.ones(len(values), dtype=np.float64)
    if features is not None and features.get("weighting", "binary") != "binary":
        data = input_values(features, idf, offsets, values, to_csr(counts)[1] if counts is not None else None, groups)
    return sp.csr_matrix((data, values, offsets - offsets[0]), shape=(len(indices), width))


def fitted_idf(indices: pd.Series, width: int) -> np.ndarray:
    """Smoothed idf over these users: ln((1 + n) / (1 + users with the token)) + 1."""
    _, values = to_csr(indices)
    df = np.bincount(values, minlength=width).astype(np.float64)
    return np.log((1.0 + len(indices)) / (1.0 + df)) + 1.0


@dataclass
class Split:
    """One evaluation's users: `fit` trains the model, `calibration` sets thresholds and
    calibration, `test` is only scored. Frames hold label, indices, counts (and texts)."""
    fit: pd.DataFrame
    calibration: pd.DataFrame
    test: pd.DataFrame
    classes: list[str]

    def y(self, part: str) -> np.ndarray:
        return getattr(self, part)["label"].map({c: i for i, c in enumerate(self.classes)}).to_numpy()

    def X(self, part: str, vocab: list[str], features: dict, idf):
        frame = getattr(self, part)
        return csr_matrix(frame["indices"], len(vocab), frame["counts"], features, idf, vocab_groups(vocab, features))

    @property
    def majority(self) -> int:
        return int(np.bincount(np.concatenate([self.y("fit"), self.y("calibration")]),
                               minlength=len(self.classes)).argmax())


def holdout_split(data: pd.DataFrame, classes: list[str]) -> Split:
    train = data[~data["is_test"]]
    return Split(train[~train["is_calibration"]].reset_index(drop=True),
                 train[train["is_calibration"]].reset_index(drop=True),
                 data[data["is_test"]].reset_index(drop=True), classes)


# ---------------------------------------------------------------- models
def _mlp(hidden: tuple[int, ...], seed: int, max_iter: int):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=hidden, activation="relu", solver="adam", alpha=1e-4,
                         batch_size=512, learning_rate_init=1e-3, max_iter=max_iter, early_stopping=True,
                         validation_fraction=0.1, n_iter_no_change=3, tol=1e-4, random_state=seed)


def _layers(clf) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(w.astype(np.float64), b.astype(np.float64)) for w, b in zip(clf.coefs_, clf.intercepts_)]


def _log_loss(y, probs, n_classes) -> float:
    from sklearn.metrics import log_loss

    return float(log_loss(y, np.clip(probs, 1e-7, 1), labels=list(range(n_classes))))


def _linear_layer(coef: np.ndarray, intercept: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """sklearn's coef_ (k x d; 1 x d for two classes) as the one layer the numba kernels score:
    a logistic output of P(classes[1]) for one row, a softmax for k."""
    return [(np.ascontiguousarray(coef.T, dtype=np.float64), np.asarray(intercept, dtype=np.float64).ravel())]


def _fit_linear(kind: str, X_fit, y_fit, X_cal, y_cal, n_classes: int, seed: int) -> tuple[list, dict]:
    """logreg or linsvm, its regularisation strength C chosen by log loss on the calibration users.
    logreg is then refitted with that C on fitting and calibration users together (the
    calibration users' held-out probabilities, from the first fit, still set the threshold);
    linsvm keeps its first fit, whose calibration needs held-out margins."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    best = None
    grid = (0.5, 2.0, 8.0) if kind == "logreg" else (0.05, 0.2, 1.0)
    for C in grid:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if kind == "logreg":
                clf = LogisticRegression(C=C, max_iter=2000, random_state=seed).fit(X_fit, y_fit)
                layer = _linear_layer(clf.coef_, clf.intercept_)
            else:
                clf = LinearSVC(C=C, random_state=seed).fit(X_fit, y_fit)
                layer = _platt(clf.coef_, clf.intercept_, X_cal, y_cal)
        held_out = _csr_probs(layer, X_cal, n_classes)
        loss = _log_loss(y_cal, held_out, n_classes)
        if best is None or loss < best[0]:
            best = (loss, C, layer, clf, held_out)
    loss, C, layer, clf, held_out = best
    if kind == "logreg":
        import scipy.sparse as sp

        clf = LogisticRegression(C=C, max_iter=2000, random_state=seed).fit(sp.vstack([X_fit, X_cal]),
                                                                            np.concatenate([y_fit, y_cal]))
        layer = _linear_layer(clf.coef_, clf.intercept_)
    return layer, {"C": C, "calibration_log_loss": loss, "C_grid": list(grid), "sklearn": clf,
                   "calibration_probs": held_out}


def _csr_probs(layers, X, n_classes: int) -> np.ndarray:
    """A network's probabilities for a scipy CSR matrix of input values, by the numba scorer."""
    return kernels.predict_network(X.indptr, X.indices, layers, n_classes, X.data)


def _platt(coef, intercept, X_cal, y_cal) -> list[tuple[np.ndarray, np.ndarray]]:
    """The SVM's margins turned into probabilities by a logistic fit on the calibration users;
    an affine map of a linear layer is still one linear layer."""
    from sklearn.linear_model import LogisticRegression

    margins = X_cal @ coef.T + intercept
    cal = LogisticRegression(C=1e4, max_iter=2000).fit(margins, y_cal)
    # logits = (X W + b) A^T + c  =  X (W A^T) + (b A^T + c)
    w = coef.T @ cal.coef_.T
    b = intercept @ cal.coef_.T + cal.intercept_
    return [(np.ascontiguousarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64).ravel())]


def train_model(kind: str, split: Split, vocab: list[str], hidden: int, seed: int, max_iter: int,
                features: str | None = None) -> tuple[NetworkModel, dict]:
    """Fit one model family and its idf on split.fit (C and calibration on split.calibration)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    classes = split.classes
    spec = dict(FEATURE_SPECS[features or DEFAULT_FEATURES[kind]])
    idf = fitted_idf(split.fit["indices"], len(vocab)) if spec["weighting"] != "binary" else None
    X, y = split.X("fit", vocab, spec, idf), split.y("fit")
    present = np.unique(y)
    if len(present) != len(classes):
        raise ValueError(f"training data lacks classes: has {present.tolist()} of {len(classes)}")
    info: dict = {"features": spec["weighting"]}
    if kind in ("logreg", "linsvm"):
        layer, fit_info = _fit_linear(kind, X, y, split.X("calibration", vocab, spec, idf), split.y("calibration"),
                                      len(classes), seed)
        info.update(fit_info, hidden=[], epochs=0)
        return NetworkModel(classes, "network", [layer], vocab, features=spec, idf=idf), info
    sizes = {"perceptron": (), "mlp1": (hidden,), "mlp2": (hidden, max(2, hidden // 2)), "twin": (hidden,)}[kind]
    info["hidden"] = list(sizes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if kind == "twin":
            # Each class's net learns 'this class vs rest' on its own disjoint share of users.
            ids = split.fit["user_id"].to_numpy()
            share = (ids.astype(np.uint64) * np.uint64(2654435761) % np.uint64(2**32)) % np.uint64(len(classes))
            nets, epochs = [], []
            for c in range(len(classes)):
                rows = np.flatnonzero(share == c)
                clf = _mlp(sizes, seed + c, max_iter).fit(X[rows], (y[rows] == c).astype(int))
                nets.append(_layers(clf))
                epochs.append(clf.n_iter_)
            info["epochs"] = epochs
            return NetworkModel(classes, "twin", nets, vocab, features=spec, idf=idf), info
        clf = _mlp(sizes, seed, max_iter).fit(X, y)
    info["epochs"] = clf.n_iter_
    info["sklearn"] = clf
    return NetworkModel(classes, "network", [_layers(clf)], vocab, features=spec, idf=idf), info


def split_probs(model: NetworkModel, frame: pd.DataFrame) -> np.ndarray:
    """The model's probabilities for a split's users, through the numba scorer."""
    offsets, indices = to_csr(frame["indices"])
    return model.predict_csr(offsets, indices, to_csr(frame["counts"])[1])


def name_baseline(full_names: pd.Series, classes: list[str], majority: int) -> np.ndarray:
    """Probabilities from gender-guesser's first-name dictionary (gender target only)."""
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


# ---------------------------------------------------------------- evaluation
def evaluate(y: np.ndarray, probs: np.ndarray, classes: list[str]) -> dict:
    from sklearn import metrics

    pred = probs.argmax(axis=1)
    labels = list(range(len(classes)))
    p, r, f, s = metrics.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    out = {"accuracy": metrics.accuracy_score(y, pred), "macro_f1": metrics.f1_score(y, pred, average="macro", labels=labels),
           "log_loss": metrics.log_loss(y, np.clip(probs, 1e-7, 1), labels=labels), "ece": expected_calibration_error(y, probs),
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


def figures(y, probs, classes, folder: Path, title: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import ConfusionMatrixDisplay

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    fig, ax = plt.subplots(figsize=(4 + 0.3 * len(classes), 4 + 0.3 * len(classes)))
    ConfusionMatrixDisplay.from_predictions(y, probs.argmax(axis=1), labels=list(range(len(classes))),
                                            display_labels=classes, ax=ax, colorbar=False)
    ax.set_title(f"{title}: confusion matrix")
    paths.append(folder / "confusion_matrix.png"); fig.savefig(paths[-1], dpi=80, bbox_inches="tight"); plt.close(fig)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    conf = probs.max(axis=1)
    frac, mean = calibration_curve((probs.argmax(axis=1) == y).astype(int), conf, n_bins=10, strategy="quantile")
    ax.plot([0, 1], [0, 1], "k:", label="perfect")
    ax.plot(mean, frac, "o-", label=title)
    ax.set_xlabel("confidence"); ax.set_ylabel("accuracy"); ax.set_title("reliability"); ax.legend()
    paths.append(folder / "reliability.png"); fig.savefig(paths[-1], dpi=80, bbox_inches="tight"); plt.close(fig)
    curve = coverage_curve(y, probs)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.plot(curve["coverage"], curve["accuracy"])
    ax.set_xlabel("coverage (share not left uncertain)"); ax.set_ylabel("accuracy"); ax.set_title("accuracy vs coverage")
    paths.append(folder / "accuracy_vs_coverage.png"); fig.savefig(paths[-1], dpi=80, bbox_inches="tight"); plt.close(fig)
    return paths


def network_svg(model: NetworkModel, path: Path, heavy: float = 0.8, max_inputs: int = 60) -> Path:
    """The seed's picture: links with |w| > heavy, positive blue, negative red, opacity by weight."""
    net = model.nets[0]
    layers_w = [w for w, _ in net]
    strength = np.abs(layers_w[0]).max(axis=1)
    inputs = [i for i in np.argsort(-strength)[:max_inputs] if strength[i] > heavy]
    sizes = [len(inputs)] + [w.shape[1] for w in layers_w]
    height = max(300, 14 * max(sizes) + 40)
    xs = [80 + 260 * i for i in range(len(sizes))]

    def ys(n):
        return [20 + (height - 40) * (k + 0.5) / max(n, 1) for k in range(n)]

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{xs[-1] + 120}" height="{height}" font-size="9">']
    maxw = max(float(np.abs(w).max()) for w in layers_w) or 1.0

    def line(x1, y1, x2, y2, w):
        color = "#1f4fd6" if w > 0 else "#d62728"
        alpha = 0.25 + 0.75 * min(1.0, (abs(w) - heavy) / max(maxw - heavy, 1e-9))
        return f'<line x1="{x1}" y1="{y1:.1f}" x2="{x2}" y2="{y2:.1f}" stroke="{color}" stroke-opacity="{alpha:.2f}"/>'

    prev_rows, prev_y = inputs, ys(len(inputs))
    for l, w in enumerate(layers_w):
        cur_y = ys(w.shape[1])
        for a, i in enumerate(prev_rows):
            for j in range(w.shape[1]):
                if abs(w[i, j]) > heavy:
                    parts.append(line(xs[l], prev_y[a], xs[l + 1], cur_y[j], float(w[i, j])))
        prev_rows, prev_y = list(range(w.shape[1])), cur_y
    for l, n in enumerate(sizes):
        for k, y in enumerate(ys(n)):
            parts.append(f'<circle cx="{xs[l]}" cy="{y:.1f}" r="3" fill="#444"/>')
            if l == 0:
                label = model.vocab[inputs[k]].replace(FEATURE_SEP, ":").replace("&", "&amp;").replace("<", "&lt;")
                parts.append(f'<text x="{xs[0] - 6}" y="{y + 3:.1f}" text-anchor="end">{label}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


# ---------------------------------------------------------------- MLflow and the gate
def champion_score(model_name: str, test: pd.DataFrame, classes: list[str]) -> tuple[float | None, str | None]:
    """The current champion's gate metric on this test set (scored from the users' texts), if any."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    try:
        version = client.get_model_version_by_alias(model_name, "champion")
    except MlflowException:
        return None, None
    champion = mlflow.pyfunc.load_model(f"models:/{model_name}@champion")
    out = champion.predict(test[["biography", "full_name", "captions"]])
    probs = out[[f"p_{c}" for c in classes]].to_numpy()
    y = test["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    return evaluate(y, probs, classes)[GATE_METRIC], version.version


def log_and_gate(model: NetworkModel, kind: str, params: dict, metrics: dict, artifacts: list[Path], test: pd.DataFrame,
                 register_as: str | None) -> dict:
    """Log one model's run; if register_as, register it and move 'champion' only if it beats the champion."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        folder = model.save(Path(tmp) / "network")
        pd.DataFrame({"index": range(len(model.vocab)), "feature": model.vocab}).to_csv(Path(tmp) / "vocab.csv", index=False)
        with mlflow.start_run(run_name=f"{params['target']}-{kind}") as run:
            mlflow.log_params({k: v for k, v in params.items()})
            mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
            mlflow.log_artifact(str(Path(tmp) / "vocab.csv"))
            for a in artifacts:
                mlflow.log_artifact(str(a))
            result = {"run_id": run.info.run_id, "kind": kind}
            if register_as is None:
                return result
            old_score, old_version = champion_score(register_as, test, model.classes)
            info = mlflow.pyfunc.log_model(name="model", python_model=PyfuncNetwork(),
                                           artifacts={"network": str(folder)}, registered_model_name=register_as)
            version = str(info.registered_model_version)
            client = mlflow.MlflowClient()
            new_score = metrics[GATE_METRIC]
            if old_score is None or new_score > old_score:
                client.set_registered_model_alias(register_as, "champion", version)
                why = (f"{GATE_METRIC} {new_score:.4f} > champion v{old_version} {old_score:.4f} on the same test set"
                       if old_score is not None else "first model: becomes champion")
                alias = "champion"
            else:
                client.set_registered_model_alias(register_as, "challenger", version)
                why = (f"{GATE_METRIC} {new_score:.4f} does not beat champion v{old_version} {old_score:.4f} "
                       "on the same test set: left as challenger")
                alias = "challenger"
            client.set_model_version_tag(register_as, version, "gate", why)
            mlflow.set_tag("gate", why)
            result.update(version=version, alias=alias, gate=why, model_uri=f"models:/{register_as}/{version}")
            return result


def fit_and_evaluate(kind: str, split: Split, vocab: list[str], hidden: int, seed: int, max_iter: int,
                     min_accuracy: float, features: str | None = None) -> tuple[NetworkModel, dict, np.ndarray, dict]:
    """Fit on split.fit, set the 'uncertain' threshold on split.calibration, score split.test:
    (model, test metrics, test probabilities, fit info)."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; known: {MODEL_KINDS}")
    started = dt.datetime.now()
    model, info = train_model(kind, split, vocab, hidden, seed, max_iter, features)
    seconds = (dt.datetime.now() - started).total_seconds()
    # The calibration users' probabilities from a model that did not see them.
    held_out = info.pop("calibration_probs", None)
    if held_out is None and len(split.calibration):
        held_out = split_probs(model, split.calibration)
    model.threshold = threshold_for(coverage_curve(split.y("calibration"), held_out), min_accuracy) if len(split.calibration) else 0.0
    probs = split_probs(model, split.test)
    metrics = evaluate(split.y("test"), probs, split.classes)
    confidence = probs.max(axis=1)
    kept = confidence >= model.threshold
    metrics.update(train_seconds=seconds, uncertain_threshold=model.threshold,
                   coverage_at_threshold=float(kept.mean()) if len(kept) else 0.0,
                   accuracy_at_threshold=float((probs.argmax(axis=1) == split.y("test"))[kept].mean()) if kept.any() else float("nan"))
    return model, metrics, probs, info


def baselines(split: Split, target_has_names: bool) -> dict[str, dict]:
    y_test, k = split.y("test"), len(split.classes)
    table = {"majority": evaluate(y_test, np.eye(k)[np.full(len(y_test), split.majority)] * (1 - 2e-6) + 1e-6, split.classes)}
    if target_has_names:
        table["name_baseline"] = evaluate(y_test, name_baseline(split.test["full_name"], split.classes, split.majority),
                                          split.classes)
    return table


def labelled_feature_data(spark: SparkSession, config: PipelineConfig, tdef, features: list[str], max_users: int,
                          keep_texts: str = "test") -> pd.DataFrame:
    """Every labelled user's vocab positions and counts, split flags (and texts), ordered by id."""
    labelled = labelled_users(delta_io.read_table(spark, config, "labels"), tdef)
    n_labelled = labelled.count()
    if n_labelled > max_users:  # a deterministic sample by user id, so reruns train on the same users
        keep = int(1_000_000 * max_users / n_labelled)
        labelled = labelled.where(F.pmod(F.xxhash64(F.lit("sample-v1"), "user_id"), F.lit(1_000_000)) < keep)
    return feature_frame(read_user_texts(spark, config), labelled, features, keep_texts).orderBy("user_id").toPandas()


def set_experiment(target: str, experiment: str | None) -> None:
    import mlflow

    mlflow.set_tracking_uri(mlflow_uri())
    Path(PROJECT_ROOT / "var" / "mlflow").mkdir(parents=True, exist_ok=True)
    experiment = experiment or f"demographics-{target}"
    if mlflow.get_experiment_by_name(experiment) is None:
        mlflow.create_experiment(experiment, artifact_location=str(PROJECT_ROOT / "var" / "mlflow" / "artifacts" / target))
    mlflow.set_experiment(experiment)


def run(spark: SparkSession, config: PipelineConfig, target: str = "gender", vocab_version: str | None = None,
        models: tuple[str, ...] = ("mlp1",), register: str = "mlp1", hidden: int = 64, max_iter: int = 30,
        max_users: int = 600_000, seed: int = 0, min_accuracy: float = 0.9, with_baselines: bool = True,
        experiment: str | None = None, features: str | None = None, report_dir: str | None = None) -> dict:
    tdef = target_def(target)
    classes = list(tdef.classes)
    vocab_all = delta_io.read_table(spark, config, "vocab").where(F.col("target") == target)
    if vocab_version is None:
        latest = vocab_all.where(F.col("version").contains("-hashtag-")).agg(F.max("version")).first()[0]
        if latest is None:
            raise RuntimeError(f"no vocab for target {target!r}: run the token_mi job first")
        vocab_version = latest
    vocab = vocab_all.where(F.col("version") == vocab_version)
    vocab_pd = vocab.orderBy("index").select("family", "token").toPandas()
    vocab_features = [f"{f}{FEATURE_SEP}{t}" for f, t in zip(vocab_pd["family"], vocab_pd["token"])]
    data = labelled_feature_data(spark, config, tdef, vocab_features, max_users)
    split = holdout_split(data, classes)
    set_experiment(target, experiment)
    base_params = {"target": target, "vocab_version": vocab_version, "vocab_size": len(vocab_features),
                   "n_fit": len(split.fit), "n_calibration": len(split.calibration), "n_test": len(split.test),
                   "seed": seed, "run_date": str(config.run_date)}
    table: dict[str, dict] = baselines(split, tdef.name == "gender") if with_baselines else {}
    results = {}
    report_root = Path(report_dir or PROJECT_ROOT / "reports") / target / str(config.run_date)
    for kind in models:
        model, metrics, probs, info = fit_and_evaluate(kind, split, vocab_features, hidden, seed, max_iter,
                                                       min_accuracy, features)
        curve = coverage_curve(split.y("test"), probs)
        model.meta = {"kind": kind, "vocab_version": vocab_version, "run_date": str(config.run_date)}
        folder = report_root / kind
        arts = figures(split.y("test"), probs, classes, folder, kind) + [network_svg(model, folder / "network.svg")]
        curve.iloc[:: max(1, len(curve) // 200)].to_csv(folder / "accuracy_vs_coverage.csv", index=False)
        arts.append(folder / "accuracy_vs_coverage.csv")
        for chart in (report_root / "top_tokens.png", report_root / "top_by_mi.csv"):
            if chart.exists():
                arts.append(chart)
        params = {**base_params, "model": kind, "features": info["features"], "hidden": json.dumps(info["hidden"]),
                  "max_iter": max_iter, "epochs": json.dumps(info["epochs"]), **({"C": info["C"]} if "C" in info else {})}
        results[kind] = log_and_gate(model, kind, params, metrics, arts, split.test, target if kind == register else None)
        results[kind].update(sklearn=info.get("sklearn"), model=model)
        table[kind] = metrics
    n_labelled = len(data)
    return {"vocab_version": vocab_version, "n_train": len(split.fit) + len(split.calibration), "n_test": len(split.test),
            "metrics": table, "evaluation": ("one 10% test split of fewer than 1,000 users: a noisy draw; "
                                             "jobs.cross_validation gives mean and spread over folds")
            if wants_cross_validation(n_labelled) else "10% test split",
            "runs": {k: {kk: vv for kk, vv in v.items() if kk not in ("sklearn", "model")} for k, v in results.items()},
            "_models": results, "_test": split.test, "_fit": split.fit}


def champion_age_days(target: str, today: dt.date) -> int | None:
    """Days since the champion's training night, or None without a champion."""
    import mlflow
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(mlflow_uri())
    try:
        version = mlflow.MlflowClient().get_model_version_by_alias(target, "champion")
    except MlflowException:
        return None
    trained = dt.datetime.fromtimestamp(version.creation_timestamp / 1000, dt.timezone.utc).date()
    return (today - trained).days


def format_table(metrics: dict[str, dict]) -> str:
    cols = ["accuracy", "macro_f1", "roc_auc", "log_loss", "ece", "train_seconds"]
    lines = ["| model | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for name, m in metrics.items():
        lines.append(f"| {name} | " + " | ".join(f"{m.get(c, float('nan')):.3f}" for c in cols) + " |")
    return "\n".join(lines)


@click.command()
@click.option("--target", default="gender", show_default=True)
@click.option("--vocab-version", default=None, help="Default: the newest hashtag vocab of the target.")
@click.option("--models", default="mlp1", show_default=True, help=f"Comma list of {','.join(MODEL_KINDS)} or 'all'.")
@click.option("--register", default="mlp1", show_default=True, help="Which of them is registered and gated.")
@click.option("--hidden", default=64, show_default=True)
@click.option("--max-iter", default=30, show_default=True)
@click.option("--max-users", default=600_000, show_default=True)
@click.option("--features", type=click.Choice(sorted(FEATURE_SPECS)), default=None,
              help="Input values: binary presence or tf-idf. Default: tfidf for logreg/linsvm, binary for networks.")
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--warehouse", default=None)
@click.option("--force-retrain", type=bool, default=True, show_default=True,
              help="False: skip when the champion is younger than --retrain-days.")
@click.option("--retrain-days", default=7, show_default=True)
@click.option("--min-accuracy", type=click.FloatRange(0.5, 1.0), default=0.9, show_default=True,
              help="Accuracy the labelled users must reach; less confident users become 'uncertain'.")
def main(target, vocab_version, models, register, hidden, max_iter, max_users, features, run_date, warehouse,
         force_retrain, retrain_days, min_accuracy):
    from jobs.spark_session import start_spark

    cfg = config_from_cli(run_date=run_date, warehouse=warehouse)
    age = champion_age_days(target, cfg.run_date)
    if not force_retrain and age is not None and age < retrain_days:
        click.echo(f"champion of {target!r} is {age} days old (< {retrain_days}): not retraining")
        return
    kinds = MODEL_KINDS if models == "all" else tuple(models.split(","))
    out = run(start_spark("train"), cfg, target=target, vocab_version=vocab_version, models=kinds, register=register,
              hidden=hidden, max_iter=max_iter, max_users=max_users, min_accuracy=min_accuracy, features=features)
    click.echo(format_table(out["metrics"]))
    click.echo(json.dumps(out["runs"], indent=1))


if __name__ == "__main__":
    main()
