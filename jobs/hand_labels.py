"""Hand labels in the terminal, one profile at a time, as the seed labelled ~1,000 accounts.

  python -m jobs.hand_labels --target authenticity --labeller alice
  python -m jobs.hand_labels --target authenticity --labeller alice --panel

Keys: ← or a = fake, → or d = authentic (a two-class target's `swipe` classes, default its
two classes in order; 1-9 pick a class of any target), s = skip, u = undo the last answer, q = quit.

Profiles come in a stratified order (`label_queue`): round-robin over strata of username shape,
picture, posts, follower/following balance and, when the target has been scored, the model's
confidence, so rare and hard cases (dormant real users, fakes with real names) come up early,
not only the common obvious ones. Users with a manual label for the target are not shown again.

`--panel` shows a simple random sample instead (jobs.labellers.stand_in_panel.panel_sample's
order) and labels it as source `manual_panel`: the users on whom audiences' correction matrix
is measured (jobs.train), since a stratified sample over-represents the hard strata. Label the
panel in its order and skip nothing you can judge: a panel with its hard cases skipped is no
longer random.

Every answer is appended to a journal (JSON lines, flushed to disk before the next profile is
shown), so a crash loses at most the profile on screen. The journal's net state (undo
applied) is merged into `labels` (source `manual`, with labeller and time) every
`--save-every` answers, on quit and at the next start (resuming is starting again).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
import termios
import tty
from dataclasses import dataclass, field
from pathlib import Path

import click
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.profile_features import with_features
from jobs.targets import SOURCE_PRIORITY, target_def
from runtime import delta_io
from runtime.config import PipelineConfig, config_from_cli

SOURCE = "manual"
PANEL_SOURCE = "manual_panel"
KEYS = {"\x1b[D": 0, "a": 0, "\x1b[C": 1, "d": 1}  # left/a: the left class, right/d: the right one


def strata(features: DataFrame, confidence: Column | None = None) -> Column:
    """A profile's stratum: username shape x picture x posts x follower/following balance
    (x the model's confidence band when given)."""
    media = F.when(F.col("media_count").isNull(), "?").when(F.col("media_count") == 0, "0").when(
        F.col("media_count") < 10, "1-9").otherwise("10+")
    ratio = F.col("log_followers_per_following")
    balance = F.when(ratio.isNull(), "?").when(ratio < -2, "follows-many").when(ratio < 0, "even").otherwise("followed")
    parts = [F.coalesce(F.col("username_type").cast("int").cast("string"), F.lit("?")),
             F.coalesce(F.col("anonymous_picture").cast("int").cast("string"), F.lit("?")), media, balance]
    if confidence is not None:
        parts.append(F.when(confidence.isNull(), "unscored").when(confidence < 0.7, "unsure").when(
            confidence < 0.9, "fair").otherwise("sure"))
    return F.concat_ws("|", *parts)


def label_queue(profiles: DataFrame, n: int, exclude: DataFrame | None = None,
                predictions: DataFrame | None = None, seed: str = "hand-v1") -> DataFrame:
    """(user_id, stratum, turn) of n profiles to label: the k-th profile of every stratum
    (in a hash order) before any stratum's (k+1)-th. `exclude`: user ids not to show;
    `predictions`: (user_id, confidence) of the target's latest scoring."""
    rows = with_features(profiles, keep=("user_id",))
    confidence = None
    if predictions is not None:
        rows = rows.join(predictions.select("user_id", "confidence"), "user_id", "left")
        confidence = F.col("confidence")
    if exclude is not None:
        rows = rows.join(exclude.select("user_id").distinct(), "user_id", "left_anti")
    from pyspark.sql import Window

    rows = rows.withColumn("stratum", strata(rows, confidence))
    order = Window.partitionBy("stratum").orderBy(F.xxhash64(F.lit(seed), "user_id"), "user_id")
    return (rows.withColumn("turn", F.row_number().over(order))
            .orderBy("turn", F.xxhash64(F.lit(seed), "stratum"), "stratum")
            .limit(n).select("user_id", "stratum", "turn"))


# Label sources whose users come from label_queue's stratified order (hand labels and their stand-in).
STRATIFIED_SOURCES = ("manual", "stand_in_annotator")
# Label sources of a simple random sample (the panel and its stand-in).
PANEL_SOURCES = (PANEL_SOURCE, "stand_in_panel")


def panel_users(spark: SparkSession, config: PipelineConfig, target: str) -> set[int]:
    """The target's users labelled by a panel source: a simple random sample of the population."""
    if not delta_io.table_exists(spark, config, "labels"):
        return set()
    rows = delta_io.read_table(spark, config, "labels").where(
        (F.col("target") == target) & F.col("source").isin(*PANEL_SOURCES)).select("user_id").collect()
    return {int(r["user_id"]) for r in rows}


def stratum_weights(spark: SparkSession, config: PipelineConfig, target: str) -> dict[int, float] | None:
    """user id -> population / sample count of its stratum, for the target's users labelled from
    a stratified source (None when it has none): what makes such a sample stand for everyone."""
    labels = delta_io.read_table(spark, config, "labels").where(
        (F.col("target") == target) & F.col("source").isin(*STRATIFIED_SOURCES)).select("user_id")
    if labels.limit(1).count() == 0:
        return None
    rows = with_features(delta_io.read_table(spark, config, "profiles"), keep=("user_id",))
    rows = rows.withColumn("stratum", strata(rows)).join(labels.withColumn("sampled", F.lit(1)), "user_id", "left")
    per = rows.groupBy("stratum").agg(F.count("*").alias("population"), F.count("sampled").alias("sample"))
    weighted = (rows.where(F.col("sampled").isNotNull()).join(per, "stratum")
                .select("user_id", (F.col("population") / F.col("sample")).alias("w")).toPandas())
    weighted["w"] /= weighted["w"].mean()
    return dict(zip(weighted["user_id"].astype(int), weighted["w"].astype(float)))


# ---- the journal: every key press, replayed into the labels a labeller has given

@dataclass
class Journal:
    path: Path
    events: list[dict] = field(default_factory=list)

    @classmethod
    def open(cls, path: Path) -> "Journal":
        path.parent.mkdir(parents=True, exist_ok=True)
        events = []
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError:  # a line cut by a crash mid-write: that key never counted
                    continue
        return cls(path, events)

    def append(self, event: dict) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(event, ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())
        self.events.append(event)

    def answers(self) -> list[dict]:
        """Label and skip events still standing after every undo, oldest first."""
        stack: list[dict] = []
        for event in self.events:
            if event["action"] == "undo":
                if stack:
                    stack.pop()
            else:
                stack.append(event)
        return stack

    def labels(self) -> dict[int, dict]:
        """user id -> its latest standing label event."""
        return {e["user_id"]: e for e in self.answers() if e["action"] == "label"}

    def seen(self) -> set[int]:
        return {e["user_id"] for e in self.answers()}

    def undone_labels(self) -> set[int]:
        """Users labelled at some point whose label no longer stands."""
        ever = {e["user_id"] for e in self.events if e["action"] == "label"}
        return ever - set(self.labels())


def journal_path(config: PipelineConfig, target: str, labeller: str, panel: bool = False) -> Path:
    return Path(config.warehouse) / "_hand_labels" / f"{target}-{labeller}{'-panel' if panel else ''}.jsonl"


def save(spark: SparkSession, config: PipelineConfig, target: str, labeller: str, journal: Journal,
         source: str = SOURCE) -> dict:
    """Merge the journal's standing labels into `labels` as `source`; drop this labeller's undone ones."""
    labels = journal.labels()
    counts = {"labels": len(labels), "removed": 0}
    if labels:
        rows = spark.createDataFrame(
            [(uid, target, e["label"], source, f"hand label by {labeller}", config.run_date, labeller,
              dt.datetime.fromisoformat(e["at"])) for uid, e in labels.items()],
            "user_id long, target string, label string, source string, evidence string, run_date date, "
            "labeller string, labelled_at timestamp")
        counts.update(delta_io.upsert_by_priority(spark, config, "labels", rows, SOURCE_PRIORITY))
    undone = sorted(journal.undone_labels())
    if undone and delta_io.table_exists(spark, config, "labels"):
        from delta.tables import DeltaTable

        table = DeltaTable.forPath(spark, config.table_path("labels"))
        condition = ((F.col("target") == target) & (F.col("source") == source) & (F.col("labeller") == labeller)
                     & F.col("user_id").isin(undone))
        counts["removed"] = table.toDF().where(condition).count()
        if counts["removed"]:
            table.delete(condition)
    return counts


# ---- the terminal

def read_key(fd: int) -> str:
    """One key press from a terminal in cbreak mode: a character, or an arrow's escape sequence."""
    ch = os.read(fd, 1)
    if ch == b"\x1b":
        ch += os.read(fd, 2)
    return ch.decode("utf-8", "replace")


def render(profile: dict, target: str, classes: list[str], done: int, total: int) -> str:
    flags = [name for name, on in (("private", profile.get("is_private")), ("verified", profile.get("is_verified")),
                                    ("no picture", profile.get("has_anonymous_profile_picture")),
                                    ("business", profile.get("is_business_account"))) if on]
    captions = [c.replace("\n", " ")[:120] for c in (profile.get("captions") or [])[:3]]
    choice = f"← a: {classes[0]}   → d: {classes[1]}" if len(classes) == 2 else "  ".join(
        f"{i + 1}: {c}" for i, c in enumerate(classes))
    lines = [
        f"\x1b[2J\x1b[H{target} — profile {done + 1} of {total}",
        "",
        f"  @{profile['username']}   {profile.get('full_name') or ''}",
        f"  bio: {(profile.get('biography') or '').replace(chr(10), ' ')[:200]}",
        f"  link: {profile.get('external_url') or '-'}",
        f"  followers {profile.get('follower_count')}   following {profile.get('following_count')}   "
        f"posts {profile.get('media_count')}   tagged {profile.get('usertags_count')}",
        f"  {', '.join(flags) or 'public, not verified, has a picture'}",
        *[f"  post: {c}" for c in captions],
        "",
        f"  {choice}   s: skip   u: undo   q: quit",
    ]
    return "\r\n".join(lines) + "\r\n"


def panel_queue(profiles: DataFrame, n: int, exclude: DataFrame) -> DataFrame:
    """(user_id, stratum, turn) of the panel's next n profiles: the random sample's order, less
    the users already answered."""
    from jobs.labellers.stand_in_panel import panel_sample

    rest = profiles.join(exclude.select("user_id").distinct(), "user_id", "left_anti")
    return panel_sample(rest, n, seed="manual-panel-v1").select(
        "user_id", F.lit("panel").alias("stratum"), F.xxhash64(F.lit("manual-panel-v1"), "user_id").alias("turn"))


def profiles_to_show(spark: SparkSession, config: PipelineConfig, target: str, journal: Journal, n: int,
                     panel: bool = False) -> list[dict]:
    profiles = delta_io.read_table(spark, config, "profiles")
    labels = delta_io.read_table(spark, config, "labels").where(
        (F.col("target") == target) & (F.col("source") == (PANEL_SOURCE if panel else SOURCE))).select("user_id")
    seen = spark.createDataFrame([(u,) for u in journal.seen()] or [(-1,)], "user_id long")
    if panel:
        return _with_texts(spark, config, profiles, panel_queue(profiles, n, labels.unionByName(seen)))
    predictions = None
    if delta_io.table_exists(spark, config, "predictions"):
        scored = delta_io.read_table(spark, config, "predictions").where(F.col("target") == target)
        newest = scored.agg(F.max("run_date")).first()[0]
        if newest is not None:
            predictions = scored.where(F.col("run_date") == newest)
    return _with_texts(spark, config, profiles, label_queue(profiles, n, labels.unionByName(seen), predictions))


def _with_texts(spark: SparkSession, config: PipelineConfig, profiles: DataFrame, queue: DataFrame) -> list[dict]:
    texts = delta_io.read_table(spark, config, "user_texts").select("user_id", "captions") if delta_io.table_exists(
        spark, config, "user_texts") else None
    rows = queue.join(profiles, "user_id")
    if texts is not None:
        rows = rows.join(texts, "user_id", "left")
    return [r.asDict() for r in rows.orderBy("turn", "stratum", "user_id").collect()]


def label_session(spark: SparkSession, config: PipelineConfig, target: str, labeller: str, n: int = 200,
                  save_every: int = 25, keys=None, out=None, panel: bool = False) -> dict:
    """Show profiles until q or the end of the queue; returns the counts saved."""
    tdef = target_def(target)
    source = PANEL_SOURCE if panel else SOURCE
    if source not in tdef.label_sources:
        raise click.UsageError(f"target {target!r} takes no {source!r} labels (its sources: {tdef.label_sources})")
    classes = list(tdef.swipe or tdef.classes)  # in key order: left first
    journal = Journal.open(journal_path(config, target, labeller, panel))
    resumed = save(spark, config, target, labeller, journal, source) if journal.events else {}
    queue = profiles_to_show(spark, config, target, journal, n, panel)
    out = out or sys.stdout
    shown: list[dict] = []  # the profiles answered in this session, for undo
    position, since_save = 0, 0
    while position < len(queue):
        profile = queue[position]
        out.write(render(profile, target, classes, position, len(queue)))
        out.flush()
        key = keys()
        at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")
        if key == "q":
            break
        if key == "u":
            if shown:
                journal.append({"action": "undo", "user_id": shown.pop()["user_id"], "at": at})
                position -= 1
            continue
        choice = KEYS.get(key) if len(classes) == 2 else None
        if choice is None and key.isdigit() and 1 <= int(key) <= len(classes):
            choice = int(key) - 1
        if key == "s":
            journal.append({"action": "skip", "user_id": profile["user_id"], "at": at})
        elif choice is not None:
            journal.append({"action": "label", "user_id": profile["user_id"], "label": classes[choice],
                            "labeller": labeller, "at": at})
            since_save += 1
        else:
            continue  # any other key: the same profile again
        shown.append(profile)
        position += 1
        if since_save >= save_every:
            save(spark, config, target, labeller, journal, source)
            since_save = 0
    saved = save(spark, config, target, labeller, journal, source)
    return {"target": target, "labeller": labeller, "source": source, "journal": str(journal.path), "queue": len(queue),
            "answered_this_session": len(shown), "resumed": resumed, "saved": saved}


@click.command()
@click.option("--target", default="authenticity", show_default=True)
@click.option("--labeller", required=True, help="Who is labelling (kept with every label).")
@click.option("--n", "count", default=200, show_default=True, help="Profiles in this session's queue.")
@click.option("--save-every", default=25, show_default=True)
@click.option("--panel", is_flag=True, help="Label the random panel (source manual_panel), not the stratified queue.")
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--warehouse", default=None)
def main(target, labeller, count, save_every, panel, run_date, warehouse):
    from runtime.spark_session import start_spark

    cfg = config_from_cli(run_date=run_date, warehouse=warehouse)
    spark = start_spark("hand_labels")
    if not sys.stdin.isatty():
        raise click.UsageError("the labelling tool reads single key presses: run it in a terminal")
    fd = sys.stdin.fileno()
    before = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        summary = label_session(spark, cfg, target, labeller, count, save_every, keys=lambda: read_key(fd),
                                panel=panel)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, before)
    click.echo(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
