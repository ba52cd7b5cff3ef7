"""InstaFake (Akyon & Kalfaoglu 2019) on the authenticity target's feature set, cross-validated.

The fake set ships 8 fields per account, no raw text. They map onto jobs.profile_features' base
features -- follower, following and media counts, bio length, private, anonymous picture (no
profile picture), digits in and length of the username -- and the ratios come from the same
Spark code as on our profiles; every other feature is missing (null), as for a source that
lacks the field.

Stratified 5-fold split (jobs.split.with_folds, by a hash of the row's id). In every fold the
models are fitted as the nightly train fits them (jobs.train.fit_and_evaluate: calibration users
from the training folds set early stopping, C and the 'uncertain' threshold), and a random
forest reference (500 trees, the anchors' model) is fitted on the same training folds and
scored on the same accounts.

  python -m jobs.instafake --models gbdt,mlp1,logreg
  python -m jobs.instafake --models gbdt --repeats 5     (paired interval against the reference)
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

from jobs import evaluation, train
from jobs.profile_features import BASE_FEATURES, with_derived
from jobs.split import is_calibration_user, with_folds
from jobs.targets import target_def
from jobs.training_set import Split
from runtime.config import PROJECT_ROOT
from udfs.feature_sets import NUMERIC_FEATURES, ProfileNumeric

DEFAULT_FOLDER = PROJECT_ROOT.parent / "shared" / "data" / "instafake"
FILES = ("fakeAccountData.json", "realAccountData.json")
FIELD_MAP = {  # InstaFake field -> base feature (jobs.profile_features)
    "userFollowerCount": "follower_count", "userFollowingCount": "following_count",
    "userBiographyLength": "bio_length", "userMediaCount": "media_count", "userIsPrivate": "is_private",
    "usernameDigitCount": "username_digits", "usernameLength": "username_length",
}
REFERENCE = "random_forest_reference"
PUBLISHED_ACCURACY = 0.96
ID_BASE = 8_000_000_000_000


def read_accounts(folder: str | Path = DEFAULT_FOLDER) -> pd.DataFrame:
    """Both files of the fake set as one frame with a synthetic id per account."""
    frames = []
    for name in FILES:
        rows = json.loads((Path(folder) / name).read_text())
        frames.append(pd.DataFrame(rows))
    raw = pd.concat(frames, ignore_index=True)
    missing = set(FIELD_MAP) | {"userHasProfilPic", "isFake"}
    missing -= set(raw.columns)
    if missing:
        raise ValueError(f"{folder}: not the InstaFake fake set, missing fields {sorted(missing)}")
    return raw.assign(user_id=ID_BASE + np.arange(len(raw), dtype=np.int64))


def base_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """(user_id, label, every base feature): the mapped fields, the rest missing (NaN)."""
    out = pd.DataFrame({"user_id": raw["user_id"], "label": np.where(raw["isFake"].astype(int) == 1, "fake", "authentic")})
    for feature in BASE_FEATURES:
        out[feature] = np.nan
    for field, feature in FIELD_MAP.items():
        out[feature] = pd.to_numeric(raw[field], errors="coerce").astype(np.float64)
    out["anonymous_picture"] = 1.0 - pd.to_numeric(raw["userHasProfilPic"], errors="coerce").astype(np.float64)
    return out


def feature_rows(spark: SparkSession, raw: pd.DataFrame, folds: int, repeats: int = 1) -> pd.DataFrame:
    """Every account's features (ratios by jobs.profile_features) and its fold, through Spark;
    with repeats, `fold_1`... of further splits (another salt each) for repeated cross-validation."""
    base = base_frame(raw)
    frame = spark.createDataFrame(base, schema=", ".join(["user_id long", "label string"]
                                                         + [f"{f} double" for f in BASE_FEATURES]))
    folded = with_folds(frame, folds)
    for r in range(1, repeats):
        folded = with_folds(folded.withColumnRenamed("fold", "fold_0"), folds, salt=f"instafake-repeat-{r}").withColumnRenamed(
            "fold", f"fold_{r}").withColumnRenamed("fold_0", "fold")
    return with_derived(folded).withColumn("is_calibration", is_calibration_user(F.col("user_id"))).orderBy(
        "user_id").toPandas()


def fake_metrics(y: np.ndarray, probs: np.ndarray, fake: int) -> dict:
    predicted = probs.argmax(axis=1)
    tp = int(((predicted == fake) & (y == fake)).sum())
    return {"fake_precision": tp / max(int((predicted == fake).sum()), 1), "fake_recall": tp / max(int((y == fake).sum()), 1)}


def random_forest(fit: pd.DataFrame, test: pd.DataFrame, classes: list[str], seed: int = 0) -> np.ndarray:
    """The anchors' model: a random forest on the raw features (missing values as NaN)."""
    from sklearn.ensemble import RandomForestClassifier

    code = {c: i for i, c in enumerate(classes)}
    clf = RandomForestClassifier(n_estimators=500, random_state=seed, n_jobs=2)
    clf.fit(fit[list(NUMERIC_FEATURES)].to_numpy(np.float64), fit["label"].map(code).to_numpy())
    probs = np.zeros((len(test), len(classes)))
    probs[:, clf.classes_] = clf.predict_proba(test[list(NUMERIC_FEATURES)].to_numpy(np.float64))
    return probs


SUMMARY = ("accuracy", "roc_auc", "fake_precision", "fake_recall", "macro_f1", "coverage_at_threshold",
           "accuracy_at_threshold")


def cross_validate(rows: pd.DataFrame, folds: int, models: tuple[str, ...], seed: int = 0, max_iter: int = 30) -> dict:
    """Per model and the reference: every fold's metrics and their mean and deviation, and each
    account's correctness when it was a test account (`correct`, in rows' order)."""
    tdef = target_def("authenticity")
    classes = list(tdef.classes)
    fake = classes.index("fake")
    per_fold: dict[str, list[dict]] = {}
    correct = {name: np.zeros(len(rows), dtype=bool) for name in (*models, REFERENCE)}
    for k in range(folds):
        at = np.flatnonzero((rows["fold"] == k).to_numpy())
        started = time.perf_counter()
        train_rows, test = rows[rows["fold"] != k], rows[rows["fold"] == k].reset_index(drop=True)
        split = Split(train_rows[~train_rows["is_calibration"]].reset_index(drop=True),
                      train_rows[train_rows["is_calibration"]].reset_index(drop=True), test, classes)
        y = split.y("test")
        for kind in models:
            _, metrics, probs, _ = train.fit_and_evaluate(kind, split, list(ProfileNumeric.FEATURES), tdef.hidden_units,
                                                          seed, max_iter, tdef.min_accuracy, tdef=tdef)
            per_fold.setdefault(kind, []).append({**metrics, **fake_metrics(y, probs, fake)})
            correct[kind][at] = probs.argmax(axis=1) == y
        probs = random_forest(train_rows, test, classes, seed)
        per_fold.setdefault(REFERENCE, []).append({**evaluation.evaluate(y, probs, classes), **fake_metrics(y, probs, fake)})
        correct[REFERENCE][at] = probs.argmax(axis=1) == y
        print(f"[instafake] fold {k + 1}/{folds}: {time.perf_counter() - started:.1f} s", flush=True)
    summary = {}
    reference = pd.DataFrame(per_fold[REFERENCE])
    for name, results in per_fold.items():
        frame = pd.DataFrame(results)
        if name != REFERENCE:  # paired: the same accounts in every fold
            frame["accuracy_minus_reference"] = frame["accuracy"] - reference["accuracy"]
        summary[name] = {m: {"mean": float(frame[m].mean()), "std": float(frame[m].std(ddof=1))}
                         for m in (*SUMMARY, "accuracy_minus_reference") if m in frame}
    return {"folds": folds, "accounts": len(rows), "fakes": int((rows["label"] == "fake").sum()),
            "summary": summary, "per_fold": per_fold, "correct": correct}


def repeated(rows: pd.DataFrame, folds: int, repeats: int, models: tuple[str, ...]) -> tuple[dict, dict]:
    """The first split's cross-validation, and over `repeats` splits each model's accuracy minus
    the reference's: per split, and paired per account (its correctness averaged over the splits)
    with a 95% interval -- what a difference of a few accounts in 1,194 can be told apart from --
    and the per-fold differences' interval with Nadeau and Bengio's correction (2003: folds share
    training accounts, so the plain interval over folds is too narrow)."""
    runs = [cross_validate(rows if r == 0 else rows.assign(fold=rows[f"fold_{r}"]), folds, models) for r in range(repeats)]
    reference = np.mean([run["correct"][REFERENCE] for run in runs], axis=0)
    out = {"splits": repeats, "reference_accuracy": [float(run["correct"][REFERENCE].mean()) for run in runs]}
    for name in models:
        mine = np.mean([run["correct"][name] for run in runs], axis=0)
        d = mine - reference
        half = 1.96 * float(d.std(ddof=1)) / np.sqrt(len(d))
        per_fold = np.array([a["accuracy"] - b["accuracy"] for run in runs
                             for a, b in zip(run["per_fold"][name], run["per_fold"][REFERENCE])])
        corrected = 1.96 * float(np.sqrt((1 / len(per_fold) + 1 / (folds - 1)) * per_fold.var(ddof=1)))
        out[name] = {"accuracy": [float(run["correct"][name].mean()) for run in runs],
                     "minus_reference_corrected_95": [float(per_fold.mean() - corrected), float(per_fold.mean() + corrected)],
                     "minus_reference_per_split": [float((run["correct"][name].astype(float) - run["correct"][REFERENCE]).mean())
                                                   for run in runs],
                     "minus_reference": float(d.mean()), "minus_reference_95": [float(d.mean() - half), float(d.mean() + half)]}
    return runs[0], out


def format_summary(summary: dict) -> str:
    cols = [m for m in (*SUMMARY, "accuracy_minus_reference") if any(m in v for v in summary.values())]
    lines = ["| model | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for name, m in summary.items():
        lines.append(f"| {name} | " + " | ".join(f"{m[c]['mean']:.3f} ± {m[c]['std']:.3f}" if c in m else ""
                                                 for c in cols) + " |")
    return "\n".join(lines)


@click.command()
@click.option("--folder", default=str(DEFAULT_FOLDER), show_default=True)
@click.option("--folds", default=5, show_default=True)
@click.option("--models", default="gbdt,mlp1,logreg", show_default=True)
@click.option("--repeats", default=1, show_default=True, help="Splits of repeated cross-validation (a paired interval).")
@click.option("--out", default=None, help="Default: var/evaluations/instafake-<timestamp>.")
def main(folder, folds, models, repeats, out):
    from runtime.spark_session import start_spark

    raw = read_accounts(folder)
    rows = feature_rows(start_spark("instafake"), raw, folds, repeats)
    result, over_splits = repeated(rows, folds, repeats, tuple(models.split(",")))
    result = {**{k: v for k, v in result.items() if k != "correct"}, "repeated": over_splits}
    table = format_summary(result["summary"])
    if repeats > 1:
        table += "\n\n" + "\n".join(
            f"{name}: accuracy minus the reference over {repeats} splits {v['minus_reference']:+.4f} "
            f"(95% paired over accounts {v['minus_reference_95'][0]:+.4f} .. {v['minus_reference_95'][1]:+.4f}; "
            f"over folds, corrected {v['minus_reference_corrected_95'][0]:+.4f} .. {v['minus_reference_corrected_95'][1]:+.4f}); per split "
            + ", ".join(f"{x:+.4f}" for x in v["minus_reference_per_split"])
            for name, v in over_splits.items() if isinstance(v, dict))
    out = Path(out or PROJECT_ROOT / "var" / "evaluations" / f"instafake-{dt.datetime.now():%Y%m%dT%H%M%S}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result, indent=1, default=float))
    (out / "metrics.md").write_text(f"InstaFake fake set: {result['accounts']} accounts ({result['fakes']} fake), "
                                    f"{folds}-fold; published {PUBLISHED_ACCURACY:.0%} accuracy\n\n{table}\n")
    click.echo(table)
    click.echo(f"written to {out}")


if __name__ == "__main__":
    main()
