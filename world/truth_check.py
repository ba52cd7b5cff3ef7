"""A target's predictions judged where they cannot flatter: on the (authentic, but for
authenticity itself: all) users its labellers found no evidence on or did not label (the users the model exists for), against a generated world's hidden truth.
Sample worlds only: real data has no truth.

  DEMOGRAPHICS_NAMESPACE=demo/100000-users .venv/bin/python -m world.truth_check --target occupation
"""
from __future__ import annotations

import json
from functools import reduce

import click
import numpy as np
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.evaluation import evaluate
from jobs.labellers import labeller
from jobs.targets import target_def
from runtime import delta_io
from runtime.config import PipelineConfig, config_from_cli


def users_with_evidence(spark: SparkSession, config: PipelineConfig, tdef) -> DataFrame:
    """Every user a labeller of the target judged (labelled or rejected): they state the target."""
    judged = [fn(spark, config, tdef)[0].select("user_id") for fn in map(labeller, tdef.label_sources) if fn]
    if not judged:
        raise ValueError(f"{tdef.name}: no labeller among its sources {tdef.label_sources}")
    return reduce(DataFrame.unionByName, judged).distinct()


# Targets whose truth is not a column of that name, and that are judged on fakes too.
TRUTH_OF = {"authenticity": lambda: F.when(F.col("is_fake"), "fake").otherwise("authentic")}


def unstated_users_evaluation(spark: SparkSession, config: PipelineConfig, target: str) -> dict:
    """Per-class P/R/F1 and macro-F1 of the night's predictions (their most probable class) next to
    the majority of the target's labels, and accuracy and share of the users not left uncertain."""
    tdef = target_def(target)
    classes = list(tdef.classes)
    truth = spark.read.json(f"{config.landing}/{config.run_date}/source=_truth")
    if target not in truth.columns and target not in TRUTH_OF:
        raise ValueError(f"the world's truth has no {target!r} column: {truth.columns}")
    # Fakes have no true gender, country or occupation; authenticity is judged on everyone.
    judged = truth if target in TRUTH_OF else truth.where(~F.col("is_fake"))
    preds = (delta_io.read_table(spark, config, "predictions")
             .where((F.col("target") == target) & (F.col("run_date") == F.lit(config.run_date)))
             .join(judged.select("user_id", TRUTH_OF.get(target, lambda: F.col(target))().alias("truth")), "user_id")
             .join(users_with_evidence(spark, config, tdef), "user_id", "left_anti")
             .select("label", "probabilities", "truth").toPandas())
    if preds.empty:
        raise ValueError(f"no {target} predictions for {config.run_date} on users without evidence")
    y = preds["truth"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    probs = np.array([[p.get(c, 0.0) for c in classes] for p in preds["probabilities"]])
    labels = delta_io.read_table(spark, config, "labels").where(
        (F.col("target") == target) & (F.col("run_date") == F.lit(config.run_date)))
    majority = labels.groupBy("label").count().orderBy(F.desc("count"), "label").first()["label"]
    model, baseline = evaluate(y, probs, classes), evaluate(y, np.eye(len(classes))[[classes.index(majority)] * len(y)], classes)
    kept = preds["label"] != "uncertain"
    kept_per_class = {}
    for c in classes:  # what a share built from the labels would count: precision of each class's kept users
        mine = preds["label"] == c
        kept_per_class[c] = {"predicted": int(mine.sum()),
                             "precision": round(float((preds["truth"][mine] == c).mean()), 3) if mine.any() else None,
                             "recall": round(float((preds["truth"][mine] == c).sum() / max((preds["truth"] == c).sum(), 1)), 3)}
    return {"target": target, "run_date": str(config.run_date), "users": len(preds),
            "macro_f1": round(model["macro_f1"], 4), "majority": majority,
            "majority_macro_f1": round(baseline["macro_f1"], 4),
            "kept_share": round(float(kept.mean()), 4),
            "kept_accuracy": round(float((preds["label"] == preds["truth"])[kept].mean()), 4) if kept.any() else None,
            "per_class": {c: {m: round(model[f"{m}_{c}"], 3) for m in ("precision", "recall", "f1")} for c in classes},
            "kept_per_class": kept_per_class}

@click.command()
@click.option("--target", required=True)
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), default=None)
def main(target, run_date):
    from runtime.spark_session import start_spark

    cfg = config_from_cli(run_date=run_date)
    click.echo(json.dumps(unstated_users_evaluation(start_spark("truth_check"), cfg, target), indent=1))


if __name__ == "__main__":
    main()
