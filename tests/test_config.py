import datetime as dt

import pytest

from jobs.config import PipelineConfig, config_from_cli


def test_cli_overrides_only_what_was_given(monkeypatch):
    monkeypatch.setenv("DEMOGRAPHICS_WAREHOUSE", "/data/wh")
    cfg = config_from_cli(run_date=dt.datetime(2026, 1, 2), warehouse=None, shards=8)
    assert cfg.run_date == dt.date(2026, 1, 2) and cfg.warehouse == "/data/wh" and cfg.shards == 8
    assert cfg.table_path("profiles") == "/data/wh/profiles"


def test_bad_shard_count_is_refused():
    with pytest.raises(ValueError):
        PipelineConfig(shards=0)
