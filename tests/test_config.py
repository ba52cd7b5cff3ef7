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


def test_relative_folders_become_absolute_and_uris_stay(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = PipelineConfig(warehouse="var/wh", landing="s3://bucket/landing")
    assert cfg.warehouse == str(tmp_path / "var" / "wh") and cfg.table_path("profiles") == str(tmp_path / "var/wh/profiles")
    assert cfg.landing == "s3://bucket/landing"
    assert cfg.with_(warehouse="s3://bucket/wh/").table_path("labels") == "s3://bucket/wh/labels"
