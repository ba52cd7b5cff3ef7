"""The hand-labelling tool used as a person uses it: keys typed into it in a terminal (tmux),
killed mid-way, resumed; the labels table checked. And its queue and journal on their own."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pyspark.sql import functions as F

from jobs import hand_labels
from runtime.config import PROJECT_ROOT
from tests.conftest import NIGHT, warehouse_beside


def test_the_journal_replays_undo_and_ignores_a_line_cut_by_a_crash(tmp_path):
    path = tmp_path / "j.jsonl"
    journal = hand_labels.Journal.open(path)
    for event in ({"action": "label", "user_id": 1, "label": "fake", "at": "2026-12-04T10:00:00"},
                  {"action": "skip", "user_id": 2, "at": "2026-12-04T10:00:01"},
                  {"action": "undo", "user_id": 2, "at": "2026-12-04T10:00:02"},
                  {"action": "undo", "user_id": 1, "at": "2026-12-04T10:00:03"},
                  {"action": "label", "user_id": 1, "label": "authentic", "at": "2026-12-04T10:00:04"},
                  {"action": "label", "user_id": 3, "label": "fake", "at": "2026-12-04T10:00:05"},
                  {"action": "undo", "user_id": 3, "at": "2026-12-04T10:00:06"}):
        journal.append(event)
    with path.open("a") as out:
        out.write('{"action": "label", "user_id": 9, "lab')  # killed mid-write
    again = hand_labels.Journal.open(path)
    assert {u: e["label"] for u, e in again.labels().items()} == {1: "authentic"}
    assert again.seen() == {1} and again.undone_labels() == {3}


def test_the_queue_takes_every_stratum_in_turn(spark, world):
    cfg, _ = world
    profiles = spark.read.format("delta").load(cfg.table_path("profiles"))
    n_strata = (hand_labels.label_queue(profiles, 10**6).select("stratum").distinct().count())
    queue = hand_labels.label_queue(profiles, 2 * n_strata).toPandas()
    assert n_strata > 10 and len(queue) == 2 * n_strata
    assert queue.groupby("stratum").size().max() <= 2 + 1  # no stratum takes a third turn before all had two
    assert (queue["turn"].diff().fillna(0) >= 0).all()
    first = set(queue["user_id"][:5])
    again = hand_labels.label_queue(profiles, 5, exclude=spark.createDataFrame([(u,) for u in first], "user_id long"))
    assert not first & {r["user_id"] for r in again.collect()}


class Terminal:
    """A tmux session of its own (own server socket: a second terminal never meets the first's
    server while it shuts down) running one command."""

    def __init__(self, name: str, command: str):
        self.socket, self.name = f"hand-labels-test-{os.getpid()}-{name}", name
        self.tmux("new-session", "-d", "-s", name, "-x", "160", "-y", "40", command)

    def tmux(self, *args) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True)
        assert done.returncode == 0, f"tmux {args[0]}: {done.stderr}"
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def wait_for(self, text: str, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.3)
        raise AssertionError(f"{text!r} never showed; the screen:\n{self.screen()}")

    def press(self, key: str, then: str) -> str:
        self.tmux("send-keys", "-t", self.name, key)
        return self.wait_for(then)

    def kill_program(self):
        """SIGKILL the pane's program (the shell's child), as a crash would end it."""
        shell = self.tmux("list-panes", "-t", self.name, "-F", "#{pane_pid}").split()[0]
        children = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True).stdout.split()
        assert children, "the tool is not running"
        for pid in children:
            os.kill(int(pid), 9)

    def close(self):
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def test_labelling_in_a_terminal_killed_and_resumed(spark, world, tmp_path_factory):
    assert shutil.which("tmux"), "this test types into the tool through tmux: install tmux"
    cfg, _ = world
    own = warehouse_beside(cfg, tmp_path_factory.mktemp("hand_labels"))
    command = (f"cd {PROJECT_ROOT} && {sys.executable} -m jobs.hand_labels --target authenticity --labeller tester "
               f"--n 30 --save-every 3 --warehouse {own.warehouse} --run-date {NIGHT}; echo TOOL-EXITED; sleep 600")
    journal_file = hand_labels.journal_path(own, "authenticity", "tester")
    term = Terminal("first", command)
    try:
        term.wait_for("profile 1 of 30")
        term.press("d", "profile 2 of 30")       # authentic
        term.press("Right", "profile 3 of 30")   # → authentic
        term.press("Left", "profile 4 of 30")    # ← fake
        term.press("a", "profile 5 of 30")       # fake
        term.press("x", "profile 5 of 30")       # not a key: the same profile again
        term.press("s", "profile 6 of 30")       # skip
        term.press("u", "profile 5 of 30")       # undo the skip: profile 5 again
        term.press("a", "profile 6 of 30")       # fake
        # killed as a crash would: no quit, no final save
        term.kill_program()
        term.wait_for("TOOL-EXITED")
    finally:
        term.close()
    journal = hand_labels.Journal.open(journal_file)
    answered = journal.labels()
    assert [e["label"] for e in journal.answers()] == ["authentic", "authentic", "fake", "fake", "fake"]
    assert [e["action"] for e in journal.events].count("undo") == 1

    resumed = Terminal("second", command)
    try:
        screen = resumed.wait_for("profile 1 of 30")
        usernames = {r["user_id"]: r["username"] for r in spark.read.format("delta").load(own.table_path("profiles"))
                     .where(F.col("user_id").isin(list(answered))).collect()}
        assert not any(f"@{name} " in screen for name in usernames.values()), screen  # labelled users not shown again
        resumed.press("d", "profile 2 of 30")
        resumed.press("q", "TOOL-EXITED")
    finally:
        resumed.close()

    labels = (spark.read.format("delta").load(own.table_path("labels"))
              .where("target = 'authenticity' AND source = 'manual'").toPandas())
    journal = hand_labels.Journal.open(journal_file)
    expected = {u: e["label"] for u, e in journal.labels().items()}
    assert len(expected) == 6 and set(answered) < set(expected)
    assert len(labels) == labels["user_id"].nunique() == 6
    assert dict(zip(labels["user_id"], labels["label"])) == expected
    assert (labels["labeller"] == "tester").all() and labels["labelled_at"].notna().all()
