"""Query the warehouse's tables by name: with Spark SQL, or with DuckDB over delta-rs (no JVM).

  python -m jobs.query duckdb "select reason, count(*) from quarantine group by 1"
  python -m jobs.query spark  "select shard, count(*) from profiles group by 1"
"""
from __future__ import annotations

from pathlib import Path

import click

from runtime.config import PipelineConfig
from schemas import TABLES


def existing_tables(config: PipelineConfig) -> dict[str, str]:
    return {name: config.table_path(name) for name in TABLES
            if (Path(config.table_path(name)) / "_delta_log").is_dir()}


def duckdb_connection(config: PipelineConfig):
    """A DuckDB connection with every existing table registered as a view of its Delta snapshot."""
    import duckdb
    from deltalake import DeltaTable

    con = duckdb.connect()
    for name, path in existing_tables(config).items():
        con.register(name, DeltaTable(path).to_pyarrow_dataset())
    return con


def register_spark_views(spark, config: PipelineConfig) -> list[str]:
    """Make every existing table queryable by its bare name in this Spark session."""
    names = []
    for name, path in existing_tables(config).items():
        spark.read.format("delta").load(path).createOrReplaceTempView(name)
        names.append(name)
    return names


@click.group()
@click.option("--warehouse", default=None, help="Warehouse root (default: $DEMOGRAPHICS_WAREHOUSE or ./warehouse).")
@click.pass_context
def main(ctx, warehouse):
    cfg = PipelineConfig()
    ctx.obj = cfg.with_(warehouse=warehouse) if warehouse else cfg


@main.command()
@click.argument("sql")
@click.pass_obj
def duckdb(config, sql):
    """Run SQL with DuckDB (reads Delta through delta-rs)."""
    click.echo(duckdb_connection(config).sql(sql))


@main.command()
@click.argument("sql")
@click.option("--rows", default=50, show_default=True)
@click.pass_obj
def spark(config, sql, rows):
    """Run SQL with Spark SQL."""
    from runtime.spark_session import start_spark

    session = start_spark("query")
    register_spark_views(session, config)
    session.sql(sql).show(rows, truncate=False)


if __name__ == "__main__":
    main()
