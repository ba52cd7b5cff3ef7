"""Ingest one night's landing files into the Delta tables.

landing/<date>/source=profiles|posts|labels (JSON lines), source=fb_profiles|follows (CSV lines)
  -> profiles (newest snapshot wins), posts, fb_profiles, follows, labels (imported: source
     'import'), images (the media files posts name: jobs.media), and quarantine for every rejected
     record with its reason; then user_texts (each profile with its captions) is rebuilt when
     profiles or posts changed. A bad record never stops the job; rerunning the same files
     changes nothing. Landing files are UTF-8: a line that is not is quarantined as invalid_utf8,
     and a file that is mostly not fails the job (ENCODING_ERROR_SHARE), since that is a file in
     another encoding, not a few bad records.
"""
from __future__ import annotations

import time
from functools import reduce
from pathlib import Path

import click
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import media, texts
from runtime import delta_io
from runtime.config import PipelineConfig, config_from_cli
from jobs.targets import SOURCE_PRIORITY, TARGETS
from runtime.task_summary import echo_summary
from schemas import landing as L

JSON_SOURCES = {"profiles": L.PROFILE_FIELDS, "posts": L.POST_FIELDS, "labels": L.LABEL_FIELDS}
SOURCES = ("profiles", "posts", "fb_profiles", "follows", "labels")
# A file with at least this share (and count) of non-UTF-8 records is in another encoding.
ENCODING_ERROR_SHARE = 0.5
ENCODING_ERROR_MIN = 4
CSV_SOURCES = {
    "fb_profiles": [("fb_id", "bigint", True), ("fb_username", "string", False), ("full_name", "string", False),
                    ("gender", "string", False), ("fetched_at", "timestamp", True)],
    "follows": [("follower_id", "bigint", True), ("followee_id", "bigint", True), ("observed_at", "timestamp", True)],
}
FB_GENDERS = ("male", "female", "custom")


# ---------------------------------------------------------------- extract
def read_landing(spark: SparkSession, config: PipelineConfig, source: str) -> DataFrame:
    """Raw lines of one source for the night, with the file each came from; empty if none."""
    path = Path(config.landing_path(f"source={source}"))
    if not path.exists():
        return spark.createDataFrame([], "value string, source_file string")
    return (spark.read.option("lineSep", "\n").text(str(path))
            .where(F.trim("value") != "")
            .select("value", F.col("_metadata.file_name").alias("source_file")))


def landing_ddl(fields) -> str:
    """A source's declared fields as a DDL schema string for Spark's readers."""
    return ", ".join(f"`{n}` {t.upper()}" for n, t, _ in fields)


def read_json_records(spark: SparkSession, path: str | Path, fields) -> DataFrame:
    """JSON lines parsed by Spark's JSON reader straight into the declared types, with the file
    each came from. A line it cannot parse, or whose field has the wrong type, keeps its text in
    `_corrupt`; blank lines give no record.

    The reader parses the file's bytes (about twice as fast here as from_json on text lines,
    which decodes every line to characters first: 14 s against 30 s for 1M users' posts).
    """
    schema = landing_ddl(fields) + ", `_corrupt` STRING"
    if not Path(path).exists():
        return spark.createDataFrame([], schema + ", source_file STRING")
    return (spark.read.schema(schema).option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", "_corrupt")
            .json(str(path)).select("*", F.col("_metadata.file_name").alias("source_file")))


def read_landing_json(spark: SparkSession, config: PipelineConfig, source: str) -> DataFrame:
    return read_json_records(spark, config.landing_path(f"source={source}"), JSON_SOURCES[source])


# ---------------------------------------------------------------- transform
def _first_reason(checks: list[tuple[Column, str]]) -> Column:
    """The first failing check's reason, or null for a good record."""
    return reduce(lambda acc, c: acc.when(c[0], F.lit(c[1])), checks[1:],
                  F.when(checks[0][0], F.lit(checks[0][1]))) if checks else F.lit(None).cast("string")


def _value_checks(typed: dict[str, Column], raw: dict[str, Column], fields) -> list[tuple[Column, str]]:
    checks = []
    for name, dtype, required in fields:
        if required:
            checks.append((raw[name].isNull(), f"missing:{name}"))
    for name, dtype, _ in fields:
        if dtype != "string":
            checks.append((raw[name].isNotNull() & typed[name].isNull(), f"wrong_type:{name}"))
    for name, _, _ in fields:
        if name in L.COUNT_FIELDS:
            checks.append((typed[name] < 0, f"negative:{name}"))
    return checks


def parse_json_records(records: DataFrame, fields) -> DataFrame:
    """Records from `read_json_records` -> the declared columns, `source_file`, `reason` (null when
    the record is good) and `value`, the rejected record's text (null when good).

    Only records the reader marked corrupt are parsed again, as VARIANT, to name the field whose
    type is wrong. A record that parsed but fails a value check (a missing or negative field)
    has no raw line from the reader: its `value` is the record re-serialised from its declared
    fields (to_json; absent and null fields both omitted).
    """
    corrupt = F.col("_corrupt")
    variant = F.try_parse_json(corrupt)
    corrupt_reason = F.when(~F.is_valid_utf8(corrupt), F.lit("invalid_utf8")).when(variant.isNull(), F.lit("malformed_json"))
    for n, t, _ in fields:
        if t != "string":
            corrupt_reason = corrupt_reason.when(F.try_variant_get(variant, f"$.{n}", "string").isNotNull() & F.col(n).isNull(),
                                                 F.lit(f"wrong_type:{n}"))
    corrupt_reason = corrupt_reason.otherwise(F.lit("malformed_json"))  # valid JSON but not an object
    reason = F.when(corrupt.isNotNull(), corrupt_reason)
    for name, _, required in fields:
        if required:
            reason = reason.when(F.col(name).isNull(), F.lit(f"missing:{name}"))
    for name, _, _ in fields:
        if name in L.COUNT_FIELDS:
            reason = reason.when(F.col(name) < 0, F.lit(f"negative:{name}"))
    declared = F.to_json(F.struct(*[F.col(n) for n, _, _ in fields]))
    return (records.withColumn("reason", reason)
            .withColumn("value", F.when(F.col("reason").isNotNull(), F.coalesce(corrupt, declared)))
            .select("value", "source_file", *[n for n, _, _ in fields], "reason"))


def parse_csv_lines(raw: DataFrame, fields) -> DataFrame:
    """CSV lines (header lines dropped) to typed columns plus `reason`."""
    header = ",".join(n for n, _, _ in fields)
    schema = ", ".join(f"`{n}` STRING" for n, _, _ in fields)
    parsed = (raw.where(F.trim("value") != header)
              .withColumn("_c", F.from_csv("value", schema, {"mode": "PERMISSIVE"})))
    present = {n: F.nullif(F.trim(F.col(f"_c.{n}")), F.lit("")) for n, _, _ in fields}
    parsed = parsed.select("value", "source_file", *[present[n].alias(f"_raw_{n}") for n, _, _ in fields])
    typed = {n: (F.col(f"_raw_{n}") if t == "string" else F.col(f"_raw_{n}").try_cast(t)) for n, t, _ in fields}
    parsed = parsed.select("*", *[typed[n].alias(n) for n, _, _ in fields])
    checks = [(~F.is_valid_utf8("value"), "invalid_utf8")]
    checks += _value_checks({n: F.col(n) for n, _, _ in fields}, {n: F.col(f"_raw_{n}") for n, _, _ in fields}, fields)
    return parsed.withColumn("reason", _first_reason(checks)).drop(*[f"_raw_{n}" for n, _, _ in fields])


def json_text_checks(parsed: DataFrame, names) -> tuple[DataFrame, DataFrame]:
    """(records with bad JSON text fields set null, one rejected row per bad field: the field's
    text as `value`, reason malformed_json:<field>). The good record stays good."""
    bad = {n: F.col(n).isNotNull() & F.try_parse_json(F.col(n)).isNull() for n in names}
    good = parsed.where(F.col("reason").isNull())
    rejects = [good.where(is_bad).select(F.col(n).alias("value"), "source_file", F.lit(f"malformed_json:{n}").alias("reason"))
               for n, is_bad in bad.items()]
    cleaned = parsed.select(*[F.when(F.col("reason").isNull() & bad[c], F.lit(None).cast("string")).otherwise(F.col(c)).alias(c)
                              if c in bad else F.col(c) for c in parsed.columns])
    return cleaned, reduce(DataFrame.unionByName, rejects)


def quarantine_rows(parsed: DataFrame, source: str, run_date) -> DataFrame:
    return (parsed.where(F.col("reason").isNotNull())
            .select(F.lit(source).alias("source"), "source_file",
                    F.substring("value", 1, L.RAW_KEEP_CHARS).alias("raw"), "reason",
                    F.sha2("value", 256).alias("record_hash"), F.lit(run_date).alias("run_date")))


def _content_hash(*cols: str) -> Column:
    return F.xxhash64(*cols)


# Above this many duplicated keys, deduplicate every row in one aggregation instead of
# broadcasting the duplicated keys and aggregating only their rows.
BROADCAST_DUPLICATE_KEYS = 2_000_000


def _newest_of_all(df: DataFrame, key: list[str], order: tuple[str, ...]) -> DataFrame:
    """One row per key: the max of (order..., rest) — a sort aggregate over every row."""
    rest = [c for c in df.columns if c not in key and c not in order]
    newest = F.max(F.struct(*order, *rest)).alias("_newest")
    return df.groupBy(*key).agg(newest).select(*key, "_newest.*").select(*df.columns)


def newest_per_key(df: DataFrame, key: list[str], order: tuple[str, ...] = ("fetched_at", "record_hash")) -> DataFrame:
    """One row per key: the newest `order` (fetched_at, ties broken by content hash), so the result
    does not depend on the order records arrive in.

    Most keys occur once a night: a cheap count of the key columns finds the duplicated ones
    (one action, meant for a cached `df`), and only their rows go through the aggregation that
    compares whole rows; the rest pass through without a shuffle.
    """
    duplicated = df.groupBy(*key).count().where(F.col("count") > 1).select(*key)
    n_duplicated = duplicated.count()
    if n_duplicated == 0:
        return df
    if n_duplicated > BROADCAST_DUPLICATE_KEYS:
        return _newest_of_all(df, key, order)
    duplicated = F.broadcast(duplicated)
    unique = df.join(duplicated, key, "left_anti")
    return unique.unionByName(_newest_of_all(df.join(duplicated, key, "left_semi"), key, order))


def shard_of(user_id: Column, shards: int) -> Column:
    """Stable shard of a user: the same on every run, engine and machine."""
    return F.pmod(F.xxhash64(user_id.cast("bigint")), F.lit(shards)).cast("int")


def profiles_from_records(parsed: DataFrame, shards: int, run_date) -> DataFrame:
    content = [n for n, _, _ in L.PROFILE_FIELDS if n not in ("id", "fetched_at")]
    good = (parsed.where(F.col("reason").isNull())
            .withColumnRenamed("id", "user_id")
            .withColumn("record_hash", _content_hash("user_id", *content))
            .withColumn("shard", shard_of(F.col("user_id"), shards))
            .withColumn("ingest_run", F.lit(run_date).cast("date")))
    return newest_per_key(good, ["user_id"])


def caption_over_limit(caption: Column) -> Column:
    """Whether a caption has more than CAPTION_LIMIT characters (false when null).

    Counting characters walks the whole string; a caption of at most CAPTION_LIMIT bytes has at
    most as many characters, so only the rare longer ones are counted.
    """
    return F.when(F.octet_length(caption) > L.CAPTION_LIMIT, F.length(caption) > L.CAPTION_LIMIT).otherwise(F.lit(False))


def posts_from_records(parsed: DataFrame, run_date) -> DataFrame:
    good = (parsed.where(F.col("reason").isNull())
            .withColumnRenamed("id", "post_id")
            .withColumn("caption_truncated", caption_over_limit(F.col("caption")))
            .withColumn("caption", F.when(F.col("caption_truncated"), F.substring("caption", 1, L.CAPTION_LIMIT))
                        .otherwise(F.col("caption")))
            .withColumn("record_hash", _content_hash("post_id", "user_id", "taken_at", "caption", "like_count", "comment_count",
                                                     "media_file"))
            .withColumn("ingest_run", F.lit(run_date).cast("date")))
    return newest_per_key(good, ["post_id"])


def fb_profiles_with_checks(parsed: DataFrame) -> DataFrame:
    """Normalise gender and vanity names; unknown gender words are a reason, not a guess."""
    gender = F.lower(F.col("gender"))
    return (parsed.withColumn("gender", gender)
            .withColumn("fb_username", F.lower("fb_username"))
            .withColumn("reason", F.coalesce(
                F.col("reason"),
                F.when(gender.isNotNull() & ~gender.isin(*FB_GENDERS), F.lit("invalid:gender")))))


def fb_profiles_from_records(parsed: DataFrame, run_date) -> DataFrame:
    good = (parsed.where(F.col("reason").isNull())
            .withColumn("record_hash", _content_hash("fb_id", "fb_username", "full_name", "gender"))
            .withColumn("ingest_run", F.lit(run_date).cast("date")))
    return newest_per_key(good, ["fb_id"])


def follows_from_records(parsed: DataFrame, run_date) -> DataFrame:
    """Good edges, one per (follower, followee): the latest observation of a repeated edge."""
    good = (parsed.where(F.col("reason").isNull())
            .withColumn("ingest_run", F.lit(run_date).cast("date")))
    return newest_per_key(good, ["follower_id", "followee_id"], order=("observed_at",))


def imported_label_checks(parsed: DataFrame, profiles: DataFrame) -> DataFrame:
    """Labels records -> (user_id resolved from username where needed, target, label, evidence,
    reason): a target the registry does not know, a class the target does not have, no user,
    a username or id no profile has, or two different labels for one user and target in one
    night are reasons, not guesses."""
    known = F.create_map(*[x for name, t in TARGETS.items() for x in (F.lit(name), F.array(*map(F.lit, t.classes)))])
    by_name = profiles.select(F.col("user_id").alias("_by_name"), F.lower("username").alias("_username"))
    ids = profiles.select(F.col("user_id").alias("_known_id"))
    resolved = (parsed.withColumn("_username", F.lower("username")).join(by_name, "_username", "left")
                .join(ids, F.col("user_id") == F.col("_known_id"), "left")
                .withColumn("user_id", F.coalesce("user_id", "_by_name")))
    classes = known[F.col("target")]
    checks = (F.when(F.col("reason").isNotNull(), F.col("reason"))
              .when(F.col("user_id").isNull() & F.col("username").isNull(), F.lit("missing:user_id_or_username"))
              .when(classes.isNull(), F.lit("invalid:target"))
              .when(~F.array_contains(classes, F.col("label")), F.lit("invalid:label"))
              .when(F.col("user_id").isNull() | (F.col("_known_id").isNull() & F.col("_by_name").isNull()),
                    F.lit("unknown_user")))
    checked = resolved.withColumn("reason", checks)
    labels_per_key = (checked.where(F.col("reason").isNull()).groupBy("user_id", "target")
                      .agg(F.countDistinct("label").alias("_labels")))
    return (checked.join(labels_per_key, ["user_id", "target"], "left")
            .withColumn("reason", F.coalesce("reason", F.when(F.col("_labels") > 1, F.lit("conflicting_labels"))))
            .withColumn("value", F.when(F.col("reason").isNotNull(), F.coalesce(
                "value", F.to_json(F.struct(*[F.col(n) for n, _, _ in L.LABEL_FIELDS])))))
            .select("value", "source_file", *[n for n, _, _ in L.LABEL_FIELDS], "reason"))


def imported_labels(checked: DataFrame, run_date) -> DataFrame:
    """Good label records as `labels` rows (source 'import'), one per user and target."""
    return (checked.where(F.col("reason").isNull())
            .select("user_id", "target", "label", F.lit("import").alias("source"),
                    F.coalesce("evidence", F.concat(F.lit("import:"), "source_file")).alias("evidence"),
                    F.lit(run_date).cast("date").alias("run_date"))
            .dropDuplicates(["user_id", "target"]))


def check_encoding(rejected: DataFrame, read_per_file: dict[str, int], source: str) -> None:
    """Fail on a file whose records are mostly not UTF-8: it was written in another encoding, and
    quarantining it line by line would hide that (or, for the lines that happen to decode, give
    mojibake)."""
    bad = {r["source_file"]: r["count"] for r in rejected.where(F.col("reason") == "invalid_utf8")
           .groupBy("source_file").count().collect()}
    for file, n_bad in bad.items():
        total = read_per_file.get(file, n_bad)
        if n_bad >= ENCODING_ERROR_MIN and n_bad >= ENCODING_ERROR_SHARE * total:
            raise ValueError(f"{source}: {file} is not UTF-8 ({n_bad} of {total} records are not): landing files "
                             "must be UTF-8; convert it (e.g. iconv -f latin1 -t utf-8) and deliver it again")


# ---------------------------------------------------------------- load
def run(spark: SparkSession, config: PipelineConfig) -> dict:
    """Ingest every source of config.run_date; returns the summary it prints."""
    night = Path(config.landing) / config.run_date.isoformat()
    if not night.is_dir():
        raise FileNotFoundError(f"no landing files for the night {config.run_date}: {night} does not exist "
                                "(a scheduled night reads the landing folder of its date)")
    summary: dict[str, dict] = {}
    run_date = config.run_date
    quarantined = []
    for source in SOURCES:
        started = time.perf_counter()
        if source == "labels" and not Path(config.landing_path("source=labels")).exists():
            # Most nights bring no labels: skip resolving nothing against every profile.
            summary[source] = {"read": 0, "inserted": 0, "updated": 0, "unchanged": 0, "kept_higher_priority": 0,
                               "quarantined": {}, "seconds": 0.0}
            continue
        if source in JSON_SOURCES:
            parsed = parse_json_records(read_landing_json(spark, config, source), JSON_SOURCES[source])
            if source == "labels":
                parsed = imported_label_checks(parsed, delta_io.read_table(spark, config, "profiles"))
        else:
            parsed = parse_csv_lines(read_landing(spark, config, source), CSV_SOURCES[source])
            if source == "fb_profiles":
                parsed = fb_profiles_with_checks(parsed)
        # Only rejected records need their raw line (for quarantine): good ones drop it before the
        # cache, which then holds the typed columns alone (parse_json_records already does this;
        # the CSV parser keeps every line's text for its callers).
        parsed = parsed.withColumn("value", F.when(F.col("reason").isNotNull(), F.col("value"))).cache()
        # One pass fills the cache and counts records (and good posts over the caption limit); the
        # reasons are tallied below from the few rejected rows, not by grouping every record.
        over_limit = caption_over_limit(F.col("caption")) if source == "posts" else F.lit(False)
        totals = parsed.agg(F.count(F.lit(1)).alias("read"),
                            F.count_if(F.col("reason").isNull() & over_limit).alias("over_limit")).first()
        read = totals["read"]
        field_rejects = None
        if source == "profiles":
            good_fields, field_rejects = json_text_checks(parsed, L.JSON_TEXT_FIELDS)
            counts = delta_io.upsert_newest(spark, config, "profiles", profiles_from_records(good_fields, config.shards, run_date))
        elif source == "posts":
            posts = posts_from_records(parsed, run_date)
            counts = delta_io.upsert_newest(spark, config, "posts", posts)
            counts["captions_truncated"] = totals["over_limit"]
            started_media = time.perf_counter()
            media_summary, media_rejects = media.ingest_night(spark, config, parsed.where(F.col("reason").isNull()))
            quarantined.append(media_rejects)
            summary["media"] = {**media_summary, "seconds": round(time.perf_counter() - started_media, 2)}
        elif source == "fb_profiles":
            counts = delta_io.upsert_newest(spark, config, "fb_profiles", fb_profiles_from_records(parsed, run_date))
        elif source == "labels":
            counts = delta_io.upsert_by_priority(spark, config, "labels", imported_labels(parsed, run_date),
                                                 SOURCE_PRIORITY)
        else:
            counts = delta_io.insert_missing(spark, config, "follows", follows_from_records(parsed, run_date), unique=True)
        # Rejected rows are few: keep them while `parsed` is cached, so writing quarantine at the
        # end does not parse every landing file again.
        rejected = quarantine_rows(parsed if field_rejects is None else
                                   parsed.select("value", "source_file", "reason").unionByName(field_rejects),
                                   source, run_date).cache()
        bad = dict(sorted((r["reason"], r["count"]) for r in rejected.groupBy("reason").count().collect()))
        if bad.get("invalid_utf8", 0) >= ENCODING_ERROR_MIN:
            per_file = {r["source_file"]: r["count"] for r in parsed.groupBy("source_file").count().collect()}
            check_encoding(rejected, per_file, source)
        quarantined.append(rejected)
        summary[source] = {"read": read, **counts, "quarantined": bad,
                           "seconds": round(time.perf_counter() - started, 2)}
        parsed.unpersist()
    started = time.perf_counter()
    q = reduce(DataFrame.unionByName, quarantined)
    summary["quarantine"] = {**delta_io.insert_missing(spark, config, "quarantine", q),
                             "seconds": round(time.perf_counter() - started, 2)}
    for rejected in quarantined:
        rejected.unpersist()
    changed = sum(summary[s].get(k, 0) for s in ("profiles", "posts") for k in ("inserted", "updated"))
    if changed or not delta_io.table_exists(spark, config, "user_texts"):
        started = time.perf_counter()
        summary["user_texts"] = {**texts.run(spark, config), "seconds": round(time.perf_counter() - started, 2)}
    else:  # a rerun of the same files: nothing to regroup
        summary["user_texts"] = {"users": 0, "seconds": 0.0, "unchanged": True}
    return summary


@click.command()
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Night to ingest (default: today).")
@click.option("--warehouse", default=None, help="Warehouse root (default: $DEMOGRAPHICS_WAREHOUSE or ./warehouse).")
@click.option("--landing", default=None, help="Landing root (default: $DEMOGRAPHICS_LANDING or ./landing).")
@click.option("--shards", type=int, default=None, help="Number of profile shards.")
def main(run_date, warehouse, landing, shards):
    from runtime.spark_session import start_spark

    cfg = config_from_cli(run_date=run_date, warehouse=warehouse, landing=landing, shards=shards)
    summary = run(start_spark("ingest"), cfg)
    echo_summary(cfg, "ingest", summary)


if __name__ == "__main__":
    main()
