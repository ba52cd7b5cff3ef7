"""A night's stated-occupation predictions judged against a generated world's hidden truth, on the
users the model exists for: authentic users whose bio states no occupation. No JVM (DuckDB).

  .venv/bin/python -m bench.world_eval --run-date 2026-12-03
"""
from __future__ import annotations

import glob
import json

import click
import pandas as pd

from runtime.config import PipelineConfig
from jobs.occupations import bio_label
from jobs.query import duckdb_connection
from jobs.targets import target_def


def evaluate_stated_target(config: PipelineConfig, target: str = "occupation") -> dict:
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    classes = list(target_def(target).classes)
    con = duckdb_connection(config)
    preds = con.sql(f"select user_id, probabilities from predictions where target = '{target}' "
                    f"and run_date = DATE '{config.run_date}'").df()
    bios = con.sql("select user_id, biography from profiles").df()
    labels = con.sql(f"select label from labels where target = '{target}'").df()
    files = glob.glob(f"{config.landing}/{config.run_date}/source=_truth/*")
    truth = pd.concat([pd.read_json(f, lines=True) for f in files])[["user_id", "occupation", "is_fake"]]
    stating = set(bios.loc[[bio_label(b)[0] != "no_statement" for b in bios["biography"]], "user_id"])
    frame = preds.merge(truth[~truth["is_fake"]], on="user_id")
    frame = frame[~frame["user_id"].isin(stating)]
    predicted = [max(classes, key=lambda c: dict(p).get(c, 0.0)) for p in frame["probabilities"]]
    majority = labels["label"].value_counts().idxmax()
    p, r, f, n = precision_recall_fscore_support(frame["occupation"], predicted, labels=classes, zero_division=0)
    return {"target": target, "users_stating_none": len(frame), "majority_class": majority,
            "macro_f1": round(float(f1_score(frame["occupation"], predicted, labels=classes, average="macro")), 4),
            "majority_macro_f1": round(float(f1_score(frame["occupation"], [majority] * len(frame), labels=classes,
                                                      average="macro", zero_division=0)), 4),
            "per_class": {c: {"precision": round(float(p[i]), 3), "recall": round(float(r[i]), 3),
                              "f1": round(float(f[i]), 3), "users": int(n[i])} for i, c in enumerate(classes)}}


@click.command()
@click.option("--run-date", required=True)
@click.option("--target", default="occupation", show_default=True)
def main(run_date, target):
    import datetime as dt

    config = PipelineConfig(run_date=dt.date.fromisoformat(run_date))
    click.echo(json.dumps(evaluate_stated_target(config, target), indent=1))


if __name__ == "__main__":
    main()
