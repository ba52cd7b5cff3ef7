"""Loading into Delta: a first load appends, a later one compares against what the table holds."""
import dataclasses
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest

from runtime import delta_io
from schemas import table_spec

NIGHT = dt.date(2026, 11, 22)
FB_COLUMNS = "fb_id long, fb_username string, full_name string, gender string, fetched_at timestamp, " \
             "record_hash long, source_file string, ingest_run date"
EDGE_COLUMNS = "follower_id long, followee_id long, observed_at timestamp, source_file string, ingest_run date"


def _fb(spark, rows):
    """rows: (fb_id, gender, day of November 2026, record_hash)."""
    return spark.createDataFrame(
        [(i, f"u{i}", "A B", g, dt.datetime(2026, 11, d), h, "f.csv", NIGHT) for i, g, d, h in rows], FB_COLUMNS)


def _table(spark, config, name):
    return {r["fb_id"]: (r["gender"], r["fetched_at"].day) for r in
            spark.read.format("delta").load(config.table_path(name)).collect()}


def test_first_load_creates_the_table_and_appends(spark, config):
    counts = delta_io.upsert_newest(spark, config, "fb_profiles", _fb(spark, [(1, "male", 20, 1), (2, "female", 20, 2)]))
    assert counts == {"inserted": 2, "updated": 0, "unchanged": 0}
    assert _table(spark, config, "fb_profiles") == {1: ("male", 20), 2: ("female", 20)}


@pytest.mark.parametrize("first_rows", [[(1, "male", 20, 1), (2, "female", 20, 2)], []])
def test_later_load_keeps_the_newest_row_of_each_key(spark, config, first_rows):
    # [] : the table exists but holds no rows (a run stopped after creating it).
    if first_rows:
        delta_io.upsert_newest(spark, config, "fb_profiles", _fb(spark, first_rows))
    else:
        delta_io.ensure_table(spark, config, "fb_profiles")
    later = _fb(spark, [(1, "female", 21, 5), (2, "male", 19, 6), (3, "custom", 20, 7)])
    counts = delta_io.upsert_newest(spark, config, "fb_profiles", later)
    if first_rows:
        assert counts == {"inserted": 1, "updated": 1, "unchanged": 1}
        assert _table(spark, config, "fb_profiles") == {1: ("female", 21), 2: ("female", 20), 3: ("custom", 20)}
    else:
        assert counts == {"inserted": 3, "updated": 0, "unchanged": 0}
        assert _table(spark, config, "fb_profiles") == {1: ("female", 21), 2: ("male", 19), 3: ("custom", 20)}
    again = delta_io.upsert_newest(spark, config, "fb_profiles", later)
    assert again == {"inserted": 0, "updated": 0, "unchanged": 3}


def test_insert_missing_adds_only_new_keys(spark, config):
    def edges(pairs):
        return spark.createDataFrame([(a, b, dt.datetime(2026, 11, 20), "f.csv", NIGHT) for a, b in pairs], EDGE_COLUMNS)

    assert delta_io.insert_missing(spark, config, "follows", edges([(1, 2), (2, 1)]), unique=True) == \
        {"inserted": 2, "unchanged": 0}
    assert delta_io.insert_missing(spark, config, "follows", edges([(1, 2), (1, 3), (1, 3)])) == \
        {"inserted": 1, "unchanged": 1}
    got = spark.read.format("delta").load(config.table_path("follows")).select("follower_id", "followee_id").collect()
    assert sorted(tuple(r) for r in got) == [(1, 2), (1, 3), (2, 1)]


def test_writers_creating_the_same_new_table_at_once_all_get_it(spark, config):
    # Two targets' score tasks write their first predictions into a fresh namespace together.
    writers = 4
    for round_ in range(2):
        start = Barrier(writers)
        round_config = dataclasses.replace(config, warehouse=f"{config.warehouse}/round-{round_}")

        def create(_):
            start.wait()
            return delta_io.ensure_table(spark, round_config, "predictions").toDF().columns

        with ThreadPoolExecutor(writers) as pool:
            columns = list(pool.map(create, range(writers)))
        assert columns == [list(table_spec("predictions").columns)] * writers
        history = spark.sql(f"describe history delta.`{round_config.table_path('predictions')}`").collect()
        assert [r["operation"] for r in history] == ["CREATE TABLE"]


def test_a_table_written_before_its_spec_gained_a_column_gets_it(spark, config):
    from pyspark.sql.types import StructType

    spec = table_spec("fb_profiles")
    older = StructType([f for f in spec.schema.fields if f.name != "source_file"])
    rows = _fb(spark, [(1, "male", 20, 1)]).drop("source_file")
    rows.write.format("delta").save(config.table_path("fb_profiles"))  # as an older release wrote it
    assert "source_file" not in spark.read.format("delta").load(config.table_path("fb_profiles")).columns
    table = delta_io.ensure_table(spark, config, "fb_profiles")
    assert [f.name for f in table.toDF().schema.fields] == [f.name for f in older.fields] + ["source_file"]
    assert _table(spark, config, "fb_profiles") == {1: ("male", 20)}  # old rows kept, the new column null
    counts = delta_io.upsert_newest(spark, config, "fb_profiles", _fb(spark, [(2, "female", 21, 2)]))
    assert counts["inserted"] == 1


def test_two_targets_labels_merging_into_one_table_at_once_both_land(spark, config):
    # Two targets' labels tasks in a fresh namespace (seen in the browser check: one failed with
    # ConcurrentAppendException); each round's writers start together behind a barrier.
    import datetime as dt

    from jobs.labels import SOURCE_PRIORITY

    targets = ("gender", "country", "occupation")
    for round_ in range(2):
        start = Barrier(len(targets))
        round_config = dataclasses.replace(config, warehouse=f"{config.warehouse}/labels-{round_}")

        def rows_of(target, users):
            return spark.createDataFrame(
                [(u, target, f"{target}-{u % 2}", "import", "truth", dt.date(2026, 11, 22)) for u in users],
                "user_id long, target string, label string, source string, evidence string, run_date date")

        def write(target):
            rows = rows_of(target, range(50))
            start.wait()
            return delta_io.upsert_by_priority(spark, round_config, "labels", rows, SOURCE_PRIORITY)

        if round_:  # a night's labels already there: every writer merges
            delta_io.upsert_by_priority(spark, round_config, "labels", rows_of("authenticity", [1]), SOURCE_PRIORITY)

        with ThreadPoolExecutor(len(targets)) as pool:
            list(pool.map(write, targets))
        got = delta_io.read_table(spark, round_config, "labels").groupBy("target").count().collect()
        assert {r["target"]: r["count"] for r in got} == {t: 50 for t in targets} | ({"authenticity": 1} if round_ else {})
