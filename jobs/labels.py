"""Labels of one target from each of its label sources that has a labeller (jobs.labellers).

  python -m jobs.labels --target gender       # facebook_link
  python -m jobs.labels --target occupation   # stated_occupation

Each labeller judges users (its outcomes are counted in the summary); a user it labels who
already has a label for the target from a higher-priority source (jobs.targets.SOURCE_PRIORITY)
keeps that label (`kept_higher_priority`), and a lower-priority label of a user it labels is
deleted (`replaced_lower_priority`).
A source's labels are recomputed from scratch each run and replace its previous ones, so a
rerun gives the same table.
"""
from __future__ import annotations


import click
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from runtime import delta_io
from runtime.config import PipelineConfig, config_from_cli
from jobs.labellers import labeller
from runtime.task_summary import echo_summary
from jobs.targets import SOURCE_PRIORITY, TargetDef, target_def


def source_labels(outcome: DataFrame, existing: DataFrame, tdef: TargetDef, source: str,
                  run_date) -> tuple[DataFrame, DataFrame]:
    """(label rows to write, per-user outcome) of one source, honouring higher-priority sources."""
    priority = F.create_map(*[x for k, v in SOURCE_PRIORITY.items() for x in (F.lit(k), F.lit(v))])
    stronger = (existing.where((F.col("target") == tdef.name) &
                               (priority[F.col("source")] > F.lit(SOURCE_PRIORITY[source])))
                .select("user_id", F.lit(True).alias("has_stronger")).distinct())
    outcome = (outcome.join(stronger, "user_id", "left")
               .withColumn("status", F.when((F.col("status") == "labelled") & F.col("has_stronger").isNotNull(),
                                            "kept_higher_priority").otherwise(F.col("status")))
               .drop("has_stronger"))
    rows = (outcome.where(F.col("status") == "labelled")
            .select("user_id", F.lit(tdef.name).alias("target"), "label", F.lit(source).alias("source"),
                    "evidence", F.lit(run_date).cast("date").alias("run_date")))
    return rows, outcome


def drop_weaker(spark: SparkSession, config: PipelineConfig, tdef: TargetDef, source: str) -> int:
    """Delete the target's labels from lower-priority sources of the users `source` just labelled
    (labels hold one row per user and target): rerun after the sources' samples moved, a user
    labelled by two sources keeps only the stronger label."""
    weaker = [s for s in tdef.label_sources if SOURCE_PRIORITY[s] < SOURCE_PRIORITY[source]]
    if not weaker:
        return 0
    from delta.tables import DeltaTable

    table = DeltaTable.forPath(spark, config.table_path("labels"))
    users = delta_io.read_table(spark, config, "labels").where(
        (F.col("target") == tdef.name) & (F.col("source") == source)).select("user_id")
    stale = (table.toDF().where((F.col("target") == tdef.name) & F.col("source").isin(*weaker))
             .join(users, "user_id", "left_semi"))
    n = stale.count()
    if n:
        quoted = ", ".join(f"'{s}'" for s in weaker)
        (table.alias("t").merge(users.alias("s"), f"t.user_id = s.user_id AND t.target = '{tdef.name}' "
                                f"AND t.source IN ({quoted})").whenMatchedDelete().execute())
    return n


def run(spark: SparkSession, config: PipelineConfig, target: str = "gender") -> dict:
    tdef = target_def(target)
    summary: dict = {"target": target, "sources": {}}
    for source in tdef.label_sources:
        label = labeller(source)
        if label is None:
            continue
        outcome, found = label(spark, config, tdef)
        existing = delta_io.read_table(spark, config, "labels")
        rows, outcome = source_labels(outcome, existing, tdef, source, config.run_date)
        found["outcomes"] = {r["status"]: r["count"] for r in outcome.groupBy("status").count().collect()}
        delta_io.replace_where(config, "labels", rows, f"target = '{target}' AND source = '{source}'")
        found["replaced_lower_priority"] = drop_weaker(spark, config, tdef, source)
        found["labels_by_class"] = {r["label"]: r["count"] for r in rows.groupBy("label").count().collect()}
        summary["sources"][source] = found
    if not summary["sources"]:
        raise ValueError(f"target {target!r} has no labeller among its sources {tdef.label_sources}")
    summary["labels_by_class"] = {}
    for found in summary["sources"].values():
        for c, n in found["labels_by_class"].items():
            summary["labels_by_class"][c] = summary["labels_by_class"].get(c, 0) + n
    return summary


@click.command()
@click.option("--target", default="gender", show_default=True)
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--warehouse", default=None)
def main(target, run_date, warehouse):
    from runtime.spark_session import start_spark

    cfg = config_from_cli(run_date=run_date, warehouse=warehouse)
    echo_summary(cfg, "labels", run(start_spark(f"labels-{target}"), cfg, target), target)


if __name__ == "__main__":
    main()
