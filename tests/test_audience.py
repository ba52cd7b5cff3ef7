"""Audience shares: the corrections equal QuaPy's, the Spark job equals the numpy arithmetic on
every group, fakes are removed first, and a group with nothing to count is suppressed, never NaN."""
import numpy as np
import pandas as pd
import pytest

from jobs import audience, quantification

CLASSES = ["female", "male", "other"]


def held_out(seed: int, n: int = 3000, k: int = 3):
    """A noisy classifier's held-out users: true classes and posteriors."""
    rng = np.random.default_rng(seed)
    y = rng.choice(k, size=n, p=np.linspace(1, 2, k) / np.linspace(1, 2, k).sum())
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, probs


def test_corrections_equal_quapys_acc_and_pacc():
    from quapy.method.aggregative import ACC, PACC

    y, probs = held_out(1)
    correction = quantification.matrices(y, probs, CLASSES)
    group_y, group_probs = held_out(2, n=700)  # a group under prior shift
    group_probs = group_probs[np.argsort(group_y)][:500]
    ours = quantification.adjusted_shares(group_probs, correction)
    k = len(CLASSES)
    # QuaPy's matrices from the same held-out users (its rows: predicted; columns: true) and its solve
    from quapy.functional import clip

    labels = np.arange(k)
    acc_rates = ACC.getPteCondEstim(labels, y, probs.argmax(axis=1))
    pacc_rates = PACC.getPteCondEstim(labels, y, probs)
    assert np.allclose(acc_rates.T, correction["acc"]["matrix"], atol=1e-12)
    assert np.allclose(pacc_rates.T, correction["pacc"]["matrix"], atol=1e-12)
    cc = np.bincount(group_probs.argmax(axis=1), minlength=k) / len(group_probs)
    pcc = group_probs.mean(axis=0)
    theirs_acc = clip(ACC.solve_adjustment(acc_rates, cc, method="inversion", solver="exact-raise"))
    theirs_pacc = clip(ACC.solve_adjustment(pacc_rates, pcc, method="inversion", solver="exact-raise"))
    assert np.max(np.abs(ours["acc"]["share"] - theirs_acc)) < 1e-6
    assert np.max(np.abs(ours["pacc"]["share"] - theirs_pacc)) < 1e-6
    assert np.max(np.abs(ours["cc"]["share"] - cc)) < 1e-12
    # and the correction moves the estimate: CC is off under shift
    assert np.abs(ours["cc"]["share"] - ours["pacc"]["share"]).max() > 0.02


def test_the_interval_holds_the_truth_about_95_percent_of_the_time():
    y, probs = held_out(3)
    correction = quantification.matrices(y, probs, CLASSES)
    held = {m: 0 for m in ("acc", "pacc")}
    for trial in range(300):
        gy, gp = held_out(100 + trial, n=600)
        truth = np.bincount(gy, minlength=3) / len(gy)
        shares = quantification.adjusted_shares(gp, correction)
        for m in held:
            held[m] += bool(np.all((shares[m]["low"] <= truth) & (truth <= shares[m]["high"])))
    # three classes at once: each class ~95%, all three together a little less
    assert 0.80 < held["acc"] / 300 <= 1.0 and 0.80 < held["pacc"] / 300 <= 1.0, held


def _frames(spark, groups: dict[str, tuple[np.ndarray, list[str]]]):
    """members (group -> users) and predictions (probabilities, labels) of made-up groups."""
    members, predictions, uid = [], [], 0
    for group, (probs, auth) in groups.items():
        for p, a in zip(probs, auth):
            uid += 1
            members.append(("account", group, uid))
            if p is not None:
                label = "uncertain" if max(p) < 0.4 else CLASSES[int(np.argmax(p))]
                predictions.append((uid, label, {c: float(x) for c, x in zip(CLASSES, p)}, "7", a))
    m = spark.createDataFrame(members, "group_kind string, group_id string, user_id long")
    p = spark.createDataFrame(predictions, "user_id long, label string, probabilities map<string,float>, "
                                           "model_version string, auth string")
    return m, p


def test_the_spark_job_equals_the_arithmetic_on_every_group_and_removes_fakes_first(spark):
    y, probs = held_out(5)
    correction = quantification.matrices(y, probs, CLASSES)
    _, big = held_out(6, n=400)
    _, small = held_out(7, n=60)
    groups = {"big": (list(big) + [np.array([0.9, 0.05, 0.05])] * 100, ["authentic"] * 400 + ["fake"] * 100),
              "small": (list(small), ["authentic"] * 60),
              "all_fake": (list(small[:30]), ["fake"] * 30),
              "unscored": ([None] * 20, [None] * 20)}
    members, preds = _frames(spark, groups)
    authenticity = preds.select("user_id", preds["auth"].alias("auth_label"))
    out = audience.group_shares(members, preds.drop("auth"), authenticity, "gender", CLASSES, {"7": correction}).toPandas()
    rows = out.set_index(["group_id", "class"])
    # big: the 100 fakes (all 'female' and sure of it) are not counted
    expected = quantification.adjusted_shares(big.astype(np.float32).astype(np.float64), correction)
    for j, c in enumerate(CLASSES):
        for m in ("cc", "acc", "pacc"):
            assert abs(rows.loc[("big", c), f"{m}_share"] - expected[m]["share"][j]) < 1e-6
            assert abs(rows.loc[("big", c), f"{m}_low"] - expected[m]["low"][j]) < 1e-6
    big_row = rows.loc[("big", "female")]
    assert (big_row["members"], big_row["predicted_authentic"], big_row["counted"]) == (500, 400, 400)
    assert big_row["tier"] in ("medium", "high") and big_row["share"] == big_row["pacc_share"]
    # small, all fake, unscored: suppressed rows with their reasons, counts kept, shares null not NaN
    reasons = out.groupby("group_id")["reason"].first().to_dict()
    assert reasons["big"] is None or pd.isna(reasons["big"])
    assert reasons["small"] == "fewer_than_200_members" and reasons["all_fake"] == "no_authentic_members"
    assert reasons["unscored"] == "no_scored_members"
    for group in ("small", "all_fake", "unscored"):
        mine = out[out["group_id"] == group]
        assert (mine["tier"] == "suppressed").all() and mine["share"].isna().all()
    fake_rows = out[out["group_id"].isin(["all_fake", "unscored"])]
    assert fake_rows[["pacc_share", "acc_share", "cc_share"]].isna().all().all()  # null: nothing counted
    assert not np.isnan(out.loc[out["group_id"] == "small", "pacc_share"].to_numpy(float)).any()
    assert len(out) == 4 * len(CLASSES)


def test_rows_name_the_model_counted_and_gender_is_counted_by_its_name_model_when_it_ran(spark):
    y, probs = held_out(8, k=2)
    two = ["female", "male"]
    correction = quantification.matrices(y, probs, two)
    members = spark.createDataFrame([("account", "a", u) for u in range(1, 301)],
                                    "group_kind string, group_id string, user_id long")
    preds = spark.createDataFrame([(u, two[int(np.argmax(p))], {c: float(x) for c, x in zip(two, p)}, "3")
                                   for u, p in zip(range(1, 301), probs)],
                                  "user_id long, label string, probabilities map<string,float>, model_version string")
    named = audience.group_shares(members, preds, None, "gender", two, {"3": correction}, "gender_name").toPandas()
    own = audience.group_shares(members, preds, None, "gender", two, {"3": correction}).toPandas()
    assert set(named["model_name"]) == {"gender_name"} and set(own["model_name"]) == {"gender"}
    assert set(named["target"]) == {"gender"}
    assert audience.counted_with("gender", ["gender", "gender_name"]) == "gender_name"
    assert audience.counted_with("gender", ["gender"]) == "gender"  # a night without it: its own model
    assert audience.counted_with("country", ["country", "gender_name"]) == "country"


def mixed_audience(rng, n: int, female: float, fake_share: float):
    """Members of an audience with bought fakes: true gender (0 female), is_fake, the gender
    model's posteriors (fakes' lean female) and the authenticity model's P(fake) (some fakes pass)."""
    fake = rng.random(n) < fake_share
    y = (rng.random(n) > female).astype(int)
    logits = rng.normal(size=(n, 2)) + 1.2 * np.eye(2)[y]
    logits[fake] = rng.normal(size=(int(fake.sum()), 2)) + np.array([1.5, 0.0])
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    p_fake = 1 / (1 + np.exp(-2 * (rng.normal(size=n) + np.where(fake, 1.0, -2.0))))
    return y, fake, probs, p_fake


def test_fakes_first_removes_the_bias_of_the_fakes_the_authenticity_model_lets_through():
    rng = np.random.default_rng(12)
    two = ["female", "male"]
    y, _, probs, p_fake = mixed_audience(rng, 6000, 0.5, 0.0)
    _, _, fakes_probs, fakes_fake = mixed_audience(rng, 2000, 0.5, 1.0)
    plain = quantification.matrices(y, probs, two)
    joint = quantification.fakes_first(y, probs, p_fake, fakes_probs, fakes_fake, two)
    errors, held = {"plain": [], "joint": []}, {"plain": 0, "joint": 0}
    for _ in range(150):
        gy, gfake, gprobs, gp_fake = mixed_audience(rng, 3000, rng.uniform(0.25, 0.75), rng.uniform(0.1, 0.6))
        truth = float((gy[~gfake] == 0).mean())
        kept = gp_fake <= 0.5
        for name, est in (("plain", quantification.adjusted_shares(gprobs[kept], plain)["pacc"]),
                          ("joint", quantification.adjusted_shares(gprobs, joint, gp_fake)["pacc"])):
            errors[name].append(abs(est["share"][0] - truth))
            held[name] += bool(est["low"][0] <= truth <= est["high"][0])
    # dropping predicted fakes leaves the leaked ones, who pull the share toward their own mix
    assert np.mean(errors["joint"]) < 0.015 and np.mean(errors["plain"]) > 0.03, {k: np.mean(v) for k, v in errors.items()}
    assert held["joint"] / 150 >= 0.9 > held["plain"] / 150, held
    # classify and count of the joint rows is the count among members predicted authentic
    cc = quantification.adjusted_shares(gprobs, joint, gp_fake)["cc"]["share"]
    assert np.allclose(cc, np.bincount(gprobs[kept].argmax(axis=1), minlength=2) / kept.sum())


def test_the_spark_job_with_fakes_first_equals_the_arithmetic(spark):
    rng = np.random.default_rng(13)
    two = ["female", "male"]
    y, _, probs, p_fake = mixed_audience(rng, 3000, 0.5, 0.0)
    _, _, fakes_probs, fakes_fake = mixed_audience(rng, 150, 0.5, 1.0)
    joint = quantification.fakes_first(y, probs, p_fake, fakes_probs, fakes_fake, two)
    _, _, gprobs, gp_fake = mixed_audience(rng, 500, 0.3, 0.4)
    gprobs, gp_fake = gprobs.astype(np.float32).astype(np.float64), gp_fake.astype(np.float32).astype(np.float64)
    members = spark.createDataFrame([("account", "a", u) for u in range(len(gprobs))] + [("account", "a", 10**6)],
                                    "group_kind string, group_id string, user_id long")
    preds = spark.createDataFrame([(u, two[int(np.argmax(p))], {c: float(x) for c, x in zip(two, p)}, "4")
                                   for u, p in enumerate(gprobs)],
                                  "user_id long, label string, probabilities map<string,float>, model_version string")
    auth = spark.createDataFrame([(u, "fake" if f > 0.5 else "authentic", float(f), "9") for u, f in enumerate(gp_fake)],
                                 "user_id long, auth_label string, p_fake float, auth_version string")
    auth = auth.withColumn("p_fake", auth["p_fake"].cast("double"))
    out = audience.group_shares(members, preds, auth, "gender", two, {"4|9": joint}, "gender_name",
                                fakes_first=True).toPandas().set_index("class")
    expected = quantification.adjusted_shares(gprobs, joint, gp_fake)
    for j, c in enumerate(two):
        for m in ("cc", "acc", "pacc"):
            for x in ("share", "low", "high"):
                assert abs(out.loc[c, f"{m}_{x}"] - expected[m][x][j]) < 1e-6, (c, m, x)
    row = out.loc["female"]
    assert (row["members"], row["scored"], row["predicted_authentic"]) == (501, 500, int((gp_fake <= 0.5).sum()))
    assert row["counted"] == row["predicted_authentic"] and row["method"] == "pacc_fakes_first"
    assert row["model_version"] == "4"


def test_the_fakes_first_matrix_is_built_from_both_models_held_out_users(spark, monkeypatch):
    """The target's held-out users get the authenticity model's out-of-fold P(fake) where it has
    one (it was trained on them), tonight's otherwise; the authenticity panel's fakes get the
    target's posteriors tonight. A model version without held-out users: None (counted the old way)."""
    rng = np.random.default_rng(21)
    two = ["female", "male"]
    n = 400
    gender_probs = rng.dirichlet([2, 2], size=n)
    p_fake_tonight = rng.random(n)
    preds = spark.createDataFrame([(u, {c: float(x) for c, x in zip(two, p)}, "5") for u, p in enumerate(gender_probs)],
                                  "user_id long, probabilities map<string,float>, model_version string")
    auth = spark.createDataFrame([(u, {"authentic": float(1 - f), "fake": float(f)}, "2") for u, f in enumerate(p_fake_tonight)],
                                 "user_id long, probabilities map<string,float>, model_version string")
    mine_ids = np.arange(0, 300)
    mine = {"user_id": mine_ids, "y": mine_ids % 2, "probabilities": rng.dirichlet([3, 1], size=300),
            "weight": np.ones(300), "weighted": np.array(False)}
    auth_ids = np.arange(250, 400)
    theirs = {"user_id": auth_ids, "y": (auth_ids % 3 == 0).astype(int), "probabilities": rng.dirichlet([1, 1], size=150),
              "weight": np.ones(150), "weighted": np.array(False)}
    held = {("gender_name", "5"): mine, ("authenticity", "2"): theirs}
    monkeypatch.setattr(audience, "held_out_of", lambda target, version: held.get((target, version)))
    got = audience.fakes_first_corrections(preds, auth, "gender_name", two)
    assert list(got) == ["5|2"]
    f32 = lambda x: np.float32(x).astype(np.float64)  # noqa: E731 (the table's floats)
    oof = dict(zip(auth_ids.tolist(), theirs["probabilities"][:, 1]))
    fake_of = np.array([oof[u] if u in oof else f32(p_fake_tonight[u]) for u in mine_ids])
    fakes = auth_ids[theirs["y"] == 1]
    expected = quantification.fakes_first(mine["y"], mine["probabilities"], fake_of, f32(gender_probs[fakes]),
                                          theirs["probabilities"][theirs["y"] == 1, 1], two)
    for m in ("acc", "pacc"):
        assert np.allclose(got["5|2"][m]["matrix"], expected[m]["matrix"], atol=1e-6)
        assert np.allclose(got["5|2"][m]["matrix_variance"], expected[m]["matrix_variance"], atol=1e-9)
    assert got["5|2"]["fakes"] == len(fakes)
    held.pop(("authenticity", "2"))
    assert audience.fakes_first_corrections(preds, auth, "gender_name", two) is None


def test_many_classes_fakes_first_in_spark_equal_the_arithmetic(spark):
    """Country has 37 classes: the job's per-class columns must stay distinct however many there are."""
    rng = np.random.default_rng(22)
    k = 21
    many = [f"c{j}" for j in range(k)]
    y = rng.integers(0, k, 3000)
    logits = rng.normal(size=(3000, k)) + 3 * np.eye(k)[y]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    joint = quantification.fakes_first(y, probs, rng.random(3000) * 0.3, rng.dirichlet(np.ones(k), 80),
                                       rng.random(80) * 0.6 + 0.4, many)
    gp = probs[:300].astype(np.float32).astype(np.float64)
    gf = (rng.random(300) * 0.8).astype(np.float32).astype(np.float64)
    members = spark.createDataFrame([("account", "a", u) for u in range(300)], "group_kind string, group_id string, user_id long")
    preds = spark.createDataFrame([(u, many[int(np.argmax(p))], {c: float(x) for c, x in zip(many, p)}, "1")
                                   for u, p in enumerate(gp)],
                                  "user_id long, label string, probabilities map<string,float>, model_version string")
    auth = spark.createDataFrame([(u, "fake" if f > 0.5 else "authentic", float(f), "2") for u, f in enumerate(gf)],
                                 "user_id long, auth_label string, p_fake double, auth_version string")
    out = audience.group_shares(members, preds, auth, "country", many, {"1|2": joint}, fakes_first=True).toPandas()
    expected = quantification.adjusted_shares(gp, joint, gf)["pacc"]
    got = out.set_index("class").loc[many, "pacc_share"].to_numpy(float)
    assert np.abs(got - expected["share"]).max() < 1e-6
