"""The UMass Global English geotagged posts as one night of landing files, then cross-validated
for the country target next to the TF-IDF + LR reference, both at per-class thresholds.

Each post becomes a profile with no bio and one post (its text); its geotag's country becomes a
label (source import; a country outside the target's 36 is OTHER), ingested like any user's
data. Post-level only: the model reads one caption where on Instagram it reads a bio and five.

  python -m jobs.umass_geo                      # import, then 5-fold cross-validation
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
import pandas as pd
from pyspark.sql import SparkSession

from jobs import ingest
from jobs.crowdflower import write_landing
from jobs.targets import target_def
from runtime.config import PROJECT_ROOT, PipelineConfig

DEFAULT_TSV = PROJECT_ROOT.parent / "shared" / "data" / "umass_global_english_geo" / "all_annotated.tsv"
ID_BASE = 8_000_000_000_000_000  # keeps imported ids apart from platform ids
EVIDENCE = "umass geotag"


def read_tsv(path: str | Path) -> pd.DataFrame:
    # Namibia is "NA": no value may be read as missing.
    df = pd.read_csv(path, sep="\t", index_col=0, dtype=str, keep_default_na=False)
    missing = {"Tweet ID", "Country", "Tweet"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: not the UMass geo file, missing columns {sorted(missing)}")
    return df


def landing_records(raw: pd.DataFrame, run_date: dt.date, classes) -> dict[str, pd.DataFrame]:
    rows = raw.assign(user_id=ID_BASE + pd.to_numeric(raw["Tweet ID"]) % 10**15).drop_duplicates("user_id")
    fetched = f"{run_date.isoformat()}T00:00:00Z"
    profiles = pd.DataFrame({"id": rows["user_id"], "username": "umass_" + rows["Tweet ID"], "fetched_at": fetched})
    posts = pd.DataFrame({"id": rows["user_id"], "user_id": rows["user_id"], "caption": rows["Tweet"],
                          "taken_at": rows["Date"] + "T00:00:00Z", "fetched_at": fetched})
    country = rows["Country"].where(rows["Country"].isin(classes), "OTHER")
    labels = pd.DataFrame({"user_id": rows["user_id"], "target": "country", "label": country,
                           "evidence": EVIDENCE + " " + rows["Country"]})
    return {"profiles": profiles, "posts": posts, "labels": labels}


def run(spark: SparkSession, config: PipelineConfig, tsv: str | Path = DEFAULT_TSV) -> dict:
    """Write the night's landing files and ingest them; rerunning changes nothing."""
    records = landing_records(read_tsv(tsv), config.run_date, target_def("country").classes)
    files = write_landing(records, config)
    summary = ingest.run(spark, config)
    return {"files": files, "posts": len(records["posts"]),
            "labels": records["labels"]["label"].value_counts().to_dict(), "ingest": summary}


@click.command()
@click.option("--tsv", default=str(DEFAULT_TSV), show_default=True)
@click.option("--warehouse", default=str(PROJECT_ROOT / "var" / "umass_geo" / "warehouse"), show_default=True)
@click.option("--vocab-size", default=20000, show_default=True)
@click.option("--folds", default=5, show_default=True)
@click.option("--models", default="mlp1,logreg", show_default=True)
def main(tsv, warehouse, vocab_size, folds, models):
    from jobs import cross_validation
    from runtime.spark_session import start_spark

    cfg = PipelineConfig(warehouse=warehouse, landing=str(Path(warehouse).parent / "landing"), run_date=dt.date(2026, 11, 22))
    spark = start_spark("umass_geo")
    imported = run(spark, cfg, tsv)
    out = Path(warehouse).parent / "evaluations" / f"{dt.datetime.now():%Y%m%dT%H%M%S}"
    result = cross_validation.run(spark, cfg, "country", folds=folds, vocab_size=vocab_size,
                                  models=tuple(models.split(",")), out_dir=out)
    click.echo(cross_validation.format_summary(result["summary"]))
    click.echo(json.dumps({"imported": {k: v for k, v in imported.items() if k != "ingest"},
                           "per_class_at_thresholds": {m: v.get("per_class_at_thresholds") for m, v in result["summary"].items()},
                           "out": str(out)}, indent=1, default=str))


if __name__ == "__main__":
    main()
