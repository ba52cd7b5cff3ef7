"""The ingest's peer: Spark's own JSON and CSV readers writing a night's landing files straight to
Delta (no checks, no quarantine, no dedup, no user_texts; media files copied as bytes, not
decoded), the least any Spark ingest of these files costs on this machine.

The bench runs it in its own warm JVM and, through this CLI, as a fresh process, timed from launch
to exit like a nightly task:

  python -m bench.floor --landing var/bench/landing --run-date 2026-11-22 --scratch /tmp/floor
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import click


def ingest_floor(spark, config, scratch: str) -> dict[str, float]:
    """Copy every landing source into a Delta table under `scratch` (removed afterwards);
    returns each source's seconds."""
    from jobs import ingest
    from jobs.media import MEDIA_FOLDER

    shutil.rmtree(scratch, ignore_errors=True)
    seconds = {}
    try:
        for source, fields in {**ingest.JSON_SOURCES, **ingest.CSV_SOURCES}.items():
            path = config.landing_path(f"source={source}")
            if not Path(path).exists():  # a source this night does not bring (labels, mostly)
                continue
            reader = spark.read.schema(ingest.landing_ddl(fields))
            df = reader.json(path) if source in ingest.JSON_SOURCES else reader.option("header", "true").csv(path)
            started = time.perf_counter()
            df.write.format("delta").save(f"{scratch}/{source}")
            seconds[source] = round(time.perf_counter() - started, 1)
        media = config.landing_path(MEDIA_FOLDER)
        if Path(media).exists():  # the posts' picture files, copied as bytes (ingest decodes them)
            started = time.perf_counter()
            (spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(media)
             .write.format("delta").save(f"{scratch}/media"))
            seconds["media"] = round(time.perf_counter() - started, 1)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return seconds


@click.command()
@click.option("--landing", required=True, help="Landing root holding <run-date>/source=... folders.")
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--scratch", required=True, help="Folder for the throwaway Delta tables.")
def main(landing, run_date, scratch):
    from runtime.config import config_from_cli
    from runtime.spark_session import start_spark

    cfg = config_from_cli(run_date=run_date, landing=landing)
    click.echo(json.dumps(ingest_floor(start_spark("ingest_floor"), cfg, scratch)))


if __name__ == "__main__":
    main()
