"""The random panel: majority looks of the stand-in, the labels job keeping one label per user,
the tool's panel mode, and train measuring audiences' correction on the panel alone."""
import numpy as np
import pytest
from pyspark.sql import functions as F

from jobs import hand_labels, labels
from jobs.labellers import stand_in_panel
from jobs.targets import target_def
from jobs.train import correction_users
from runtime import delta_io
from tests.conftest import NIGHT, warehouse_beside

CLASSES = ["authentic", "fake"]


def _truth(spark, n):
    rows = [(u, u % 5 == 0, u % 7 == 0, "high" if u % 5 == 0 and u % 3 == 0 else None) for u in range(n)]
    return spark.createDataFrame(rows, "user_id long, is_fake boolean, dormant boolean, fake_quality string")


def test_the_majority_of_three_looks_errs_far_less_than_one_look(spark):
    n = 20_000
    truth = _truth(spark, n)
    sample = truth.select("user_id")
    want = {r["user_id"]: "fake" if r["is_fake"] else "authentic" for r in truth.collect()}
    one = {r["user_id"]: r["label"] for r in stand_in_panel.majority_answers(sample, truth, "authenticity", CLASSES,
                                                                            looks=1).collect()}
    three = {r["user_id"]: r["label"] for r in stand_in_panel.majority_answers(sample, truth, "authenticity",
                                                                              CLASSES, adjudication=0).collect()}
    adjudicated = {r["user_id"]: r["label"] for r in stand_in_panel.majority_answers(sample, truth, "authenticity",
                                                                                    CLASSES).collect()}
    wrong_adjudicated = sum(adjudicated[u] != want[u] for u in want) / n
    wrong_one = sum(one[u] != want[u] for u in want) / n
    wrong_three = sum(three[u] != want[u] for u in want) / n
    # one look: 3% of easy and 15% of hard users wrong; three: 3p^2 - 2p^3 of each
    hard = sum(1 for u in range(n) if u % 7 == 0 or (u % 5 == 0 and u % 3 == 0)) / n
    expect = lambda p: (1 - hard) * p(stand_in_panel.ERROR_RATE) + hard * p(stand_in_panel.HARD_ERROR_RATE)
    assert abs(wrong_one - expect(lambda p: p)) < 0.01
    assert abs(wrong_three - expect(lambda p: 3 * p * p - 2 * p ** 3)) < 0.005
    assert wrong_three < wrong_one / 3
    # three agree wrong (p^3), or they split and four more looks leave the wrong side ahead
    tail = lambda p, k: sum(__import__("math").comb(4, j) * p ** j * (1 - p) ** (4 - j) for j in range(k, 5))  # noqa: E731
    assert abs(wrong_adjudicated - expect(lambda p: p ** 3 + 3 * p * (1 - p) ** 2 * tail(p, 3)
                                          + 3 * p * p * (1 - p) * tail(p, 2))) < 0.0012
    assert wrong_adjudicated < wrong_three / 1.5
    again = {r["user_id"]: r["label"] for r in stand_in_panel.majority_answers(sample, truth, "authenticity",
                                                                              CLASSES).collect()}
    assert again == adjudicated
    with pytest.raises(ValueError, match="odd"):
        stand_in_panel.majority_answers(sample, truth, "authenticity", CLASSES, looks=2)


def test_the_panel_is_a_simple_random_sample(spark):
    profiles = spark.range(10_000).withColumnRenamed("id", "user_id")
    ids = np.array([r["user_id"] for r in stand_in_panel.panel_sample(profiles, 1000).collect()])
    assert len(set(ids)) == 1000
    # spread over the whole id range like a random draw: every tenth of it holds 100 +- 4 sd
    per_tenth = np.bincount(ids // 1000, minlength=10)
    assert (abs(per_tenth - 100) < 4 * np.sqrt(90)).all()
    assert set(ids) == {r["user_id"] for r in stand_in_panel.panel_sample(profiles, 1000).collect()}


def test_correction_users_are_the_panel_when_it_has_any():
    ids = np.arange(10)
    y = ids % 2
    probs = np.column_stack([1 - y * 0.8, y * 0.8])
    yq, pq, wq, what, kept = correction_users(y, probs, ids, {2, 3, 5, 99}, None)
    assert yq.tolist() == [0, 1, 1] and wq is None and what == "panel (3 users)" and kept.tolist() == [2, 3, 5]
    assert pq.shape == (3, 2)
    yq, _, wq, what, kept = correction_users(y, probs, ids, set(), {1: 4.0})
    assert len(yq) == 10 and wq[1] == 4.0 and wq[0] == 1.0 and what.startswith("stratified") and len(kept) == 10
    assert correction_users(y, probs, ids, set(), None)[3] == "held-out and out-of-fold users"


def test_a_user_labelled_by_the_panel_keeps_only_the_panel_label(spark, config):
    tdef = target_def("authenticity")
    stale = spark.createDataFrame([(1, "authenticity", "fake", "stand_in_annotator", "old", NIGHT),
                                   (2, "authenticity", "fake", "stand_in_annotator", "old", NIGHT),
                                   (1, "gender", "male", "import", "other target", NIGHT)],
                                  "user_id long, target string, label string, source string, evidence string, run_date date")
    delta_io.replace_where(config, "labels", stale, "true")
    panel = spark.createDataFrame([(1, "authenticity", "authentic", "stand_in_panel", "panel", NIGHT)],
                                  "user_id long, target string, label string, source string, evidence string, run_date date")
    delta_io.replace_where(config, "labels", panel, "target = 'authenticity' AND source = 'stand_in_panel'")
    assert labels.drop_weaker(spark, config, tdef, "stand_in_panel") == 1
    left = {(r["user_id"], r["target"], r["source"]) for r in delta_io.read_table(spark, config, "labels").collect()}
    assert left == {(1, "authenticity", "stand_in_panel"), (2, "authenticity", "stand_in_annotator"),
                    (1, "gender", "import")}
    assert labels.drop_weaker(spark, config, tdef, "stand_in_panel") == 0


def test_the_tool_labels_the_panel_in_its_random_order(spark, world, tmp_path_factory):
    cfg, _ = world
    own = warehouse_beside(cfg, tmp_path_factory.mktemp("panel"))
    keys = iter(["d", "a", "s", "d", "q"])
    summary = hand_labels.label_session(spark, own, "authenticity", "carol", n=10, keys=lambda: next(keys),
                                        out=open("/dev/null", "w"), panel=True)
    assert summary["source"] == "manual_panel" and summary["saved"]["inserted"] == 3
    got = delta_io.read_table(spark, own, "labels").where(F.col("source") == "manual_panel").toPandas()
    profiles = delta_io.read_table(spark, own, "profiles")
    order = [r["user_id"] for r in stand_in_panel.panel_sample(profiles, 5, seed="manual-panel-v1").collect()]
    assert dict(zip(got["user_id"], got["label"])) == {order[0]: "authentic", order[1]: "fake", order[3]: "authentic"}
    assert set(got["labeller"]) == {"carol"}
    with pytest.raises(Exception, match="manual_panel"):
        hand_labels.label_session(spark, own, "gender", "carol", n=1, keys=lambda: "q", panel=True)
