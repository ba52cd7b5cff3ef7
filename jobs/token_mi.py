"""Mutual information between token presence and a target's label, over the training users.

Only labelled users outside the test split (jobs.split) are counted: the ranking and the vocab
it yields must not have seen the users every model is then judged on.

For each (family, token) used by at least `min_users` labelled users: per-class user counts,
P(class | token) and MI in nats (natural log, as sklearn's mutual_info_score):

  MI = sum over x in {present, absent}, class c of  p(x, c) * ln( p(x, c) / (p(x) p(c)) )

Everything is aggregated in Spark; only token-level rows (the top of the ranking, for the
report) ever reach the driver. The top N per family become a versioned `vocab`.
"""
from __future__ import annotations

from pathlib import Path

import click
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from runtime import delta_io
from runtime.config import PROJECT_ROOT, PipelineConfig, config_from_cli
from jobs.split import training_users
from jobs.targets import VOCAB_SIZES, TargetDef, target_def
from runtime.task_summary import echo_summary
from jobs.texts import fitting_texts, read_user_texts
from jobs.tokens import FEATURE_SEP, class_counts



def labelled_users(labels: DataFrame, target: TargetDef) -> DataFrame:
    return (labels.where((F.col("target") == target.name) & F.col("label").isin(*target.classes))
            .select("user_id", "label").dropDuplicates(["user_id"]))


def class_counts_from_texts(texts: DataFrame, families, classes, min_users: int) -> DataFrame:
    """(family, token, n_users, class_counts) for tokens of at least min_users labelled users, from
    user_texts rows with a `label`: the numba tokeniser counts (token, class) per partition, so
    only per-partition distinct tokens are shuffled."""
    return supported_tokens(class_counts(texts, families, classes), min_users)


def supported_tokens(per_class: DataFrame, min_users: int) -> DataFrame:
    """(family, token, label, count) rows -> (family, token, n_users, class_counts) of tokens
    used by at least min_users labelled users."""
    return (per_class.groupBy("family", "token")
            .agg(F.sum("count").alias("n_users"),
                 F.map_from_entries(F.collect_list(F.struct("label", "count"))).alias("class_counts"))
            .where(F.col("n_users") >= min_users))


def _term(joint: Column, marginal: Column, class_total: int, n: int) -> Column:
    """p(x,c) ln(p(x,c) / (p(x) p(c))) from counts; 0 where the joint count is 0."""
    joint = joint.cast("double")
    return F.when(joint > 0, joint / n * F.log(joint * n / (marginal.cast("double") * class_total))).otherwise(0.0)


def mutual_information(counts: DataFrame, class_totals: dict[str, int]) -> DataFrame:
    """Adds mi_nats and p_class_given_token to class_counts_from_texts' output."""
    n = sum(class_totals.values())
    mi = F.lit(0.0)
    for label, total in class_totals.items():
        if total == 0:
            continue
        present = F.coalesce(F.col("class_counts")[label], F.lit(0)).cast("long")
        mi = mi + _term(present, F.col("n_users"), total, n) + _term(F.lit(total) - present, F.lit(n) - F.col("n_users"), total, n)
    p_given = F.map_from_arrays(
        F.array(*[F.lit(c) for c in class_totals]),
        F.array(*[(F.coalesce(F.col("class_counts")[c], F.lit(0)) / F.col("n_users")).cast("double") for c in class_totals]))
    full_counts = F.map_from_arrays(
        F.array(*[F.lit(c) for c in class_totals]),
        F.array(*[F.coalesce(F.col("class_counts")[c], F.lit(0)).cast("long") for c in class_totals]))
    # Rounding noise can make a truly-zero MI slightly negative; MI is never below 0.
    return (counts.withColumn("mi_nats", F.greatest(mi, F.lit(0.0)))
            .withColumn("class_counts", full_counts).withColumn("p_class_given_token", p_given))


def ranked(mi: DataFrame, target: str, run_date) -> DataFrame:
    w = Window.partitionBy("family").orderBy(F.col("mi_nats").desc(), F.col("token"))
    return (mi.withColumn("rank", F.row_number().over(w))
            .withColumn("target", F.lit(target)).withColumn("run_date", F.lit(run_date).cast("date")))


def vocab_rows(token_mi: DataFrame, target: str, size: int, run_date) -> DataFrame:
    """Top `size` per family (version <date>-<family>-<size>) and over all families (<date>-all-<size>)."""
    per_family = (token_mi.where(F.col("rank") <= size)
                  .withColumn("version", F.concat_ws("-", F.lit(str(run_date)), "family", F.lit(str(size))))
                  .withColumn("index", (F.col("rank") - 1).cast("int")))
    w_all = Window.orderBy(F.col("mi_nats").desc(), F.col("family"), F.col("token"))
    overall = (token_mi.orderBy(F.col("mi_nats").desc(), "family", "token").limit(size)
               .withColumn("index", (F.row_number().over(w_all) - 1).cast("int"))
               .withColumn("version", F.lit(f"{run_date}-all-{size}")))
    cols = ["target", "version", "index", "family", "token", "mi_nats", "run_date"]
    return per_family.select(*cols).unionByName(overall.select(*cols)).withColumn("target", F.lit(target))


def write_report(token_mi: DataFrame, classes: tuple[str, ...], folder: Path, top: int = 25, min_support: int = 20,
                 family: str = "hashtag") -> list[str]:
    """The seed's two readable lists, as CSV and one chart: tokens of one family most associated
    with each class by P(class | token) (with enough support), and its top tokens by MI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    tokens = token_mi.where(F.col("family") == family)
    by_mi = tokens.orderBy(F.col("mi_nats").desc(), "token").limit(top).select("token", "n_users", "mi_nats").toPandas()
    # Every class's top tokens in one query (a query per class costs a Delta scan each: 37 for country).
    per_class = Window.partitionBy("class").orderBy(F.col("p").desc(), F.col("n_users").desc(), F.col("token"))
    by_class_df = (tokens.where(F.col("n_users") >= min_support)
                   .select("token", "n_users", F.explode("p_class_given_token").alias("class", "p"))
                   .where(F.col("class").isin(list(classes)))
                   .withColumn("rank", F.row_number().over(per_class)).where(F.col("rank") <= top)
                   .select("class", "token", "n_users", "p", "rank").toPandas())
    order = {c: i for i, c in enumerate(classes)}
    by_class_df = (by_class_df.assign(_c=by_class_df["class"].map(order)).sort_values(["_c", "rank"])
                   .drop(columns=["_c", "rank"]).reset_index(drop=True))
    by_mi.to_csv(folder / "top_by_mi.csv", index=False)
    by_class_df.to_csv(folder / "top_by_class.csv", index=False)
    panels = 1 + len(classes)
    columns = min(panels, 6)  # wrapped: country's 38 panels in one row made a 15,000-pixel-wide chart
    rows = -(-panels // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, rows * (0.3 * top + 1.5)), squeeze=False)
    axes = list(axes.ravel())
    for ax in axes[panels:]:
        ax.set_visible(False)
    axes[0].barh(by_mi["token"][::-1], by_mi["mi_nats"][::-1], color="grey")
    axes[0].set_title(f"{family} tokens by mutual information (nats)")
    for i, (ax, c) in enumerate(zip(axes[1:], classes)):
        d = by_class_df[by_class_df["class"] == c]
        ax.barh(d["token"][::-1], d["p"][::-1], color=plt.cm.tab10(i % 10))
        ax.set_title(f"P({c} | {family}), ≥{min_support} users")
        ax.set_xlim(0, 1)
    fig.tight_layout()
    fig.savefig(folder / "top_tokens.png", dpi=80)
    plt.close(fig)
    return [str(folder / n) for n in ("top_by_mi.csv", "top_by_class.csv", "top_tokens.png")]


def class_totals_of(labelled: DataFrame, classes) -> dict[str, int]:
    totals = {c: 0 for c in classes}
    totals.update({r["label"]: r["count"] for r in labelled.groupBy("label").count().collect()})
    return totals


def token_mi_frame(texts: DataFrame, labelled: DataFrame, class_totals: dict[str, int],
                   tdef: TargetDef, min_users: int, run_date, families=None) -> DataFrame:
    """token_mi rows from user_texts rows and (user_id, label) of the users the ranking may see."""
    families = tuple(families or tdef.families)
    counts = class_counts_from_texts(fitting_texts(texts, labelled, tdef), families, list(class_totals), min_users)
    return ranked(mutual_information(counts, class_totals), tdef.name, run_date)


def top_features(texts: DataFrame, labelled: DataFrame, tdef: TargetDef, size: int, min_users: int,
                 families=None) -> list[str]:
    """The `size` features ("<family>\t<token>") of highest MI over all families, ranked on
    `labelled` only (a fold's training users), for evaluations that refit the vocab per fold."""
    mi = token_mi_frame(texts, labelled, class_totals_of(labelled, tdef.classes), tdef, min_users, None, families)
    top = mi.orderBy(F.col("mi_nats").desc(), "family", "token").limit(size).select("family", "token").collect()
    return [f"{r['family']}{FEATURE_SEP}{r['token']}" for r in top]


def run(spark: SparkSession, config: PipelineConfig, target: str = "gender", vocab_size: int = 10000,
        min_users: int | None = None, report_dir: str | None = None, families: tuple[str, ...] | None = None) -> dict:
    """Rank the target's token families (or `families`) on its training users; write token_mi,
    the night's vocab versions and the report."""
    if vocab_size not in VOCAB_SIZES:
        raise ValueError(f"vocab_size must be one of {VOCAB_SIZES}, got {vocab_size}")
    tdef = target_def(target)
    min_users = tdef.min_token_users if min_users is None else min_users
    if tdef.feature_set != "text_tokens":  # a fixed feature set: nothing to rank
        return {"target": target, "skipped": f"feature set {tdef.feature_set} reads no tokens"}
    everyone = labelled_users(delta_io.read_table(spark, config, "labels"), tdef)
    labelled = training_users(everyone).cache()
    class_totals = class_totals_of(labelled, tdef.classes)
    n_labelled = sum(class_totals.values())
    if n_labelled == 0:
        raise RuntimeError(f"no labelled training users for target {target!r}: run the labels job first")
    mi = token_mi_frame(read_user_texts(spark, config, tdef.recent_captions), labelled, class_totals, tdef, min_users, config.run_date,
                        families)
    delta_io.replace_where(config, "token_mi", mi, f"target = '{target}' AND run_date = '{config.run_date}'")
    token_mi = (delta_io.read_table(spark, config, "token_mi")
                .where((F.col("target") == target) & (F.col("run_date") == F.lit(config.run_date))))
    vocab = vocab_rows(token_mi, target, vocab_size, config.run_date)
    versions = [r["version"] for r in vocab.select("version").distinct().collect()]
    quoted = ",".join(f"'{v}'" for v in versions)
    delta_io.replace_where(config, "vocab", vocab, f"target = '{target}' AND version IN ({quoted})")
    folder = Path(report_dir or PROJECT_ROOT / "reports") / target / str(config.run_date)
    files = write_report(token_mi, tdef.classes, folder, family="hashtag" if "hashtag" in tdef.families
                         else tdef.families[0])
    per_family = {r["family"]: r["count"] for r in token_mi.groupBy("family").count().collect()}
    labelled.unpersist()
    return {"target": target, "training_users": n_labelled, "test_users_left_out": everyone.count() - n_labelled,
            "class_totals": class_totals,
            "tokens_ranked": per_family, "vocab_versions": sorted(versions), "report": files}


@click.command()
@click.option("--target", default="gender", show_default=True)
@click.option("--vocab-size", type=click.Choice([str(s) for s in VOCAB_SIZES]), default="10000", show_default=True)
@click.option("--min-users", type=int, default=None, help="Minimum labelled users per token [default: the target's min_token_users].")
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--warehouse", default=None)
def main(target, vocab_size, min_users, run_date, warehouse):
    from runtime.spark_session import start_spark

    cfg = config_from_cli(run_date=run_date, warehouse=warehouse)
    summary = run(start_spark("token_mi"), cfg, target=target, vocab_size=int(vocab_size), min_users=min_users)
    echo_summary(cfg, "token_mi", summary, target)


if __name__ == "__main__":
    main()
