"""Audience demographics: for every account's followers and every hashtag's contributors, each
target's class shares corrected for the classifier's errors, with 95% intervals -> Delta
`audience_demographics`, one row per group x target x class x night.

  python -m jobs.audience --run-date 2026-12-04
  python -m jobs.audience show --account NAME      (or --hashtag TAG)

Members: an account's followers (`follows`); a hashtag's contributors, the users who posted it
in the WINDOW_DAYS before the night. Fakes first: every target but authenticity is a share of
the authentic members. Dropping the members the authenticity model calls fake is not enough: the
fakes it lets through carry predictions of the target too, and an audience with many bought fakes
is pulled toward their mix. So the target is corrected jointly with authenticity
(jobs.quantification.fakes_first: classes [fake, *classes], every member both models scored), the
matrix built here from the two models' held-out users (train's held_out.npz): the target's
held-out users with the authenticity model's P(fake) of them, and the authenticity correction's
labelled fakes with the target's posteriors of them. Models logged before held-out users were
kept are counted the old way (predicted authentic members, the target's own correction). The
authentic share itself is corrected by its own model's correction, among every scored member.
A target whose definition names an audience_from (gender: gender_name) is counted with that
model's predictions and correction, when it ran tonight. Shares by CC, ACC and PACC; `share`,
`low`, `high` are the product's pick (PACC). Work: members' terms by one mapInArrow (numpy per
batch, not per group), one group-by of their means, squares and products, then the clip,
interval and tier by a second mapInArrow, numpy over every group of a batch at once -- nothing
per group on the driver. (As Spark column arithmetic, 37 classes' intervals made a plan the
analyser did not finish planning in 4 minutes.)

Reliability, stated in every row: `tier` high (>= 1,000 members counted and the interval's
half-width <= 3 points), medium (>= 200 and <= 10 points), suppressed otherwise, with the
`reason` (fewer_than_200_members, interval_wider_than_10_points, no_authentic_members,
no_scored_members); a suppressed row keeps its counts and has null shares, never NaN.
"""
from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

from jobs.quantification import (METHODS, Z95, fakes_first, group_estimates, member_rows, member_terms as member_terms_of,
                                  method_correction)
from jobs.targets import audience_counters, target_def
from runtime import delta_io
from runtime.config import PipelineConfig, config_from_cli
from udfs.model import load_held_out

WINDOW_DAYS = 30
MIN_MEMBERS = 200
MAX_HALF_WIDTH = 0.10
HIGH_MEMBERS, HIGH_HALF_WIDTH = 1000, 0.03
PICK = "pacc"
MAX_JOINT_USERS = 20_000  # the counted model's held-out users a fakes-first matrix is measured on, at most
HASHTAG = r"(?U)#(\w+)"


def account_members(follows: DataFrame) -> DataFrame:
    """(group_kind, group_id, user_id): every account's followers."""
    return follows.select(F.lit("account").alias("group_kind"), F.col("followee_id").cast("string").alias("group_id"),
                          F.col("follower_id").alias("user_id")).distinct()


def hashtag_members(posts: DataFrame, run_date, window_days: int = WINDOW_DAYS) -> DataFrame:
    """(group_kind, group_id, user_id): the users who posted each hashtag in the window."""
    since = F.date_sub(F.lit(run_date).cast("date"), window_days)
    recent = posts.where(F.col("taken_at").isNull() | (F.to_date("taken_at") >= since))
    tags = recent.select("user_id", F.explode(F.regexp_extract_all(F.lower("caption"), F.lit(HASHTAG), 1)).alias("tag"))
    return tags.select(F.lit("hashtag").alias("group_kind"), F.col("tag").alias("group_id"), "user_id").distinct()


def _terms_schema(k: int) -> StructType:
    fields = [StructField("group_kind", StringType()), StructField("group_id", StringType()),
              StructField("model_version", StringType()), StructField("correction_key", StringType()),
              StructField("authentic", DoubleType())]
    fields += [StructField(name, DoubleType()) for name in _term_names(k)]
    return StructType(fields)


def _term_names(k: int) -> list[str]:
    return [f"{m}_{x}" for m in METHODS for x in [*(f"t_{j}" for j in range(k)), "s", "lead"]]


def member_terms(batches, classes: list[str], corrections: dict[str, dict]):
    """Per member: its terms t (every class), s and lead for every method (jobs.quantification),
    in numpy per Arrow batch; a member with a P(fake) column gets the fakes-first joint row."""
    import pyarrow as pa

    k = len(classes)
    parts = {key: {m: method_correction(c, m, k) for m in METHODS} for key, c in corrections.items()}
    schema = pa.schema([(f.name, pa.string() if isinstance(f.dataType, StringType) else pa.float64())
                        for f in _terms_schema(k).fields])
    for batch in batches:
        probs = np.column_stack([batch.column(f"p_{j}").to_numpy(zero_copy_only=False) for j in range(k)]).astype(np.float64)
        names = batch.schema.names
        fake = batch.column("p_fake").to_numpy(zero_copy_only=False).astype(np.float64) if "p_fake" in names else None
        keys = np.asarray(batch.column("correction_key").to_pylist(), dtype=object)
        terms = {name: np.zeros(len(probs)) for name in _term_names(k)}
        for key in set(keys):
            rows = keys == key
            for m in METHODS:
                t, total, lead = member_terms_of(member_rows(m, probs[rows], None if fake is None else fake[rows]), parts[key][m])
                for j in range(k):
                    terms[f"{m}_t_{j}"][rows] = t[:, j]
                terms[f"{m}_s"][rows], terms[f"{m}_lead"][rows] = total, lead
        authentic = np.ones(len(probs)) if fake is None else (fake <= 0.5).astype(np.float64)
        arrays = [batch.column("group_kind"), batch.column("group_id"), batch.column("model_version"),
                  batch.column("correction_key"), pa.array(authentic)]
        arrays += [pa.array(terms[name]) for name in _term_names(k)]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def group_shares(members: DataFrame, predictions: DataFrame, authenticity: DataFrame | None, target: str,
                 classes: list[str], corrections: dict[str, dict], model_name: str | None = None,
                 fakes_first: bool = False) -> DataFrame:
    """Long rows (group, target, class) with counts, every method's share and interval, tier;
    predictions are model_name's (default: the target's own). `authenticity` (user_id,
    auth_label, p_fake, auth_version): None for the authenticity target itself (every scored
    member counts). With it, fakes first: `fakes_first` counts every member scored by both models
    with the joint correction (keys "version|authenticity version"), else only the members
    predicted authentic with the target's own (keys: its versions)."""
    k = len(classes)
    scored = predictions.select("user_id", "label", "model_version",
                                *[F.col("probabilities")[c].cast("double").alias(f"p_{j}") for j, c in enumerate(classes)])
    joined = members.join(scored, "user_id", "left")
    if authenticity is not None:
        joined = joined.join(authenticity, "user_id", "left").withColumn("is_authentic", F.col("auth_label") == "authentic")
    else:
        joined = joined.withColumn("is_authentic", F.col("label").isNotNull())
    counts = joined.groupBy("group_kind", "group_id").agg(
        F.count("*").alias("members"), F.count("label").alias("scored"),
        F.count(F.when(F.col("is_authentic"), 1)).alias("predicted_authentic"),
        F.count(F.when(F.col("is_authentic") & (F.col("label") == "uncertain"), 1)).alias("uncertain"))
    probs = [f"p_{j}" for j in range(k)]
    if fakes_first:
        counted = joined.where(F.col("label").isNotNull() & F.col("p_fake").isNotNull()).select(
            "group_kind", "group_id", "model_version", F.concat_ws("|", "model_version", "auth_version").alias("correction_key"),
            "p_fake", *probs)
    else:
        counted = joined.where(F.col("is_authentic") & F.col("label").isNotNull()).select(
            "group_kind", "group_id", "model_version", F.col("model_version").alias("correction_key"), *probs)
    terms = counted.mapInArrow(lambda b: member_terms(b, classes, corrections), _terms_schema(k))
    aggs = [F.count("*").alias("n"), F.sum("authentic").alias("counted"), F.first("model_version").alias("model_version"),
            F.countDistinct("model_version").alias("model_versions"), F.first("correction_key").alias("correction_key")]
    for m in METHODS:
        aggs += [F.avg(f"{m}_s").alias(f"{m}_s"), F.avg(F.col(f"{m}_s") ** 2).alias(f"{m}_s2"),
                 F.avg(f"{m}_lead").alias(f"{m}_lead")]
        for j in range(k):
            t = F.col(f"{m}_t_{j}")
            aggs += [F.avg(t).alias(f"{m}_t_{j}"), F.avg(t ** 2).alias(f"{m}_tt_{j}"), F.avg(t * F.col(f"{m}_s")).alias(f"{m}_ts_{j}")]
    means = terms.groupBy("group_kind", "group_id").agg(*aggs)
    wide = counts.join(means, ["group_kind", "group_id"], "left")
    model_name = model_name or target
    method = f"{PICK}_fakes_first" if fakes_first else PICK
    return wide.mapInArrow(lambda b: group_rows(b, target, classes, corrections, model_name, method),
                           table_spec_without_date())


def table_spec_without_date() -> StructType:
    from schemas.tables import table_spec

    return StructType([f for f in table_spec("audience_demographics").schema.fields if f.name != "run_date"])


def group_rows(batches, target: str, classes: list[str], corrections: dict[str, dict], model_name: str,
               method: str = PICK):
    """Aggregated groups (counts, means of the members' terms, their squares and products) -> the
    table's long rows, vectorised over the groups of each batch (jobs.quantification's
    group_estimates): shares, intervals, the tier."""
    import pyarrow as pa

    k = len(classes)
    names = [f.name for f in table_spec_without_date().fields]
    parts = {key: {m: method_correction(c, m, k) for m in METHODS} for key, c in corrections.items()}
    for batch in batches:
        g = batch.num_rows
        col = lambda name: batch.column(name).to_numpy(zero_copy_only=False)  # noqa: E731
        num = lambda name: np.nan_to_num(col(name).astype(np.float64))  # noqa: E731
        n = num("n")
        keys = np.asarray(batch.column("correction_key").to_pylist(), dtype=object)
        versions = np.asarray(batch.column("model_version").to_pylist(), dtype=object)
        out = {}
        for m in METHODS:
            stack = lambda x: np.column_stack([num(f"{m}_{x}_{j}") for j in range(k)]) if g else np.zeros((0, k))  # noqa: E731
            size = k + max([parts[key][m]["offset"] for key in set(keys) - {None}] or [0])
            var = {x: np.zeros((g, size, k)) for x in ("a", "b")}
            var["d"] = np.zeros((g, size))
            offset = 0
            for key in set(keys) - {None}:
                rows, part = keys == key, parts[key][m]
                offset = part["offset"]
                var["a"][rows] = np.asarray(part["matrix_variance"])
                var["b"][rows] = np.asarray(part["matrix_variance_b"])
                var["d"][rows] = np.asarray(part["matrix_variance_d"])
            share, sd = group_estimates(n, stack("t"), stack("tt"), stack("ts"), num(f"{m}_s"), num(f"{m}_s2"),
                                        num(f"{m}_lead"), var["a"], var["b"], var["d"], offset)
            out[m] = (share, np.clip(share - Z95 * sd, 0, 1), np.clip(share + Z95 * sd, 0, 1))
        counted = num("counted").astype(np.int64)
        scored = col("scored").astype(np.int64)
        half = (out[PICK][2] - out[PICK][1]).max(axis=1) / 2 if g else np.zeros(0)
        reason = np.full(g, None, dtype=object)
        reason[half > MAX_HALF_WIDTH] = "interval_wider_than_10_points"
        reason[counted < MIN_MEMBERS] = "fewer_than_200_members"
        reason[counted == 0] = "no_authentic_members"
        reason[scored == 0] = "no_scored_members"
        tier = np.where(reason != None, "suppressed",  # noqa: E711 (elementwise)
                        np.where((counted >= HIGH_MEMBERS) & (half <= HIGH_HALF_WIDTH), "high", "medium"))
        several = num("model_versions") > 1
        version = np.array([None if v is None else ("several" if s else v) for v, s in zip(versions, several)], dtype=object)
        shown, some = tier != "suppressed", counted > 0
        columns = {name: [] for name in names}
        for j, c in enumerate(classes):
            columns["group_kind"].append(col("group_kind")), columns["group_id"].append(col("group_id"))
            columns["target"].append(np.full(g, target, dtype=object)), columns["class"].append(np.full(g, c, dtype=object))
            for name in ("members", "scored", "predicted_authentic", "uncertain"):
                columns[name].append(col(name).astype(np.int64))
            columns["counted"].append(counted)
            for m in METHODS:
                for x, values in zip(("share", "low", "high"), out[m]):
                    columns[f"{m}_{x}"].append(np.where(some, values[:, j], np.nan))
            for x, values in zip(("share", "low", "high"), out[PICK]):
                columns[x].append(np.where(shown, values[:, j], np.nan))
            columns["method"].append(np.full(g, method, dtype=object))
            columns["model_version"].append(version)
            columns["model_name"].append(np.full(g, model_name, dtype=object))
            columns["tier"].append(tier)
            columns["reason"].append(reason)
        arrays = []
        for f in table_spec_without_date().fields:
            values = np.concatenate(columns[f.name]) if g else np.array([])
            if isinstance(f.dataType, DoubleType):
                arrays.append(pa.array(values.astype(np.float64), mask=np.isnan(values.astype(np.float64))))
            elif f.dataType.typeName() == "long":
                arrays.append(pa.array(values.astype(np.int64)))
            else:
                arrays.append(pa.array(values.tolist(), pa.string()))
        yield pa.RecordBatch.from_arrays(arrays, names=names)


def correction_folder(target: str, version: str) -> Path:
    from jobs.score import resolve_champion

    folder, _, _ = resolve_champion(target, f"models:/{target}/{version}")
    return Path(folder)


def corrections_of(predictions: DataFrame, target: str) -> dict[str, dict]:
    """model version -> its correction (jobs.quantification.matrices), from each version's artifact."""
    versions = [r["model_version"] for r in predictions.select("model_version").distinct().collect()]
    out = {}
    for version in versions:
        meta = json.loads((correction_folder(target, version) / "model.json").read_text()).get("meta", {})
        if "quantification" not in meta:
            raise ValueError(f"models:/{target}/{version} carries no quantification matrices: retrain it")
        out[version] = meta["quantification"]
    return out


def held_out_of(target: str, version: str) -> dict | None:
    """The users a model version's correction was measured on (train's held_out.npz), if logged."""
    return load_held_out(correction_folder(target, version))


def probabilities_of(predictions: DataFrame, users: np.ndarray, classes: list[str]) -> dict[int, np.ndarray]:
    """user id -> tonight's probabilities of a few (held-out) users, collected to the driver."""
    spark = predictions.sparkSession
    ids = spark.createDataFrame([(int(u),) for u in users], "user_id long")
    rows = predictions.join(F.broadcast(ids), "user_id").select(
        "user_id", *[F.col("probabilities")[c].cast("double").alias(c) for c in classes]).collect()
    return {r["user_id"]: np.array([r[c] for c in classes], dtype=np.float64) for r in rows}


def fakes_first_corrections(predictions: DataFrame, auth_predictions: DataFrame, target: str,
                            classes: list[str]) -> dict[str, dict] | None:
    """"version|authenticity version" -> the joint correction (quantification.fakes_first) of every
    pair of versions scored tonight, or None when a version logged no held-out users (trained
    before they were kept: then the members predicted authentic are counted, as before).
      the target's rows: its held-out users, P(fake) by the authenticity model -- out of fold for
        the users it was trained on, tonight's for the rest;
      the fake row: the authenticity correction's labelled fakes, their out-of-fold P(fake) and
        the target's posteriors of them tonight."""
    auth_classes = list(target_def("authenticity").classes)
    fake_index = auth_classes.index("fake")
    pairs = [(r["v"], r["a"]) for r in predictions.select("user_id", F.col("model_version").alias("v")).join(
        auth_predictions.select("user_id", F.col("model_version").alias("a")), "user_id").select("v", "a").distinct().collect()]
    out = {}
    for version, auth_version in pairs:
        mine, auth = held_out_of(target, version), held_out_of("authenticity", auth_version)
        if mine is None or auth is None:
            return None
        if len(mine["y"]) > MAX_JOINT_USERS:  # enough for the matrix; fewer to collect (a fixed draw: reruns agree)
            chosen = np.sort(np.random.default_rng(0).choice(len(mine["y"]), MAX_JOINT_USERS, replace=False))
            mine = {name: (a[chosen] if a.ndim else a) for name, a in mine.items()}
        auth_oof = dict(zip(auth["user_id"].tolist(), auth["probabilities"][:, fake_index]))
        tonight = probabilities_of(auth_predictions.where(F.col("model_version") == auth_version), mine["user_id"], auth_classes)
        fake_of = np.array([auth_oof.get(u, tonight[u][fake_index] if u in tonight else np.nan) for u in mine["user_id"].tolist()])
        keep = ~np.isnan(fake_of)
        is_fake = auth["y"] == fake_index
        fakes = auth["user_id"][is_fake]
        theirs = probabilities_of(predictions.where(F.col("model_version") == version), fakes, classes)
        scored_fakes = np.array([u in theirs for u in fakes.tolist()], dtype=bool)
        out[f"{version}|{auth_version}"] = fakes_first(
            mine["y"][keep], mine["probabilities"][keep], fake_of[keep],
            np.array([theirs[u] for u in fakes[scored_fakes].tolist()]).reshape(-1, len(classes)),
            auth["probabilities"][is_fake][scored_fakes, fake_index], classes,
            mine["weight"][keep] if mine["weighted"] else None, auth["weight"][is_fake][scored_fakes] if auth["weighted"] else None)
    return out


def counted_with(target: str, tonight: list[str]) -> str:
    """The target whose predictions count `target`'s audiences: its definition's audience_from
    when that ran tonight, else its own (the rows name it)."""
    source = target_def(target).audience_from
    return source if source in tonight else target


def authenticity_of(predictions: DataFrame) -> DataFrame:
    """(user_id, auth_label, p_fake, auth_version): the authenticity model's outputs, as
    group_shares counts fakes first with them."""
    return predictions.where(F.col("target") == "authenticity").select(
        "user_id", F.col("label").alias("auth_label"), F.col("probabilities")["fake"].cast("double").alias("p_fake"),
        F.col("model_version").alias("auth_version"))


def counting_corrections(predictions: DataFrame, mine: DataFrame, target: str, counter: str,
                         with_authenticity: bool) -> tuple[dict[str, dict], dict[str, dict] | None]:
    """(the counted model's own corrections, the fakes-first joint ones or None) of a target."""
    corrections = corrections_of(mine, counter)
    if target == "authenticity" or not with_authenticity:
        return corrections, None
    auth = predictions.where(F.col("target") == "authenticity")
    return corrections, fakes_first_corrections(mine, auth, counter, list(target_def(target).classes))


def run(spark: SparkSession, config: PipelineConfig, targets: list[str] | None = None) -> dict:
    predictions = delta_io.read_table(spark, config, "predictions").where(F.col("run_date") == F.lit(config.run_date))
    tonight = [r["target"] for r in predictions.select("target").distinct().collect()]
    from jobs.targets import TARGETS

    targets = [t for t in (targets or list(TARGETS)) if t in tonight]
    if not targets:
        raise RuntimeError(f"no predictions for {config.run_date}: run score first")
    members = account_members(delta_io.read_table(spark, config, "follows")).unionByName(
        hashtag_members(delta_io.read_table(spark, config, "posts"), config.run_date)).cache()
    authenticity = authenticity_of(predictions) if "authenticity" in tonight else None
    summary = {"run_date": str(config.run_date), "targets": {}}
    for target in [t for t in targets if t not in audience_counters()]:
        tdef = target_def(target)
        counter = counted_with(target, tonight)
        mine = predictions.where(F.col("target") == counter)
        corrections, joint = counting_corrections(predictions, mine, target, counter, authenticity is not None)
        rows = group_shares(members, mine, None if target == "authenticity" else authenticity, target,
                            list(tdef.classes), joint or corrections, counter, fakes_first=joint is not None)
        rows = rows.withColumn("run_date", F.lit(config.run_date).cast("date"))
        delta_io.replace_where(config, "audience_demographics", rows,
                               f"run_date = '{config.run_date}' AND target = '{target}'")
        written = (delta_io.read_table(spark, config, "audience_demographics")
                   .where((F.col("run_date") == F.lit(config.run_date)) & (F.col("target") == target)))
        summary["targets"][target] = {
            "counted_with": counter, "model_versions": sorted(corrections),
            "fakes": ("not counted" if target == "authenticity" else "no authenticity tonight" if authenticity is None
                      else "joint correction (fakes_first)" if joint else "predicted fakes dropped (models without held-out users)"),
            "groups_by_tier": {r["tier"]: r["count"] for r in written.where(F.col("class") == tdef.classes[0])
                               .groupBy("tier").count().collect()}}
    members.unpersist()
    return summary


# ---- the analyst's side

def group_table(config: PipelineConfig, account: str | None = None, hashtag: str | None = None,
                run_date=None) -> tuple[str, "pd.DataFrame"]:
    """(title, rows) of one group's newest night (or `run_date`), every target, through DuckDB."""
    from jobs.query import duckdb_connection

    if bool(account) == bool(hashtag):
        raise click.UsageError("give one of --account NAME or --hashtag TAG")
    con = duckdb_connection(config)
    if account:
        found = con.execute("select cast(user_id as varchar), follower_count from profiles where username = ?",
                            [account.lstrip("@")]).fetchall()
        if not found:
            raise click.UsageError(f"no profile with username {account!r}")
        kind, group, title = "account", found[0][0], f"@{account.lstrip('@')}'s followers"
    else:
        kind, group, title = "hashtag", hashtag.lstrip("#").lower(), f"#{hashtag.lstrip('#').lower()}'s contributors"
    night = run_date or con.execute("select max(run_date) from audience_demographics where group_kind = ? and group_id = ?",
                                    [kind, group]).fetchone()[0]
    if night is None:
        raise click.UsageError(f"no audience rows for {title}: run `python -m jobs.audience` first")
    rows = con.execute("""
        select target, class, counted, members, predicted_authentic, round(cc_share, 3) as cc,
               round(acc_share, 3) as acc, round(share, 3) as share, round(low, 3) as low, round(high, 3) as high,
               method, tier, reason, model_name, model_version
        from audience_demographics where group_kind = ? and group_id = ? and run_date = ?
        order by target, share desc nulls last, class""", [kind, group, night]).df()
    return f"{title}, {night}", rows


def bar_chart(title: str, rows, path: Path) -> Path:
    """One panel per target: published shares with their 95% intervals, classify-and-count beside."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    targets = list(dict.fromkeys(rows["target"]))
    fig, axes = plt.subplots(len(targets), 1, figsize=(8, 2.2 + 0.28 * len(rows)), squeeze=False)
    for ax, target in zip(axes[:, 0], targets):
        mine = rows[rows["target"] == target].head(12)
        y = np.arange(len(mine))
        share = mine["share"].fillna(0).to_numpy(float)
        err = np.vstack([share - mine["low"].fillna(0).to_numpy(float), mine["high"].fillna(0).to_numpy(float) - share])
        ax.barh(y, share, xerr=err, color="#4c72b0", capsize=3, label="adjusted (PACC), 95% interval")
        ax.scatter(mine["cc"].to_numpy(float), y, color="#dd8452", zorder=3, label="classify and count")
        ax.set_yticks(y, mine["class"])
        ax.invert_yaxis()
        tier = mine["tier"].iloc[0]
        ax.set_title(f"{target} ({int(mine['counted'].iloc[0])} counted, tier {tier})", fontsize=9)
        ax.set_xlim(0, 1)
    axes[0, 0].legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


@click.group(invoke_without_command=True)
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--warehouse", default=None)
@click.option("--targets", default="", help="Comma list (default: every target scored tonight).")
@click.pass_context
def main(ctx, run_date, warehouse, targets):
    cfg = config_from_cli(run_date=run_date, warehouse=warehouse)
    ctx.obj = cfg
    if ctx.invoked_subcommand is None:
        from runtime.spark_session import start_spark
        from runtime.task_summary import echo_summary

        chosen = [t for t in targets.split(",") if t] or None
        echo_summary(cfg, "audience", run(start_spark("audience"), cfg, chosen))


@main.command()
@click.option("--top-account", is_flag=True, help="The account with the most counted followers tonight.")
@click.option("--account", default=None, help="Username of the account whose followers to show.")
@click.option("--hashtag", default=None, help="Hashtag (with or without #) whose contributors to show.")
@click.option("--png", default=None, help="Chart path (default: reports/audiences/<group>.png).")
@click.pass_obj
def show(cfg, top_account, account, hashtag, png):
    """Print a group's shares for every target and write a bar chart with the intervals."""
    import pandas as pd

    from jobs.query import duckdb_connection
    from runtime.config import PROJECT_ROOT

    if top_account:
        top = duckdb_connection(cfg).execute(
            "select p.username from audience_demographics a join profiles p on cast(p.user_id as varchar) = a.group_id "
            "where a.group_kind = 'account' and a.run_date = (select max(run_date) from audience_demographics) "
            "order by a.counted desc, a.group_id limit 1").fetchone()
        if top is None:
            raise click.UsageError("no account audiences yet: run `python -m jobs.audience` first")
        account = top[0]

    title, rows = group_table(cfg, account, hashtag)
    with pd.option_context("display.width", 200, "display.max_rows", 200, "display.max_columns", 20):
        click.echo(title)
        click.echo(rows.drop(columns=["members", "predicted_authentic"]).to_string(index=False))
    name = (account or f"hashtag-{hashtag}").lstrip("@#")
    path = bar_chart(title, rows, Path(png) if png else PROJECT_ROOT / "reports" / "audiences" / f"{name}.png")
    click.echo(f"chart: {path}")


if __name__ == "__main__":
    main()
