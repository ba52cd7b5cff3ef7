"""Builds the driver JVM's class-data archive (AppCDS) at set-up: every job's JVM then maps the
classes Spark, Delta and Parquet load from one file instead of loading and verifying them again.

Measured on the 2-core machine (3 runs each): starting Spark took 10.6-11.7 s without it and
6.2-7.7 s with it; the first Delta read after that 17.3-18.5 s and 12.5-12.9 s. The archive is
recorded from one short run of the operations the jobs use (text and JSON/CSV parsing,
aggregations, joins, windows, Arrow to and from Python, Delta create/merge/replaceWhere/read)
on a few rows in a temporary folder. It belongs
to this JDK and this class path: `make setup` rebuilds it when the JARs change, and a JVM that
cannot map it (another JDK) starts without it, as before. A driver started on another machine
(spark-submit --deploy-mode cluster) should run with DEMOGRAPHICS_CLASS_ARCHIVE=off: where the
file is missing the JVM also leaves out the JDK's own default archive.

  python -m runtime.jvm_archive            # writes .cache/jvm/spark-driver.jsa (make setup runs it)
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from runtime.config import CLASS_ARCHIVE, class_archive_wanted


def _echo_batches(batches):
    yield from batches


def record_workload() -> None:
    """Runs in the child whose JVM records the archive: a few rows through each kind of operation."""
    from delta.tables import DeltaTable
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from runtime.spark_session import start_spark

    spark = start_spark("class-archive", extra={"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2"})
    with tempfile.TemporaryDirectory(prefix="class-archive-") as root:
        Path(root, "landing").mkdir()
        Path(root, "landing", "a.json").write_text('{"id": 1, "n": "a"}\n{"id": "x"}\nbad\n')
        Path(root, "landing", "b.csv").write_text("1,2,2026-01-01T00:00:00Z\n")
        parsed = (spark.read.schema("id bigint, n string, _bad string").option("columnNameOfCorruptRecord", "_bad")
                  .json(f"{root}/landing/a.json").select("*", F.col("_metadata.file_name").alias("file")))
        parsed = parsed.withColumn("variant", F.try_parse_json("_bad")).withColumn("j", F.to_json(F.struct("id", "n"))).cache()
        csv = spark.read.text(f"{root}/landing/b.csv").select(F.from_csv("value", "a string, b string, t string").alias("c"))
        csv.select(F.col("c.a").try_cast("bigint"), F.col("c.t").try_cast("timestamp")).collect()
        ranked = parsed.withColumn("rank", F.row_number().over(Window.partitionBy("n").orderBy(F.col("id").desc())))
        joined = ranked.join(F.broadcast(parsed.groupBy("n").agg(F.max(F.struct("id", "file")).alias("m"))), "n")
        joined.mapInArrow(_echo_batches, joined.schema).toPandas()
        table = f"{root}/warehouse/t"
        parsed.select("id", "n", F.xxhash64("n").alias("h")).write.format("delta").save(table)
        source = (spark.createDataFrame(parsed.select("id", "n").toPandas())
                  .select(F.col("id").cast("bigint"), "n", F.lit(1).cast("bigint").alias("h")))
        (DeltaTable.forPath(spark, table).alias("t").merge(source.alias("s"), "t.id = s.id")
         .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())
        source.where("id > 0").write.format("delta").mode("overwrite").option("replaceWhere", "id > 0").save(table)
        spark.read.format("delta").load(table).where("id > 0").groupBy("n").count().collect()
        parsed.unpersist()
    jvm = spark.sparkContext._gateway.proc
    spark.stop()
    # The JVM writes the archive as it exits, which it does when its stdin closes: wait for that.
    jvm.stdin.close()
    jvm.wait()


@click.command()
@click.argument("step", type=click.Choice(["build", "record"]), default="build")
def main(step: str) -> None:
    """Records the archive (`build`); `record` is the child that runs the workload."""
    if step == "record":
        return record_workload()
    if not class_archive_wanted():
        click.echo("DEMOGRAPHICS_CLASS_ARCHIVE=off: no driver JVM class archive")
        return
    started = time.perf_counter()
    CLASS_ARCHIVE.parent.mkdir(parents=True, exist_ok=True)
    partial = CLASS_ARCHIVE.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    # The JVM writes the archive as it exits, so the workload runs in a child whose JVM records it.
    env = {**os.environ, "DEMOGRAPHICS_CLASS_ARCHIVE": "off",
           "DEMOGRAPHICS_DRIVER_JAVA_OPTIONS": f"-XX:ArchiveClassesAtExit={partial}"}
    recorded = subprocess.run([sys.executable, "-m", "runtime.jvm_archive", "record"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if recorded.returncode or not partial.exists():
        raise click.ClickException(f"the JVM wrote no class archive at {partial}:\n{recorded.stderr[-3000:]}")
    # A damaged archive can crash the JVM that maps it (a truncated one does): map it once first,
    # with the java Spark's launcher picks.
    java = str(Path(os.environ["JAVA_HOME"], "bin", "java")) if os.environ.get("JAVA_HOME") else "java"
    crash_log = CLASS_ARCHIVE.parent / "check-crash.log"
    if subprocess.run([java, f"-XX:SharedArchiveFile={partial}", "-Xshare:auto", f"-XX:ErrorFile={crash_log}",
                       "-version"], capture_output=True).returncode:
        partial.unlink()
        raise click.ClickException(f"a JVM could not start with the new class archive (see {crash_log}); it was "
                                   "removed. Set DEMOGRAPHICS_CLASS_ARCHIVE=off to run without one.")
    partial.replace(CLASS_ARCHIVE)
    size = CLASS_ARCHIVE.stat().st_size / 2**20
    click.echo(f"driver JVM class archive {CLASS_ARCHIVE} ({size:.0f} MB) in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
