"""Train, evaluate and register a target's models in MLflow, with a champion gate.

Defaults come from the target's definition (jobs.targets): model family, hidden units, the vocab
family whose newest vocab it reads, the accuracy below which users are 'uncertain', baselines.
Training set (jobs.training_set): labelled users' tokens in that vocab, split into fitting,
calibration and test users; evaluation (jobs.evaluation), registry and gate (jobs.registry),
figures (jobs.reports) live beside it. Models and their idf are fitted on the remaining training users; the
regularisation strength, the SVM's probability calibration and the 'uncertain' threshold on the
calibration users; test users are only scored. The vocab comes from token_mi, which ranks training users only.

Models (weights exported as plain arrays for the numba scorer):
  perceptron (no hidden layer), mlp1 (1 hidden layer), mlp2 (2 hidden layers), and twin (one
  'class vs rest' net per class, each trained on its own disjoint share of the training users;
  the strongest response wins) -- scikit-learn MLPClassifier; logreg (logistic regression) and
  linsvm (linear SVM, probabilities by a logistic fit on the calibration users' margins) -- one
  linear layer; gbdt (LightGBM gradient-boosted trees, for numeric feature sets) -- node arrays; plus the target's baselines for reference. twin is for binary targets only
  (jobs.targets.BINARY_ONLY_FAMILIES says why).
Input values (the model's feature spec, udfs.model): binary presence or tf-idf (sublinear tf,
idf of the fitting users, l2 per token family); linear models default to tf-idf, networks to presence.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from runtime import delta_io
from runtime.config import PROJECT_ROOT, PipelineConfig, config_from_cli
from jobs.evaluation import (abstention_thresholds, baselines, coverage_curve, cross_fitted_probs, evaluate,
                             format_table, kept_mask,
                             per_class_at_thresholds)
from jobs.quantification import matrices as quantification_matrices
from jobs.registry import keep_champion_reason, log_and_gate, set_experiment
from jobs.reports import figures, network_svg, tree_splits_csv
from jobs.split import wants_cross_validation
from jobs.targets import MODEL_FAMILIES, PLAIN_TARGET, TargetDef, target_def
from runtime.task_summary import echo_summary
from jobs.tokens import FEATURE_SEP
from jobs.training_set import Split, holdout_split, labelled_feature_data
from udfs import kernels
from udfs.feature_sets import TextTokens, feature_set
from udfs.model import FEATURE_SPECS, NetworkModel

MODEL_KINDS = MODEL_FAMILIES

DEFAULT_FEATURES = {"perceptron": "binary", "mlp1": "binary", "mlp2": "binary", "twin": "binary",
                    "logreg": "tfidf", "linsvm": "tfidf", "gbdt": "raw"}


GBDT_PARAMS = dict(learning_rate=0.05, num_leaves=15, min_child_samples=10, subsample=0.8, subsample_freq=1,
                   colsample_bytree=0.8, reg_lambda=1.0, verbose=-1)


def _fit_gbdt(X_fit, y_fit, X_cal, y_cal, n_classes: int, seed: int, max_iter: int,
              class_balance: float = 0.0) -> tuple[dict, dict]:
    """LightGBM on numbers as they are (missing values NaN, sent each split's learnt way). Its
    rounds (up to 10 x max_iter) by 5-fold cross-validation on fitting and calibration users
    together: early stopping on the calibration users alone (~100 of InstaFake's training
    users) stopped too soon. The calibration users' probabilities come from a fit without
    them and set the threshold; the model shipped is refitted on all of them."""
    import lightgbm as lgb
    import scipy.sparse as sp

    from udfs.trees import lightgbm_arrays

    dense = (lambda X: np.asarray(X.toarray(), dtype=np.float64))
    X_all = dense(sp.vstack([X_fit, X_cal]).tocsr()) if len(y_cal) else dense(X_fit)
    y_all = np.concatenate([y_fit, y_cal])
    w_all = class_weights(y_all, n_classes, class_balance)
    objective = {"objective": "binary"} if n_classes == 2 else {"objective": "multiclass", "num_class": n_classes}
    history = lgb.cv({**GBDT_PARAMS, **objective, "seed": seed, "num_threads": 2},
                     lgb.Dataset(X_all, y_all, weight=w_all), num_boost_round=10 * max_iter, nfold=5,
                     stratified=True, seed=seed, callbacks=[lgb.early_stopping(30, verbose=False)])
    rounds = max(1, len(next(iter(history.values()))))

    def model():
        return lgb.LGBMClassifier(n_estimators=rounds, random_state=seed, n_jobs=2, **GBDT_PARAMS)

    held_out = None
    if len(y_cal):
        first = model().fit(dense(X_fit), y_fit, sample_weight=class_weights(y_fit, n_classes, class_balance))
        held_out = np.zeros((len(y_cal), n_classes))
        held_out[:, first.classes_] = first.predict_proba(dense(X_cal))
    clf = model().fit(X_all, y_all, sample_weight=w_all)
    if len(clf.classes_) != n_classes:
        raise ValueError(f"training data lacks classes: has {clf.classes_.tolist()} of {n_classes}")
    trees = lightgbm_arrays(clf.booster_.dump_model())
    return trees, {"rounds": rounds, "leaves": int((trees["feature"] < 0).sum()), "sklearn": clf,
                   "calibration_probs": held_out}


def _mlp(hidden: tuple[int, ...], seed: int, max_iter: int, n_users: int):
    """Adam in batches of 512, or of ~1/20 of the users when fewer than 10,240 (at least 32): a
    few hundred labelled users in one batch get one step per epoch, and early stopping ends a
    barely moved network."""
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=hidden, activation="relu", solver="adam", alpha=1e-4,
                         batch_size=int(min(512, max(32, n_users // 20))), learning_rate_init=1e-3, max_iter=max_iter, early_stopping=True,
                         validation_fraction=0.1, n_iter_no_change=3, tol=1e-4, random_state=seed)

ABSENT_CLASS_BIAS = -50.0  # the output of a class no fitting user had: exp(-50) is ~0 next to any other


def with_every_class(layers: list[tuple[np.ndarray, np.ndarray]], fitted: np.ndarray, n_classes: int):
    """A softmax network fitted on some classes (`fitted`: their indices) widened to all of them."""
    if len(fitted) == n_classes:
        return layers
    w, b = layers[-1]
    wide_w = np.zeros((w.shape[0], n_classes))
    wide_b = np.full(n_classes, ABSENT_CLASS_BIAS)
    wide_w[:, fitted], wide_b[fitted] = w, b
    return [*layers[:-1], (wide_w, wide_b)]


def _layers(clf, n_classes: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    layers = [(w.astype(np.float64), b.astype(np.float64)) for w, b in zip(clf.coefs_, clf.intercepts_)]
    return with_every_class(layers, clf.classes_, n_classes) if n_classes else layers

def _log_loss(y, probs, n_classes) -> float:
    from sklearn.metrics import log_loss

    return float(log_loss(y, np.clip(probs, 1e-7, 1), labels=list(range(n_classes))))

def _linear_layer(coef: np.ndarray, intercept: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """sklearn's coef_ (k x d; 1 x d for two classes) as the one layer the numba kernels score:
    a logistic output of P(classes[1]) for one row, a softmax for k."""
    return [(np.ascontiguousarray(coef.T, dtype=np.float64), np.asarray(intercept, dtype=np.float64).ravel())]

def correction_users(y: np.ndarray, probs: np.ndarray, ids: np.ndarray, panel: set[int],
                     strata_weights: dict[int, float] | None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str, np.ndarray]:
    """(labels, probabilities, weights, what they are, user ids) of the users the correction
    matrix is measured on, from the held-out and out-of-fold users given: the panel's when it has
    any (unweighted: a random sample is the population's), else all of them, weighted by strata."""
    if panel:
        keep = np.isin(ids, np.fromiter(panel, dtype=np.int64, count=len(panel)))
        if keep.any():
            return y[keep], probs[keep], None, f"panel ({int(keep.sum())} users)", ids[keep]
    if strata_weights is not None:
        return y, probs, np.array([strata_weights.get(int(u), 1.0) for u in ids]), "stratified sample, reweighted", ids
    return y, probs, None, "held-out and out-of-fold users", ids


def held_out_arrays(y: np.ndarray, probs: np.ndarray, weights: np.ndarray | None, ids: np.ndarray) -> dict[str, np.ndarray]:
    """The correction's users as arrays (udfs.model.HELD_OUT_FILE), for the corrections the
    audience job builds from two models (jobs.quantification.fakes_first)."""
    return {"user_id": np.asarray(ids, dtype=np.int64), "y": np.asarray(y, dtype=np.int64),
            "probabilities": np.asarray(probs, dtype=np.float64),
            "weight": np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64),
            "weighted": np.array(weights is not None)}


def class_weights(y: np.ndarray, n_classes: int, balance: float) -> np.ndarray | None:
    """Per-user weights (1 / class share) ** balance, mean 1: 0 leaves the classes as they come,
    1 weighs every class alike; None when there is nothing to reweigh."""
    if not balance:
        return None
    share = np.bincount(y, minlength=n_classes) / len(y)
    w = np.where(share > 0, share, 1.0)[y] ** -balance
    return w / w.mean()


def _fit_linear(kind: str, X_fit, y_fit, X_cal, y_cal, n_classes: int, seed: int,
                class_balance: float = 0.0) -> tuple[list, dict]:
    """logreg or linsvm, its regularisation strength C chosen by log loss on the calibration users.
    logreg is then refitted with that C on fitting and calibration users together (the
    calibration users' held-out probabilities, from the first fit, still set the threshold);
    linsvm keeps its first fit, whose calibration needs held-out margins."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    best = None
    weights = class_weights(y_fit, n_classes, class_balance)
    grid = (0.5, 2.0, 8.0) if kind == "logreg" else (0.05, 0.2, 1.0)
    for C in grid:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if kind == "logreg":
                clf = LogisticRegression(C=C, max_iter=2000, random_state=seed).fit(X_fit, y_fit, sample_weight=weights)
                layer = with_every_class(_linear_layer(clf.coef_, clf.intercept_), clf.classes_, n_classes)
            else:
                clf = LinearSVC(C=C, random_state=seed).fit(X_fit, y_fit, sample_weight=weights)
                layer = _platt(clf.coef_, clf.intercept_, X_cal, y_cal)
        held_out = _csr_probs(layer, X_cal, n_classes)
        loss = _log_loss(y_cal, held_out, n_classes)
        if best is None or loss < best[0]:
            best = (loss, C, layer, clf, held_out)
    loss, C, layer, clf, held_out = best
    if kind == "logreg":
        import scipy.sparse as sp

        y_all = np.concatenate([y_fit, y_cal])
        clf = LogisticRegression(C=C, max_iter=2000, random_state=seed).fit(
            sp.vstack([X_fit, X_cal]), y_all, sample_weight=class_weights(y_all, n_classes, class_balance))
        layer = with_every_class(_linear_layer(clf.coef_, clf.intercept_), clf.classes_, n_classes)
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
                features: str | None = None, tdef: TargetDef = PLAIN_TARGET) -> tuple[NetworkModel, dict]:
    """Fit one model family and the target's feature set (idf; means and deviations) on split.fit
    (C and calibration on split.calibration), its classes weighed by the target's class_balance.
    `features`: text tokens' weighting. A target reading only the newest captions has training
    rows cut so already; the model carries the number so that scoring cuts the same."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    classes = split.classes
    chosen = feature_set(tdef.feature_set)
    if chosen is TextTokens:
        spec = dict(FEATURE_SPECS[features or DEFAULT_FEATURES[kind]])
    else:  # trees read numbers as they are; networks and linear models standardised
        spec = {"weighting": "raw" if kind == "gbdt" else "standardised"}
    if tdef.recent_captions and chosen is TextTokens:
        spec["recent_captions"] = tdef.recent_captions
    spec, idf = chosen.fit(split.fit, vocab, spec)
    unfitted = NetworkModel(classes, "network", [], vocab, features=spec, idf=idf)  # featurises as scoring will
    X, y = split.X("fit", unfitted), split.y("fit")
    present = np.unique(y)
    # A night may bring no label of a rare class (a small country): a softmax network or logreg
    # still learns the others, the absent ones kept at probability ~0 (always 'uncertain').
    can_lack = len(classes) > 2 and len(present) > 2 and kind in ("perceptron", "mlp1", "mlp2", "logreg")
    if len(present) != len(classes) and not can_lack:
        raise ValueError(f"training data lacks classes: has {present.tolist()} of {len(classes)}")
    info: dict = {"features": spec["weighting"], "feature_set": spec["set"]}
    if kind == "gbdt":
        trees, fit_info = _fit_gbdt(X, y, split.X("calibration", unfitted), split.y("calibration"), len(classes),
                                    seed, max_iter, tdef.class_balance)
        info.update(fit_info, hidden=[], epochs=fit_info["rounds"])
        return NetworkModel(classes, "trees", [], vocab, features=spec, idf=idf, trees=trees), info
    if kind in ("logreg", "linsvm"):
        layer, fit_info = _fit_linear(kind, X, y, split.X("calibration", unfitted), split.y("calibration"),
                                      len(classes), seed, tdef.class_balance)
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
                clf = _mlp(sizes, seed + c, max_iter, len(rows)).fit(X[rows], (y[rows] == c).astype(int))
                nets.append(_layers(clf))
                epochs.append(clf.n_iter_)
            info["epochs"] = epochs
            return NetworkModel(classes, "twin", nets, vocab, features=spec, idf=idf), info
        clf = _mlp(sizes, seed, max_iter, len(y)).fit(X, y, sample_weight=class_weights(y, len(classes), tdef.class_balance))
    info["epochs"] = clf.n_iter_
    info["sklearn"] = clf
    return NetworkModel(classes, "network", [_layers(clf, len(classes))], vocab, features=spec, idf=idf), info

def split_probs(model: NetworkModel, frame: pd.DataFrame) -> np.ndarray:
    """The model's probabilities for a split's users, through the numba scorer."""
    return model.predict_rows(frame)[0]

def cross_fitted_training_probs(kind: str, split: Split, vocab: list[str], hidden: int, seed: int, max_iter: int,
                                features: str | None, tdef: TargetDef) -> tuple[np.ndarray, np.ndarray]:
    """(labels, probabilities) of every fitting and calibration user, each scored by one of
    tdef.threshold_folds models of the same family fitted without the user's fold."""
    frames = {"fit": split.fit, "calibration": split.calibration}
    pool = pd.concat(list(frames.values()), ignore_index=True)
    part = np.repeat(list(frames), [len(f) for f in frames.values()])

    def fit_and_score(train_rows: np.ndarray, score_rows: np.ndarray) -> np.ndarray:
        sub = Split(pool[train_rows & (part == "fit")].reset_index(drop=True),
                    pool[train_rows & (part == "calibration")].reset_index(drop=True),
                    pool[score_rows].reset_index(drop=True), split.classes)
        fold_model, _ = train_model(kind, sub, vocab, hidden, seed, max_iter, features, tdef)
        return split_probs(fold_model, sub.test)

    probs = cross_fitted_probs(pool["user_id"].to_numpy(), tdef.threshold_folds, fit_and_score)
    return np.concatenate([split.y("fit"), split.y("calibration")]), probs

def fit_and_evaluate(kind: str, split: Split, vocab: list[str], hidden: int, seed: int, max_iter: int,
                     min_accuracy: float, features: str | None = None,
                     tdef: TargetDef = PLAIN_TARGET) -> tuple[NetworkModel, dict, np.ndarray, dict]:
    """Fit on split.fit, set the 'uncertain' threshold(s) on split.calibration by the target's
    abstention rule at level min_accuracy, score split.test: (model, test metrics, test
    probabilities, fit info)."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; known: {MODEL_KINDS}")
    started = dt.datetime.now()
    model, info = train_model(kind, split, vocab, hidden, seed, max_iter, features, tdef)
    seconds = (dt.datetime.now() - started).total_seconds()
    # The calibration users' probabilities from a model that did not see them.
    held_out = info.pop("calibration_probs", None)
    if tdef.threshold_folds:
        y_held, held_out = cross_fitted_training_probs(kind, split, vocab, hidden, seed, max_iter, features, tdef)
        info["threshold_users"] = len(y_held)
        info["out_of_fold"] = (y_held, held_out)
    else:
        y_held = split.y("calibration")
        if held_out is None and len(split.calibration):
            held_out = split_probs(model, split.calibration)
    model.threshold = (abstention_thresholds(tdef.abstention, y_held, held_out, min_accuracy)
                       if len(y_held) else 0.0)
    probs = split_probs(model, split.test)
    metrics = evaluate(split.y("test"), probs, split.classes)
    kept = kept_mask(probs, model.threshold)
    metrics.update(train_seconds=seconds, uncertain_threshold=model.threshold,
                   coverage_at_threshold=float(kept.mean()) if len(kept) else 0.0,
                   accuracy_at_threshold=float((probs.argmax(axis=1) == split.y("test"))[kept].mean()) if kept.any() else float("nan"))
    if tdef.abstention == "class_precision":  # thresholds set on calibration users, reported on test users
        metrics["per_class_at_thresholds"] = per_class_at_thresholds(split.y("test"), probs, model.threshold, split.classes)
    return model, metrics, probs, info

def model_inputs(spark: SparkSession, config: PipelineConfig, tdef, vocab_version: str | None) -> tuple[str, list[str]]:
    """(version, input features) of the model: for text tokens the vocab token_mi chose (default:
    the newest of the target's vocab family); a fixed feature set's own feature names."""
    if tdef.feature_set != TextTokens.name:
        return f"{tdef.feature_set}-v1", list(feature_set(tdef.feature_set).FEATURES)
    vocab_all = delta_io.read_table(spark, config, "vocab").where(F.col("target") == tdef.name)
    if vocab_version is None:
        vocab_version = vocab_all.where(F.col("version").contains(f"-{tdef.vocab_family}-")).agg(F.max("version")).first()[0]
        if vocab_version is None:
            raise RuntimeError(f"no {tdef.vocab_family} vocab for target {tdef.name!r}: run the token_mi job first")
    vocab_pd = vocab_all.where(F.col("version") == vocab_version).orderBy("index").select("family", "token").toPandas()
    return vocab_version, [f"{f}{FEATURE_SEP}{t}" for f, t in zip(vocab_pd["family"], vocab_pd["token"])]

def run(spark: SparkSession, config: PipelineConfig, target: str = "gender", vocab_version: str | None = None,
        models: tuple[str, ...] | None = None, register: str | None = "default", hidden: int | None = None,
        max_iter: int = 30, max_users: int = 600_000, seed: int = 0, min_accuracy: float | None = None,
        with_baselines: bool = True, experiment: str | None = None, features: str | None = None,
        report_dir: str | None = None) -> dict:
    """Train the target's models (default: its definition's model family, hidden units, vocab
    family and abstention accuracy) and gate the registered one."""
    tdef = target_def(target)
    classes = list(tdef.classes)
    models = tuple(models or (tdef.model_family,))
    unfit = [m for m in models if m in MODEL_KINDS and m not in tdef.model_families]
    if unfit:
        raise ValueError(f"{target}: {unfit} not among its model families {tdef.model_families}")
    if register == "default":  # the target's own family when it is among them; None: nothing registered
        register = tdef.model_family if tdef.model_family in models else models[0]
    hidden = hidden or tdef.hidden_units
    min_accuracy = tdef.min_accuracy if min_accuracy is None else min_accuracy
    vocab_version, vocab_features = model_inputs(spark, config, tdef, vocab_version)
    data = labelled_feature_data(spark, config, tdef, vocab_features, max_users)
    split = holdout_split(data, classes)
    set_experiment(target, experiment)
    base_params = {"target": target, "vocab_version": vocab_version, "vocab_size": len(vocab_features),
                   "n_fit": len(split.fit), "n_calibration": len(split.calibration), "n_test": len(split.test),
                   "seed": seed, "run_date": str(config.run_date), "min_accuracy": min_accuracy,
                   "abstention": tdef.abstention, "recent_captions": tdef.recent_captions,
                   "class_balance": tdef.class_balance}
    table: dict[str, dict] = baselines(split, tdef.baselines) if with_baselines else {}
    results = {}
    report_root = Path(report_dir or PROJECT_ROOT / "reports") / target / str(config.run_date)
    from jobs.hand_labels import panel_users, stratum_weights

    # Audiences' correction is measured on a random panel when the target has one; otherwise
    # hand-labelled users stand for their strata by weight.
    panel = panel_users(spark, config, target)
    strata_weights = None if panel else stratum_weights(spark, config, target)
    for kind in models:
        model, metrics, probs, info = fit_and_evaluate(kind, split, vocab_features, hidden, seed, max_iter,
                                                       min_accuracy, features, tdef)
        curve = coverage_curve(split.y("test"), probs)
        # The correction audiences need (jobs.quantification): from users no fitted model saw --
        # the test users, and with threshold folds every training user's out-of-fold probabilities.
        y_q, p_q, ids_q = split.y("test"), probs, split.test["user_id"].to_numpy()
        if "out_of_fold" in info:  # in cross_fitted_training_probs' order: fitting, then calibration users
            y_q, p_q = np.concatenate([y_q, info["out_of_fold"][0]]), np.vstack([p_q, info.pop("out_of_fold")[1]])
            ids_q = np.concatenate([ids_q, split.fit["user_id"].to_numpy(), split.calibration["user_id"].to_numpy()])
        y_q, p_q, w_q, measured_on, ids_q = correction_users(y_q, p_q, ids_q, panel, strata_weights)
        model.meta = {"kind": kind, "vocab_version": vocab_version, "run_date": str(config.run_date),
                      "quantification": {**quantification_matrices(y_q, p_q, classes, w_q), "measured_on": measured_on}}
        model.held_out = held_out_arrays(y_q, p_q, w_q, ids_q)
        folder = report_root / kind
        arts = figures(split.y("test"), probs, classes, folder, kind)
        (folder / "quantification.json").write_text(json.dumps(model.meta["quantification"]))
        arts.append(folder / "quantification.json")
        arts.append(tree_splits_csv(model, folder / "feature_splits.csv") if model.kind == "trees"
                    else network_svg(model, folder / "network.svg"))
        curve.iloc[:: max(1, len(curve) // 200)].to_csv(folder / "accuracy_vs_coverage.csv", index=False)
        arts.append(folder / "accuracy_vs_coverage.csv")
        for chart in (report_root / "top_tokens.png", report_root / "top_by_mi.csv"):
            if chart.exists():
                arts.append(chart)
        params = {**base_params, "model": kind, "features": info["features"], "feature_set": info["feature_set"], "hidden": json.dumps(info["hidden"]),
                  "max_iter": max_iter, "epochs": json.dumps(info["epochs"]), **({"C": info["C"]} if "C" in info else {})}
        results[kind] = log_and_gate(model, kind, params, metrics, arts, split.test, target if kind == register else None)
        results[kind].update(sklearn=info.get("sklearn"), model=model)
        table[kind] = metrics
    n_labelled = len(data)
    return {"vocab_version": vocab_version, "registered": register, "n_train": len(split.fit) + len(split.calibration), "n_test": len(split.test),
            "metrics": table, "evaluation": ("one 10% test split of fewer than 1,000 users: a noisy draw; "
                                             "jobs.cross_validation gives mean and spread over folds")
            if wants_cross_validation(n_labelled) else "10% test split",
            "runs": {k: {kk: vv for kk, vv in v.items() if kk not in ("sklearn", "model")} for k, v in results.items()},
            "_models": results, "_test": split.test, "_fit": split.fit}


@click.command()
@click.option("--target", default="gender", show_default=True)
@click.option("--vocab-version", default=None, help="Default: the newest vocab of the target's vocab family.")
@click.option("--models", default=None, help=f"Comma list of {','.join(MODEL_KINDS)} or 'all' (the target's "
              "model families: twin for binary targets only). Default: the target's model family.")
@click.option("--register", default=None, help="Which of them is registered and gated. "
              "Default: the target's model family if trained, else the first.")
@click.option("--hidden", type=int, default=None, help="Hidden units. Default: the target's.")
@click.option("--max-iter", default=30, show_default=True)
@click.option("--max-users", default=600_000, show_default=True)
@click.option("--features", type=click.Choice(sorted(FEATURE_SPECS)), default=None,
              help="Input values: binary presence or tf-idf. Default: tfidf for logreg/linsvm, binary for networks.")
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--warehouse", default=None)
@click.option("--force-retrain", type=bool, default=True, show_default=True,
              help="False: skip when the champion is younger than --retrain-days.")
@click.option("--retrain-days", default=7, show_default=True)
@click.option("--min-accuracy", type=click.FloatRange(0.1, 1.0), default=None,
              help="Accuracy the labelled users must reach; less confident users become 'uncertain'. "
                   "Default: the target's.")
def main(target, vocab_version, models, register, hidden, max_iter, max_users, features, run_date, warehouse,
         force_retrain, retrain_days, min_accuracy):
    from runtime.spark_session import start_spark

    cfg = config_from_cli(run_date=run_date, warehouse=warehouse)
    reason = keep_champion_reason(target, cfg.run_date, force_retrain, retrain_days=retrain_days)
    if reason:
        echo_summary(cfg, "train", {"retrained": False, "reason": reason}, target)
        return
    kinds = target_def(target).model_families if models == "all" else (tuple(models.split(",")) if models else None)
    out = run(start_spark("train"), cfg, target=target, vocab_version=vocab_version, models=kinds,
              register=register or "default",
              hidden=hidden, max_iter=max_iter, max_users=max_users, min_accuracy=min_accuracy, features=features)
    click.echo(format_table(out["metrics"]))
    registered = out["registered"]
    model = out["metrics"][registered or next(iter(out["metrics"]))]
    echo_summary(cfg, "train", {"retrained": True, "n_train": out["n_train"], "n_test": out["n_test"],
                                "registered": registered, "test": {m: round(model[m], 4) for m in ("accuracy", "macro_f1", "coverage_at_threshold")},
                                "runs": out["runs"]}, target)


if __name__ == "__main__":
    main()
