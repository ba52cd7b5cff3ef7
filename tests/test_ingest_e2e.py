"""Generate a small world, ingest it into Delta, and check nothing good is lost and reruns are no-ops."""
import datetime as dt
import json
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from jobs import ingest
from jobs.query import duckdb_connection

from tests.conftest import NIGHT, WORLD_USERS as USERS, world_copy


def _table(spark, cfg, name):
    return spark.read.format("delta").load(cfg.table_path(name))


def test_every_generated_user_is_in_profiles_with_its_newest_snapshot(spark, world):
    cfg, summary = world
    truth = spark.read.json(f"{cfg.landing}/{NIGHT}/source=_truth")
    profiles = _table(spark, cfg, "profiles")
    assert profiles.count() == USERS == summary["profiles"]["inserted"]
    assert truth.join(profiles, truth.user_id == profiles.user_id, "left_anti").count() == 0
    assert profiles.where(F.col("biography") == "stale snapshot").count() == 0
    assert profiles.groupBy("user_id").count().where("count > 1").count() == 0


def test_broken_records_land_in_quarantine_with_their_reasons(spark, world):
    cfg, summary = world
    reasons = {r["reason"] for r in _table(spark, cfg, "quarantine").select("reason").distinct().collect()}
    assert {"malformed_json", "missing:id", "wrong_type:follower_count", "negative:media_count", "invalid_utf8",
            "missing:user_id", "wrong_type:fb_id", "missing:followee_id", "media_missing", "media_unreadable"} <= reasons
    total_bad = sum(sum(s["quarantined"].values()) for k, s in summary.items() if k not in ("quarantine", "user_texts"))
    assert summary["quarantine"]["inserted"] == total_bad
    assert summary["posts"]["captions_truncated"] >= 1


def test_posts_fb_profiles_and_follows_are_loaded(spark, world):
    cfg, summary = world
    lines = {s: 0 for s in ("posts", "follows")}
    for s in lines:
        lines[s] = spark.read.text(f"{cfg.landing}/{NIGHT}/source={s}").count()
    posts = _table(spark, cfg, "posts")
    assert posts.count() == summary["posts"]["inserted"] == lines["posts"] - sum(summary["posts"]["quarantined"].values())
    assert posts.agg(F.max(F.length("caption"))).first()[0] <= 2200
    assert _table(spark, cfg, "follows").count() == summary["follows"]["inserted"] > USERS
    assert _table(spark, cfg, "fb_profiles").where("gender in ('male','female')").count() > 100


def test_user_texts_holds_every_profile_with_its_posts_captions(spark, world):
    cfg, summary = world
    texts = _table(spark, cfg, "user_texts")
    profiles, posts = _table(spark, cfg, "profiles"), _table(spark, cfg, "posts")
    assert texts.count() == summary["user_texts"]["users"] == profiles.count()
    # Same (user, caption) multiset as the posts table; bio, name and shard as in profiles.
    exploded = texts.select("user_id", F.explode("captions").alias("caption"))
    assert exploded.exceptAll(posts.select("user_id", "caption")).count() == 0
    assert posts.select("user_id", "caption").exceptAll(exploded).count() == 0
    assert texts.select("user_id", "shard", "biography", "full_name").exceptAll(
        profiles.select("user_id", "shard", "biography", "full_name")).count() == 0
    no_posts = profiles.join(posts, "user_id", "left_anti").select("user_id")
    assert no_posts.count() > 0
    assert texts.join(no_posts, "user_id").where(F.size("captions") != 0).count() == 0


def test_rerun_changes_nothing(spark, world, tmp_path):
    cfg = world_copy(world[0], tmp_path)  # the shared world is read by the other workers meanwhile
    from delta.tables import DeltaTable

    texts_version = DeltaTable.forPath(spark, cfg.table_path("user_texts")).history(1).first()["version"]
    before = {t: _table(spark, cfg, t).count() for t in ("profiles", "posts", "images", "fb_profiles", "follows", "quarantine")}
    again = ingest.run(spark, cfg)
    assert again["user_texts"].get("unchanged") is True
    assert DeltaTable.forPath(spark, cfg.table_path("user_texts")).history(1).first()["version"] == texts_version
    for source in ("profiles", "posts", "fb_profiles"):
        assert again[source]["inserted"] == 0 and again[source]["updated"] == 0
    assert again["follows"]["inserted"] == 0 and again["quarantine"]["inserted"] == 0
    assert again["media"]["decoded"] == 0 and before["images"] > 0
    after = {t: _table(spark, cfg, t).count() for t in before}
    assert after == before


def test_next_night_newer_snapshot_updates_older_one_does_not(spark, world, tmp_path):
    cfg = world_copy(world[0], tmp_path)
    profiles = _table(spark, cfg, "profiles")
    a, b = profiles.orderBy("user_id").limit(2).collect()
    night2 = cfg.with_(run_date=NIGHT + dt.timedelta(days=1))
    folder = f"{cfg.landing}/{night2.run_date}/source=profiles"
    import os
    os.makedirs(folder)
    newer = {"id": a["user_id"], "username": a["username"], "biography": "moved to Lyon 📍",
             "fetched_at": "2026-11-23T01:00:00Z"}
    older = {"id": b["user_id"], "username": b["username"], "biography": "an old bio",
             "fetched_at": "2020-01-01T00:00:00Z"}
    with open(f"{folder}/part-0.txt", "w") as f:
        f.write(json.dumps(newer) + "\n" + json.dumps(older) + "\n")
    summary = ingest.run(spark, night2)
    assert summary["profiles"]["updated"] == 1 and summary["profiles"]["unchanged"] == 1
    got = {r["user_id"]: r for r in _table(spark, cfg, "profiles").where(F.col("user_id").isin(a["user_id"], b["user_id"])).collect()}
    assert got[a["user_id"]]["biography"] == "moved to Lyon 📍"
    assert got[b["user_id"]]["biography"] == b["biography"]
    texts = {r["user_id"]: r["biography"] for r in _table(spark, cfg, "user_texts")
             .where(F.col("user_id").isin(a["user_id"], b["user_id"])).collect()}
    assert texts == {a["user_id"]: "moved to Lyon 📍", b["user_id"]: b["biography"]}


def test_tables_are_queryable_from_duckdb_and_spark_sql(spark, world):
    cfg, _ = world
    con = duckdb_connection(cfg)
    n_duck = con.sql("select count(*) from profiles").fetchall()[0][0]
    from jobs.query import register_spark_views
    assert "quarantine" in register_spark_views(spark, cfg)
    n_spark = spark.sql("select count(*) from profiles").first()[0]
    assert n_duck == n_spark == USERS
    joined = con.sql("select count(*) from posts join profiles using (user_id)").fetchall()[0][0]
    assert joined == spark.sql("select count(*) from posts join profiles using (user_id)").first()[0] > 0
    # Timestamps (written as Parquet int64 microseconds) read as the same instants in both engines.
    for table, column in (("profiles", "fetched_at"), ("posts", "taken_at"), ("follows", "observed_at")):
        duck = con.sql(f"select epoch_us(min({column})), epoch_us(max({column})) from {table}").fetchall()[0]
        spark_us = spark.sql(f"select unix_micros(min({column})), unix_micros(max({column})) from {table}").first()
        assert duck == tuple(spark_us) and duck[0] < duck[1], (table, duck, spark_us)


def test_timestamps_are_written_as_int64_microseconds(world):
    """Not Parquet's deprecated INT96, which other readers handle worse and which cost a visible
    share of every write (a 12-byte dictionary per timestamp column)."""
    import pyarrow.parquet as pq

    cfg, _ = world
    files = sorted(Path(cfg.table_path("posts")).glob("*.parquet"))
    assert files
    schema = pq.ParquetFile(files[0]).schema
    for column in ("taken_at", "fetched_at"):
        physical = schema.column(schema.names.index(column)).physical_type
        assert physical == "INT64", (column, physical)


def test_a_night_without_landing_files_fails_with_its_path_and_writes_nothing(spark, world):
    cfg, _ = world
    before = _table(spark, cfg, "profiles").count()
    empty_night = cfg.with_(run_date=NIGHT - dt.timedelta(days=30))
    with pytest.raises(FileNotFoundError, match=f"{empty_night.run_date}.*does not exist"):
        ingest.run(spark, empty_night)
    assert _table(spark, cfg, "profiles").count() == before
