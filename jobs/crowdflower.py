"""The CrowdFlower Twitter gender data as one night of landing files, then cross-validated.

A thin converter onto the path any user's data takes (README, "Bring your own data"): each
CSV row becomes a profile (screen name as username and full name, `description` as bio) with one
post (`text`), and rows judged male or female with confidence 1 become lines of a labels file;
all three are written as UTF-8 JSON lines under landing/<date>/source=profiles|posts|labels and
loaded by the ingest job (validation, quarantine, caption cut, newest snapshot wins). The CSV
itself is latin-1, its documented encoding, and is decoded as such here.

  python -m jobs.crowdflower --csv ../shared/data/twitter_gender_crowdflower/gender-classifier-DFE-791531.csv
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
import pandas as pd
from pyspark.sql import SparkSession

from jobs import ingest
from runtime.config import PROJECT_ROOT, PipelineConfig

DEFAULT_CSV = PROJECT_ROOT.parent / "shared" / "data" / "twitter_gender_crowdflower" / "gender-classifier-DFE-791531.csv"
ID_BASE = 9_000_000_000_000  # keeps imported ids apart from platform ids
EVIDENCE = "crowdflower gender:confidence=1"


def read_csv(path: str | Path) -> pd.DataFrame:
    df = pd.read_csv(path, encoding="latin1", dtype=str, keep_default_na=False)
    missing = {"_unit_id", "gender", "gender:confidence", "description", "text", "name"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: not the CrowdFlower gender file, missing columns {sorted(missing)}")
    return df


def landing_records(raw: pd.DataFrame, run_date: dt.date) -> dict[str, pd.DataFrame]:
    """profiles, posts and labels records in the landing files' shapes (schemas.landing)."""
    rows = raw.assign(user_id=ID_BASE + pd.to_numeric(raw["_unit_id"]).astype("int64")).drop_duplicates("user_id")
    fetched = f"{run_date.isoformat()}T00:00:00Z"
    profiles = pd.DataFrame({"id": rows["user_id"], "username": rows["name"], "full_name": rows["name"],
                             "biography": rows["description"], "fetched_at": fetched})
    posts = pd.DataFrame({"id": rows["user_id"] * 10, "user_id": rows["user_id"], "caption": rows["text"],
                          "taken_at": fetched, "fetched_at": fetched})
    sure = rows[rows["gender"].isin(["male", "female"]) & (pd.to_numeric(rows["gender:confidence"], errors="coerce") == 1.0)]
    labels = pd.DataFrame({"user_id": sure["user_id"], "target": "gender", "label": sure["gender"], "evidence": EVIDENCE})
    return {"profiles": profiles, "posts": posts, "labels": labels}


def write_landing(records: dict[str, pd.DataFrame], config: PipelineConfig) -> list[str]:
    paths = []
    for source, frame in records.items():
        folder = Path(config.landing_path(f"source={source}"))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "crowdflower.json"
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
        paths.append(str(path))
    return paths


def run(spark: SparkSession, config: PipelineConfig, csv: str | Path = DEFAULT_CSV) -> dict:
    """Write the night's landing files and ingest them; rerunning changes nothing."""
    records = landing_records(read_csv(csv), config.run_date)
    files = write_landing(records, config)
    summary = ingest.run(spark, config)
    return {"files": files, "profiles": len(records["profiles"]),
            "labels": records["labels"]["label"].value_counts().to_dict(), "ingest": summary}


def evaluate_all(spark: SparkSession, config: PipelineConfig, csv: str | Path, vocab_size: int, out: Path,
                 folds: int = 5, models: tuple[str, ...] = ("logreg", "linsvm", "mlp1")) -> dict:
    """Import, then k-fold cross-validation (jobs.cross_validation): the ranking, vocab and every
    fitted step see the training folds only; the TF-IDF + LR reference runs on the same folds."""
    from jobs import cross_validation

    imported = run(spark, config, csv)
    result = cross_validation.run(spark, config, "gender", folds=folds, vocab_size=vocab_size, models=models,
                                  out_dir=out)
    return {"imported": {k: v for k, v in imported.items() if k != "ingest"}, "ingest": imported["ingest"],
            "out": str(out), "table": cross_validation.format_summary(result["summary"]), "sizes": result["sizes"]}


@click.command()
@click.option("--csv", default=str(DEFAULT_CSV), show_default=True)
@click.option("--warehouse", default=str(PROJECT_ROOT / "var" / "crowdflower" / "warehouse"), show_default=True)
@click.option("--vocab-size", default=50000, show_default=True)
@click.option("--folds", default=5, show_default=True)
@click.option("--models", default="logreg,linsvm,mlp1", show_default=True)
@click.option("--import-only", is_flag=True, help="Only import; do not train or evaluate.")
def main(csv, warehouse, vocab_size, folds, models, import_only):
    from runtime.spark_session import start_spark

    cfg = PipelineConfig(warehouse=warehouse, landing=str(Path(warehouse).parent / "landing"), run_date=dt.date(2026, 11, 22))
    spark = start_spark("crowdflower")
    if import_only:
        click.echo(json.dumps(run(spark, cfg, csv), indent=1, default=str))
        return
    out = Path(warehouse).parent / "evaluations" / f"{dt.datetime.now():%Y%m%dT%H%M%S}"
    summary = evaluate_all(spark, cfg, csv, vocab_size, out, folds, tuple(models.split(",")))
    click.echo(summary["table"])
    click.echo(json.dumps({k: v for k, v in summary.items() if k != "table"}, indent=1, default=str))


if __name__ == "__main__":
    main()
