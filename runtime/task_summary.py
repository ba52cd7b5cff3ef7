"""Each job's summary, printed and kept as JSON beside the night's tables, so a run's report can
show one line per task with its key counts: <warehouse>/_runs/<run_date>/<job>[.<target>].json."""
from __future__ import annotations

import json
from pathlib import Path

import click

from runtime.config import PipelineConfig


def summary_path(config: PipelineConfig, job: str, target: str | None = None) -> Path:
    return Path(config.warehouse) / "_runs" / str(config.run_date) / (f"{job}.{target}.json" if target else f"{job}.json")


def echo_summary(config: PipelineConfig, job: str, summary: dict, target: str | None = None) -> None:
    text = json.dumps(summary, indent=1, default=str, sort_keys=True)
    click.echo(text)
    if ":/" in config.warehouse and not config.warehouse.startswith("file:"):
        return  # object stores: the printed summary (in the task log) is the record
    path = summary_path(config, job, target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def key_counts(summary: dict, width: int = 110) -> str:
    """The summary's numbers (and maps of numbers) on one line, cut to `width`."""
    parts = []
    for key, value in summary.items():
        if isinstance(value, bool) or key.startswith("_"):
            continue
        if isinstance(value, (int, float)):
            parts.append(f"{key}={value:.3g}" if isinstance(value, float) else f"{key}={value}")
        elif isinstance(value, dict) and value and all(isinstance(v, (int, float)) for v in value.values()):
            parts.append(f"{key}=" + ",".join(f"{k}:{v:.3g}" if isinstance(v, float) else f"{k}:{v}"
                                              for k, v in value.items()))
    line = " ".join(parts)
    return line if len(line) <= width else line[: width - 1] + "…"
