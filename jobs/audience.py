"""Audience demographics: for every account's followers and every hashtag's contributors, each
target's class shares corrected for the classifier's errors, with 95% intervals -> Delta
`audience_demographics`, one row per group x target x class x night.

  python -m jobs.audience --run-date 2026-12-04
  python -m jobs.audience show --account NAME      (or --hashtag TAG)

Members: an account's followers (`follows`); a hashtag's contributors, the users who posted it
in the WINDOW_DAYS before the night. Fakes first: every target but authenticity is counted
among the members the authenticity model calls authentic, and its correction was estimated on
labelled users, who are authentic; the authentic share itself is corrected the same way, among
every scored member. A target whose definition names an audience_from (gender: gender_name) is
counted with that model's predictions and correction, when it ran tonight. Shares by CC, ACC
and PACC (jobs.quantification); `share`, `low`, `high` are the product's pick (PACC). Work:
members' terms by one mapInArrow (numpy per batch, not per group), one group-by of their means
and mean squares, then the clip, interval and tier by a second mapInArrow, numpy over every
group of a batch at once -- nothing per group on the driver. (As Spark column arithmetic, 37
classes' intervals made a plan the analyser did not finish planning in 4 minutes.)

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

from jobs.quantification import METHODS, Z95, clip_normalise
from jobs.targets import audience_counters, target_def
from runtime import delta_io
from runtime.config import PipelineConfig, config_from_cli

WINDOW_DAYS = 30
MIN_MEMBERS = 200
MAX_HALF_WIDTH = 0.10
HIGH_MEMBERS, HIGH_HALF_WIDTH = 1000, 0.03
PICK = "pacc"
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
              StructField("model_version", StringType())]
    fields += [StructField(f"{m}_{j}", DoubleType()) for m in METHODS for j in range(k)]
    return StructType(fields)


def member_terms(batches, classes: list[str], corrections: dict[str, dict]):
    """Per member: its CC onehot, ACC and PACC terms (z), in numpy per Arrow batch."""
    import pyarrow as pa

    k = len(classes)
    inverses = {v: {m: np.asarray(c[m]["inverse"]) for m in ("acc", "pacc")} for v, c in corrections.items()}
    for batch in batches:
        probs = np.column_stack([batch.column(f"p_{j}").to_numpy(zero_copy_only=False) for j in range(k)]).astype(np.float64)
        versions = np.asarray(batch.column("model_version").to_pylist(), dtype=object)
        onehot = np.eye(k)[probs.argmax(axis=1)] if len(probs) else np.zeros((0, k))
        terms = {"cc": onehot, "acc": np.zeros_like(onehot), "pacc": np.zeros_like(onehot)}
        for version in set(versions):
            rows = versions == version
            terms["acc"][rows] = onehot[rows] @ inverses[version]["acc"]
            terms["pacc"][rows] = probs[rows] @ inverses[version]["pacc"]
        arrays = [batch.column("group_kind"), batch.column("group_id"), batch.column("model_version")]
        arrays += [pa.array(terms[m][:, j]) for m in METHODS for j in range(k)]
        yield pa.RecordBatch.from_arrays(arrays, schema=pa.schema([(f.name, pa.string() if i < 3 else pa.float64())
                                                                   for i, f in enumerate(_terms_schema(k).fields)]))


def group_shares(members: DataFrame, predictions: DataFrame, authentic: DataFrame | None, target: str,
                 classes: list[str], corrections: dict[str, dict], model_name: str | None = None) -> DataFrame:
    """Long rows (group, target, class) with counts, every method's share and interval, tier;
    predictions are model_name's (default: the target's own)."""
    k = len(classes)
    scored = predictions.select("user_id", "label", "model_version",
                                *[F.col("probabilities")[c].cast("double").alias(f"p_{j}") for j, c in enumerate(classes)])
    joined = members.join(scored, "user_id", "left")
    if authentic is not None:
        joined = joined.join(authentic.select("user_id", F.lit(True).alias("is_authentic")), "user_id", "left")
    else:  # the authenticity target itself: every scored member counts
        joined = joined.withColumn("is_authentic", F.col("label").isNotNull())
    counts = joined.groupBy("group_kind", "group_id").agg(
        F.count("*").alias("members"), F.count("label").alias("scored"),
        F.count(F.when(F.col("is_authentic"), 1)).alias("predicted_authentic"),
        F.count(F.when(F.col("is_authentic") & (F.col("label") == "uncertain"), 1)).alias("uncertain"))
    counted = joined.where(F.col("is_authentic") & F.col("label").isNotNull()).select(
        "group_kind", "group_id", "model_version", *[f"p_{j}" for j in range(k)])
    terms = counted.mapInArrow(lambda b: member_terms(b, classes, corrections), _terms_schema(k))
    aggs = [F.count("*").alias("n"), F.first("model_version").alias("model_version"),
            F.countDistinct("model_version").alias("model_versions")]
    for m in METHODS:
        for j in range(k):
            aggs += [F.avg(f"{m}_{j}").alias(f"{m}_mean_{j}"), F.avg(F.col(f"{m}_{j}") ** 2).alias(f"{m}_sq_{j}")]
    means = terms.groupBy("group_kind", "group_id").agg(*aggs)
    wide = counts.join(means, ["group_kind", "group_id"], "left")
    model_name = model_name or target
    return wide.mapInArrow(lambda b: group_rows(b, target, classes, corrections, model_name), table_spec_without_date())


def table_spec_without_date() -> StructType:
    from schemas.tables import table_spec

    return StructType([f for f in table_spec("audience_demographics").schema.fields if f.name != "run_date"])


def group_rows(batches, target: str, classes: list[str], corrections: dict[str, dict], model_name: str):
    """Aggregated groups (counts, means and mean squares of the members' terms) -> the table's
    long rows, vectorised over the groups of each batch: clip and renormalise, the interval
    (members' variance + the matrix's), the tier."""
    import pyarrow as pa

    k = len(classes)
    names = [f.name for f in table_spec_without_date().fields]
    for batch in batches:
        g = batch.num_rows
        col = lambda name: batch.column(name).to_numpy(zero_copy_only=False)  # noqa: E731
        n = np.nan_to_num(col("n").astype(np.float64))
        versions = np.asarray(batch.column("model_version").to_pylist(), dtype=object)
        out = {}
        for m in METHODS:
            mean = np.column_stack([np.nan_to_num(col(f"{m}_mean_{j}").astype(np.float64)) for j in range(k)])
            square = np.column_stack([np.nan_to_num(col(f"{m}_sq_{j}").astype(np.float64)) for j in range(k)])
            share = clip_normalise(mean)
            matrix_var = np.zeros((g, k))
            if m != "cc":
                for version in set(versions) - {None}:
                    rows = versions == version
                    matrix_var[rows] = (share[rows] ** 2) @ np.asarray(corrections[version][m]["matrix_variance"])
            with np.errstate(invalid="ignore", divide="ignore"):
                member_var = np.where(n[:, None] > 0, (square - mean ** 2) / np.maximum(n, 1)[:, None], 0.0)
            sd = np.sqrt(np.maximum(member_var + matrix_var, 0.0))
            out[m] = (share, np.clip(share - Z95 * sd, 0, 1), np.clip(share + Z95 * sd, 0, 1))
        counted = n.astype(np.int64)
        scored = col("scored").astype(np.int64)
        half = (out[PICK][2] - out[PICK][1]).max(axis=1) / 2
        reason = np.full(g, None, dtype=object)
        reason[half > MAX_HALF_WIDTH] = "interval_wider_than_10_points"
        reason[counted < MIN_MEMBERS] = "fewer_than_200_members"
        reason[counted == 0] = "no_authentic_members"
        reason[scored == 0] = "no_scored_members"
        tier = np.where(reason != None, "suppressed",  # noqa: E711 (elementwise)
                        np.where((counted >= HIGH_MEMBERS) & (half <= HIGH_HALF_WIDTH), "high", "medium"))
        several = col("model_versions").astype(np.float64) > 1
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
            columns["method"].append(np.full(g, PICK, dtype=object))
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


def corrections_of(predictions: DataFrame, target: str) -> dict[str, dict]:
    """model version -> its correction (jobs.quantification.matrices), from each version's artifact."""
    from jobs.score import resolve_champion

    versions = [r["model_version"] for r in predictions.select("model_version").distinct().collect()]
    out = {}
    for version in versions:
        folder, _, _ = resolve_champion(target, f"models:/{target}/{version}")
        meta = json.loads((Path(folder) / "model.json").read_text()).get("meta", {})
        if "quantification" not in meta:
            raise ValueError(f"models:/{target}/{version} carries no quantification matrices: retrain it")
        out[version] = meta["quantification"]
    return out


def counted_with(target: str, tonight: list[str]) -> str:
    """The target whose predictions count `target`'s audiences: its definition's audience_from
    when that ran tonight, else its own (the rows name it)."""
    source = target_def(target).audience_from
    return source if source in tonight else target


def run(spark: SparkSession, config: PipelineConfig, targets: list[str] | None = None) -> dict:
    predictions = delta_io.read_table(spark, config, "predictions").where(F.col("run_date") == F.lit(config.run_date))
    tonight = [r["target"] for r in predictions.select("target").distinct().collect()]
    from jobs.targets import TARGETS

    targets = [t for t in (targets or list(TARGETS)) if t in tonight]
    if not targets:
        raise RuntimeError(f"no predictions for {config.run_date}: run score first")
    members = account_members(delta_io.read_table(spark, config, "follows")).unionByName(
        hashtag_members(delta_io.read_table(spark, config, "posts"), config.run_date)).cache()
    authentic = None
    if "authenticity" in tonight:
        authentic = predictions.where((F.col("target") == "authenticity") & (F.col("label") == "authentic")).select("user_id")
    summary = {"run_date": str(config.run_date), "targets": {}}
    for target in [t for t in targets if t not in audience_counters()]:
        tdef = target_def(target)
        counter = counted_with(target, tonight)
        mine = predictions.where(F.col("target") == counter)
        corrections = corrections_of(mine, counter)
        rows = group_shares(members, mine, None if target == "authenticity" else authentic, target,
                            list(tdef.classes), corrections, counter).withColumn("run_date", F.lit(config.run_date).cast("date"))
        delta_io.replace_where(config, "audience_demographics", rows,
                               f"run_date = '{config.run_date}' AND target = '{target}'")
        written = (delta_io.read_table(spark, config, "audience_demographics")
                   .where((F.col("run_date") == F.lit(config.run_date)) & (F.col("target") == target)))
        summary["targets"][target] = {
            "counted_with": counter, "model_versions": sorted(corrections), "fakes_removed": target != "authenticity" and authentic is not None,
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
