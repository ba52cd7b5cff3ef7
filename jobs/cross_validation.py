"""Cross-validated evaluation for labelled sets too small for one honest 10% test split.

Stratified k-fold by the stable split hash (jobs.split.with_folds). For every fold, everything
fitted sees the other folds only: the MI ranking and vocab (jobs.token_mi.top_features), the idf,
C, calibration and thresholds (jobs.train, calibration users drawn from the training folds);
the fold's users are first seen when scored. A TF-IDF + logistic regression reference on the
users' raw texts (bio, captions, name; word 1-2-grams and char_wb 2-4-grams, sublinear tf) is
fitted on the same training folds and scored on the same users, in the same run.

  python -m jobs.cross_validation --target gender --folds 5 --vocab-size 50000 --models logreg,linsvm,mlp1
Outputs go to one folder named by the run: <out>/metrics.json, metrics.md (mean ± spread).
"""
from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import click
import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import evaluation, train, training_set
from runtime import delta_io
from runtime.config import PROJECT_ROOT, PipelineConfig, config_from_cli
from jobs.split import DEFAULT_FOLDS, with_folds
from jobs.targets import target_def
from jobs.texts import read_user_texts
from jobs.token_mi import labelled_users, top_features

REFERENCE = "tfidf_logreg_reference"
SUMMARY_METRICS = ("accuracy", "macro_f1", "roc_auc", "log_loss", "ece", "coverage_at_threshold", "accuracy_at_threshold")


def raw_text(frame: pd.DataFrame) -> pd.Series:
    """Bio, captions and name as one string per user: what the reference reads."""
    captions = frame["captions"].map(lambda c: " ".join(x for x in c if x) if c is not None else "")
    return frame["biography"].fillna("") + " " + captions + " " + frame["full_name"].fillna("")


def tfidf_reference(fit: pd.DataFrame, test: pd.DataFrame, classes: list[str], calibration: pd.DataFrame | None = None,
                    abstention: str = "accuracy", level: float = 0.9, threshold_folds: int = 0) -> dict:
    """TF-IDF (word 1-2-grams + char_wb 2-4-grams, sublinear tf) + logistic regression (C=2).
    With `calibration` users it fits on `fit` alone and sets its 'uncertain' thresholds by the
    target's abstention rule where train sets them (calibration users, or with threshold_folds
    every fit and calibration user's out-of-fold probabilities), so both are judged alike."""
    code = {c: i for i, c in enumerate(classes)}
    started = time.perf_counter()
    probs_of = _tfidf_lr(fit, classes)
    seconds = time.perf_counter() - started
    probs, y = probs_of(test), test["label"].map(code).to_numpy()
    out = {**evaluation.evaluate(y, probs, classes), "train_seconds": seconds}
    if calibration is not None and len(calibration):
        if threshold_folds:
            pool = pd.concat([fit, calibration], ignore_index=True)
            held = evaluation.cross_fitted_probs(pool["user_id"].to_numpy(), threshold_folds,
                                                 lambda f, s: _tfidf_lr(pool[f], classes)(pool[s]))
            y_held = pool["label"].map(code).to_numpy()
        else:
            held, y_held = probs_of(calibration), calibration["label"].map(code).to_numpy()
        threshold = evaluation.abstention_thresholds(abstention, y_held, held, level)
        kept = evaluation.kept_mask(probs, threshold)
        out.update(coverage_at_threshold=float(kept.mean()),
                   accuracy_at_threshold=float((probs.argmax(axis=1) == y)[kept].mean()) if kept.any() else float("nan"))
        if abstention == "class_precision":
            out["per_class_at_thresholds"] = evaluation.per_class_at_thresholds(y, probs, threshold, classes)
    return out


def _tfidf_lr(fit: pd.DataFrame, classes: list[str]):
    """The reference fitted on these users: a function of a frame to its probabilities."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    tr = raw_text(fit)
    words = TfidfVectorizer(min_df=2, sublinear_tf=True, ngram_range=(1, 2))
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=3, sublinear_tf=True)
    X_tr = hstack([words.fit_transform(tr), chars.fit_transform(tr)]).tocsr()
    code = {c: i for i, c in enumerate(classes)}
    clf = LogisticRegression(C=2.0, max_iter=2000).fit(X_tr, fit["label"].map(code).to_numpy())

    def probs_of(frame):
        texts = raw_text(frame)
        probs = np.zeros((len(frame), len(classes)))
        probs[:, clf.classes_] = clf.predict_proba(hstack([words.transform(texts), chars.transform(texts)]).tocsr())
        return probs
    return probs_of


def _mean_std(values: pd.Series) -> dict:
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0}


def summarise(per_fold: dict[str, list[dict]]) -> dict[str, dict]:
    """Mean and standard deviation over folds of every summary metric, per model, and each
    model's per-fold accuracy difference to the reference (paired: same users in each fold)."""
    out = {}
    reference = pd.DataFrame(per_fold[REFERENCE]) if REFERENCE in per_fold else None
    for name, rows in per_fold.items():
        frame = pd.DataFrame(rows)
        out[name] = {m: _mean_std(frame[m]) for m in SUMMARY_METRICS if m in frame}
        out[name]["folds"] = len(frame)
        if "per_class_at_thresholds" in frame:
            out[name]["per_class_at_thresholds"] = evaluation.pooled_per_class(list(frame["per_class_at_thresholds"]))
        if reference is not None and name != REFERENCE:
            out[name]["accuracy_minus_reference"] = _mean_std(frame["accuracy"] - reference["accuracy"])
    return out


def format_summary(summary: dict[str, dict]) -> str:
    cols = [m for m in (*SUMMARY_METRICS, "accuracy_minus_reference") if any(m in v for v in summary.values())]
    lines = ["| model | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for name, m in summary.items():
        cells = [f"{m[c]['mean']:.3f} ± {m[c]['std']:.3f}" if c in m else "" for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(spark: SparkSession, config: PipelineConfig, target: str = "gender", folds: int = DEFAULT_FOLDS,
        vocab_size: int = 50000, models: tuple[str, ...] = ("logreg", "linsvm", "mlp1"), min_users: int = 2,
        families: tuple[str, ...] | None = None, hidden: int = 64, max_iter: int = 30, seed: int = 0,
        min_accuracy: float | None = None, features: str | None = None, reference: bool = True,
        out_dir: str | Path | None = None) -> dict:
    tdef = target_def(target)
    classes = list(tdef.classes)
    min_accuracy = tdef.min_accuracy if min_accuracy is None else min_accuracy
    labelled = with_folds(labelled_users(delta_io.read_table(spark, config, "labels"), tdef), folds).cache()
    texts = read_user_texts(spark, config, tdef.recent_captions)
    per_fold: dict[str, list[dict]] = {}
    sizes = []
    for k in range(folds):
        fold_started = time.perf_counter()
        training = labelled.where(F.col("fold") != k).select("user_id", "label")
        vocab = top_features(texts, training, tdef, vocab_size, min_users, families)
        data = (training_set.feature_frame(texts, labelled, vocab, keep_texts="all", test_fold=k, tdef=tdef)
                .orderBy("user_id").toPandas())
        split = training_set.holdout_split(data, classes)
        sizes.append({"fold": k, "vocab": len(vocab), "fit": len(split.fit), "calibration": len(split.calibration),
                      "test": len(split.test)})
        for name, metrics in evaluation.baselines(split, tdef.baselines).items():
            per_fold.setdefault(name, []).append(metrics)
        for kind in models:
            _, metrics, _, _ = train.fit_and_evaluate(kind, split, vocab, hidden, seed, max_iter, min_accuracy, features, tdef)
            per_fold.setdefault(kind, []).append(metrics)
        if reference and tdef.abstention == "class_precision":  # judged at per-class thresholds, as the models
            per_fold.setdefault(REFERENCE, []).append(tfidf_reference(split.fit, split.test, classes, split.calibration,
                                                                      tdef.abstention, min_accuracy, tdef.threshold_folds))
        elif reference:
            fitting = pd.concat([split.fit, split.calibration], ignore_index=True)
            per_fold.setdefault(REFERENCE, []).append(tfidf_reference(fitting, split.test, classes))
        print(f"[cross_validation] {target} fold {k + 1}/{folds}: {time.perf_counter() - fold_started:.0f} s", flush=True)
    labelled.unpersist()
    summary = summarise(per_fold)
    result = {"target": target, "folds": folds, "vocab_size": vocab_size, "families": list(families or tdef.families),
              "models": list(models), "sizes": sizes, "summary": summary, "per_fold": per_fold}
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(result, indent=1, default=float))
        (out / "metrics.md").write_text(f"{target}: {folds}-fold cross-validation, vocab {vocab_size}, "
                                        f"users per fold {[s['test'] for s in sizes]}\n\n{format_summary(summary)}\n")
    return result


@click.command()
@click.option("--target", default="gender", show_default=True)
@click.option("--folds", default=DEFAULT_FOLDS, show_default=True)
@click.option("--vocab-size", default=50000, show_default=True)
@click.option("--models", default="logreg,linsvm,mlp1", show_default=True)
@click.option("--features", type=click.Choice(["binary", "tfidf"]), default=None)
@click.option("--min-users", default=2, show_default=True)
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--warehouse", default=None)
@click.option("--out", default=None, help="Default: var/evaluations/<target>-<timestamp>.")
def main(target, folds, vocab_size, models, features, min_users, run_date, warehouse, out):
    from runtime.spark_session import start_spark

    cfg = config_from_cli(run_date=run_date, warehouse=warehouse)
    out = out or PROJECT_ROOT / "var" / "evaluations" / f"{target}-{dt.datetime.now():%Y%m%dT%H%M%S}"
    result = run(start_spark("cross_validation"), cfg, target, folds, vocab_size, tuple(models.split(",")),
                 min_users, features=features, out_dir=out)
    click.echo(format_summary(result["summary"]))
    click.echo(f"written to {out}")


if __name__ == "__main__":
    main()
