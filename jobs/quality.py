"""Data-quality checks on a night's predictions, and the publish marker. No JVM: delta-rs + DuckDB."""
from __future__ import annotations

import json
from pathlib import Path

from runtime.config import PipelineConfig
from jobs.query import duckdb_connection, existing_tables
from jobs.targets import target_def


class QualityError(RuntimeError):
    pass


def check_predictions(run_date: str, target: str, config: PipelineConfig | None = None,
                      shards: list[int] | None = None) -> dict:
    """Raises QualityError listing every failed check; returns the figures when all pass.
    Counts the night's predictions of the scored shards only (None: every shard), against the
    profiles of those shards: each must have exactly one."""
    config = config or PipelineConfig()
    missing = {"predictions", "profiles"} - set(existing_tables(config))
    if missing:
        raise QualityError(f"data-quality checks failed for {target} {run_date}: no table {sorted(missing)}")
    con = duckdb_connection(config)
    tdef = target_def(target)
    classes = set(tdef.classes) | {"uncertain"}
    in_shards = f" AND shard IN ({', '.join(str(int(s)) for s in shards)})" if shards else ""
    where = f"run_date = DATE '{run_date}' AND target = '{target}'{in_shards}"
    rows = con.sql(f"select count(*), count(distinct user_id) from predictions where {where}").fetchall()[0]
    labels = dict(con.sql(f"select label, count(*) from predictions where {where} group by all").fetchall())
    bad_probs = con.sql(f"""select count(*) from predictions where {where} and
        abs(list_sum(map_values(probabilities)) - 1) > 1e-3""").fetchall()[0][0]
    profiles = con.sql(f"select count(*) from profiles where true{in_shards}").fetchall()[0][0]
    failures = []
    if rows[0] == 0:
        failures.append("no predictions for the night")
    if rows[0] != rows[1]:
        failures.append(f"{rows[0] - rows[1]} duplicated users")
    if set(labels) - classes:
        failures.append(f"unknown labels {sorted(set(labels) - classes)}")
    if bad_probs:
        failures.append(f"{bad_probs} rows whose probabilities do not sum to 1")
    if rows[0] and labels.get("uncertain", 0) / rows[0] > tdef.max_uncertain_share:
        failures.append(f"more than {tdef.max_uncertain_share:.0%} uncertain (the target's limit)")
    if rows[0] > profiles:
        failures.append(f"more predictions ({rows[0]}) than profiles ({profiles})")
    elif rows[0] and rows[0] < profiles:
        failures.append(f"{profiles - rows[0]} of {profiles} profiles have no prediction")
    report = {"run_date": run_date, "target": target, "shards": shards or "all", "predictions": rows[0],
              "profiles": profiles, "labels": labels}
    if failures:
        raise QualityError(f"data-quality checks failed for {target} {run_date}: {'; '.join(failures)}")
    return report


def publish_marker(run_date: str, report: dict, config: PipelineConfig | None = None) -> str:
    """Marks the night as published for downstream readers (idempotent: rewritten on rerun).
    Markers live beside the tables they vouch for: <warehouse>/_published/<target>/<date>.json."""
    folder = Path((config or PipelineConfig()).warehouse) / "_published" / report["target"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_date}.json"
    path.write_text(json.dumps(report, indent=1, default=str))
    return str(path)
