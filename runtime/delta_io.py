"""Reading and writing the warehouse's Delta tables, always through their TableSpec."""
from __future__ import annotations

import functools
import time

from delta.exceptions import (ConcurrentAppendException, ConcurrentDeleteReadException, ConcurrentWriteException,
                              MetadataChangedException, ProtocolChangedException)
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.errors import AnalysisException
from pyspark.sql import functions as F

from runtime.config import PipelineConfig
from schemas import TableSpec, table_spec


def ensure_table(spark: SparkSession, config: PipelineConfig, name: str) -> DeltaTable:
    """Create the table with its declared schema if it does not exist yet. Writers racing to create
    the same new table (two targets' first score tasks) all get it: the loser reads the winner's."""
    spec = table_spec(name)
    path = config.table_path(name)
    builder = DeltaTable.createIfNotExists(spark).location(path).addColumns(spec.schema)
    if spec.partition_by:
        builder = builder.partitionedBy(*spec.partition_by)
    if spec.description:
        builder = builder.comment(spec.description)
    for key, value in spec.delta_properties.items():
        builder = builder.property(key, value)
    for attempt in range(6):
        try:
            return _with_new_columns(spark, builder.execute(), spec, path)
        except (ProtocolChangedException, MetadataChangedException, ConcurrentWriteException, AnalysisException) as e:
            # A winner mid-commit leaves files but no table yet (a non-empty location): wait for it.
            if isinstance(e, AnalysisException) and "DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION" not in str(e):
                raise
            if DeltaTable.isDeltaTable(spark, path):
                return _with_new_columns(spark, DeltaTable.forPath(spark, path), spec, path)
            if attempt == 5:
                raise
            time.sleep(0.5 * (attempt + 1))


def _with_new_columns(spark: SparkSession, table: DeltaTable, spec: TableSpec, path: str) -> DeltaTable:
    """A table written before its spec gained columns gets them (null in old rows); any other
    difference from the spec is an error, not something to paper over."""
    have = {f.name: f for f in table.toDF().schema.fields}
    new = [f for f in spec.schema.fields if f.name not in have]
    changed = [f.name for f in spec.schema.fields if f.name in have and have[f.name].dataType != f.dataType]
    if changed or any(not f.nullable for f in new):
        raise ValueError(f"{spec.name} at {path} differs from its spec: changed types {changed}, "
                         f"new required columns {[f.name for f in new if not f.nullable]}; migrate it by hand")
    if new:
        columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in new)
        spark.sql(f"ALTER TABLE delta.`{path}` ADD COLUMNS ({columns})")
        table = DeltaTable.forPath(spark, path)
    return table


def table_exists(spark: SparkSession, config: PipelineConfig, name: str) -> bool:
    return DeltaTable.isDeltaTable(spark, config.table_path(name))


def read_table(spark: SparkSession, config: PipelineConfig, name: str) -> DataFrame:
    ensure_table(spark, config, name)
    return spark.read.format("delta").load(config.table_path(name))


def conform(df: DataFrame, spec: TableSpec) -> DataFrame:
    """Select exactly the spec's columns, cast to the spec's types (an absent optional column is null)."""
    missing = [c for c in spec.columns if c not in df.columns and c not in spec.optional_columns]
    if missing:
        raise ValueError(f"{spec.name}: missing columns {missing}")
    return df.select([(F.col(f.name) if f.name in df.columns else F.lit(None)).cast(f.dataType).alias(f.name)
                      for f in spec.schema.fields])


def create_for_load(spark: SparkSession, config: PipelineConfig, name: str) -> tuple[DeltaTable, bool]:
    """The table, and whether this call created it: a table created here holds no rows, so a load
    into it can skip comparing against existing rows.

    Asked of the path, not of the table's contents (DESCRIBE DETAIL took 1.7-2.9 s a table here).
    A table that exists but is empty (a run stopped after creating it) takes the comparing path,
    which is right for any contents.
    """
    existed = table_exists(spark, config, name)
    return ensure_table(spark, config, name), not existed


def last_write_rows(table: DeltaTable) -> int:
    """Rows written by the table's last commit, from its own metrics (no second pass over the data)."""
    last = table.history(1).select("operation", "operationMetrics").first()
    return int(last["operationMetrics"].get("numOutputRows", 0)) if last["operation"] == "WRITE" else 0


def append_counting(table: DeltaTable, df: DataFrame, path: str) -> int:
    """Append df and return how many rows it wrote."""
    df.write.format("delta").mode("append").save(path)
    return last_write_rows(table)


def retrying_conflicts(write):
    """Rerun a whole idempotent write (read, classify, merge) when another task's commit to the
    same table conflicts with it: two targets' labels tasks merge into `labels` at once."""
    @functools.wraps(write)
    def wrapper(*args, **kwargs):
        for attempt in range(6):
            try:
                return write(*args, **kwargs)
            except (ConcurrentAppendException, ConcurrentDeleteReadException):
                if attempt == 5:
                    raise
                time.sleep(0.5 * (attempt + 1))
    return wrapper


def _key_condition(key: tuple[str, ...]) -> str:
    return " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in key)


@retrying_conflicts
def upsert_newest(spark: SparkSession, config: PipelineConfig, name: str, updates: DataFrame,
                  order: tuple[str, ...] = ("fetched_at", "record_hash")) -> dict[str, int]:
    """Merge one row per key, keeping whichever of the table's and the update's row is newest.

    `order` compares rows (newest fetched_at, ties broken by content hash) so the result does not
    depend on the order records arrive in, and a rerun of the same input changes nothing.
    Returns counts of inserted, updated and unchanged rows.
    """
    spec = table_spec(name)
    target, created = create_for_load(spark, config, name)
    updates = conform(updates, spec)
    if created:  # first load: every row is new, nothing to compare against
        return {"inserted": append_counting(target, updates, config.table_path(name)), "updated": 0, "unchanged": 0}
    current = target.toDF().select(*spec.key, *[F.col(c).alias(f"_t_{c}") for c in order])
    newer = F.lit(False)
    for i in range(len(order) - 1, -1, -1):  # lexicographic (a, b) > (ta, tb), built from the last column
        c = order[i]
        newer = (F.col(c) > F.col(f"_t_{c}")) | ((F.col(c) == F.col(f"_t_{c}")) & newer)
    classified = (updates.join(current, list(spec.key), "left")
                  .withColumn("_action", F.when(F.col(f"_t_{order[0]}").isNull(), "inserted")
                              .when(newer, "updated").otherwise("unchanged"))
                  .cache())
    counts = {r["_action"]: r["count"] for r in classified.groupBy("_action").count().collect()}
    changed = classified.where(F.col("_action") != "unchanged").select(*spec.columns)
    if counts.get("inserted", 0) and not counts.get("updated", 0):
        # Only new keys (checked against the table above): an append, no join needed.
        changed.write.format("delta").mode("append").save(config.table_path(name))
    elif counts.get("updated", 0):
        newer_sql = " OR ".join(
            "(" + " AND ".join([f"s.`{c}` = t.`{c}`" for c in order[:i]] + [f"s.`{c}` > t.`{c}`"]) + ")"
            for i in range(len(order)))
        (target.alias("t").merge(changed.alias("s"), _key_condition(spec.key))
         .whenMatchedUpdateAll(condition=newer_sql)
         .whenNotMatchedInsertAll()
         .execute())
    classified.unpersist()
    return {k: counts.get(k, 0) for k in ("inserted", "updated", "unchanged")}


@retrying_conflicts
def upsert_by_priority(spark: SparkSession, config: PipelineConfig, name: str, rows: DataFrame,
                       priority: dict[str, int]) -> dict[str, int]:
    """Merge one row per key (labels: user and target): a row replaces the table's row for its key
    unless that one comes from a source of higher `priority`; an identical row changes nothing.
    Returns counts of inserted, updated, unchanged and kept_higher_priority rows."""
    spec = table_spec(name)
    target, created = create_for_load(spark, config, name)
    rows = conform(rows, spec)
    if created:
        return {"inserted": append_counting(target, rows, config.table_path(name)), "updated": 0, "unchanged": 0,
                "kept_higher_priority": 0}
    rank = F.create_map(*[x for k, v in priority.items() for x in (F.lit(k), F.lit(v))])
    current = target.toDF().select(*spec.key, *[F.col(c).alias(f"_t_{c}") for c in ("source", "label", "evidence")])
    same = ((F.col("label") == F.col("_t_label")) & (F.col("source") == F.col("_t_source"))
            & F.col("evidence").eqNullSafe(F.col("_t_evidence")))
    classified = (rows.join(current, list(spec.key), "left")
                  .withColumn("_action", F.when(F.col("_t_source").isNull(), "inserted")
                              .when(rank[F.col("_t_source")] > rank[F.col("source")], "kept_higher_priority")
                              .when(same, "unchanged").otherwise("updated"))
                  .cache())
    counts = {r["_action"]: r["count"] for r in classified.groupBy("_action").count().collect()}
    changed = classified.where(F.col("_action").isin("inserted", "updated")).select(*spec.columns)
    if counts.get("inserted", 0) or counts.get("updated", 0):
        (target.alias("t").merge(changed.alias("s"), _key_condition(spec.key))
         .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())
    classified.unpersist()
    return {k: counts.get(k, 0) for k in ("inserted", "updated", "unchanged", "kept_higher_priority")}


def insert_missing(spark: SparkSession, config: PipelineConfig, name: str, rows: DataFrame,
                   unique: bool = False) -> dict[str, int]:
    """Insert rows whose key is not in the table yet (append-only facts: edges, quarantine).

    unique=True: the caller guarantees one row per key (saves a shuffle of every row).
    """
    spec = table_spec(name)
    target, created = create_for_load(spark, config, name)
    rows = conform(rows, spec)
    if not unique:
        rows = rows.dropDuplicates(list(spec.key))
    if created:  # first load: no anti-join, no separate counting pass
        return {"inserted": append_counting(target, rows, config.table_path(name)), "unchanged": 0}
    existing = target.toDF().select(*spec.key)
    new_rows = rows.join(existing, [rows[k].eqNullSafe(existing[k]) for k in spec.key], "left_anti").cache()
    n_new = new_rows.count()
    n_all = rows.count()
    if n_new:
        new_rows.write.format("delta").mode("append").save(config.table_path(name))
    new_rows.unpersist()
    return {"inserted": n_new, "unchanged": n_all - n_new}


@retrying_conflicts
def replace_where(config: PipelineConfig, name: str, df: DataFrame, condition: str) -> None:
    """Atomically replace the rows matching `condition` (one run's output) with `df`."""
    spec = table_spec(name)
    ensure_table(df.sparkSession, config, name)
    (conform(df, spec).write.format("delta").mode("overwrite")
     .option("replaceWhere", condition).save(config.table_path(name)))
