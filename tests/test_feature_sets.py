"""Feature sets as plugins: profile metadata standardised on the fitting users, scored through the
same weighted-CSR numba pass as text tokens; a target that reads no text trains and scores from
its definition alone."""
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pyspark.sql import functions as F

from jobs import score, train
from runtime import delta_io
from jobs.targets import target_def
from tests.conftest import NIGHT, warehouse_beside
from udfs import kernels
from jobs.profile_features import with_features
from udfs.feature_sets import NUMERIC_FEATURES, ProfileNumeric, TextTokens, feature_set
from udfs.model import NetworkModel

RAW_PROFILES = pd.DataFrame({
    "user_id": [1, 2, 3, 4], "shard": [0, 0, 0, 0],
    "username": ["anna_k", "spam12345", "bob", "zoe"],
    "full_name": ["Anna K", "", "Bob B", "Zoë"],
    "biography": ["hi there", None, "", "ciao"],
    "external_url": [None, None, "https://x.com", None],
    "follower_count": [120, 3, 4000, None],
    "following_count": [200, 5000, 300, 10],
    "media_count": [40, 0, 300, 2],
    "usertags_count": [3, 0, 10, 0],
    "is_private": [False, True, False, None],
    "is_verified": [False, False, False, False],
    "has_anonymous_profile_picture": [False, True, False, False],
    "reel_auto_archive": ["on", "off", None, "unset"],
    "is_business_account": [None, None, True, None],
})


@pytest.fixture(scope="module")
def PROFILES(spark):
    """The profiles' features as jobs.profile_features computes them in Spark."""
    frame = spark.createDataFrame(RAW_PROFILES.astype(object).where(RAW_PROFILES.notna(), None), schema=(
        "user_id long, shard int, username string, full_name string, biography string, external_url string, "
        "follower_count long, following_count long, media_count long, usertags_count long, is_private boolean, "
        "is_verified boolean, has_anonymous_profile_picture boolean, reel_auto_archive string, "
        "is_business_account boolean"))
    return with_features(frame).orderBy("user_id").toPandas()


def numeric_model(frame) -> NetworkModel:
    spec, idf = ProfileNumeric.fit(frame)
    return NetworkModel(["a", "b"], "network", [], list(ProfileNumeric.FEATURES), features=spec, idf=idf)


def test_profile_features_are_standardised_on_the_fitting_users(PROFILES):
    model = numeric_model(PROFILES)
    offsets, indices, values = model.inputs(PROFILES)
    d = len(ProfileNumeric.FEATURES)
    assert offsets.tolist() == list(range(0, 5 * d, d)) and indices.tolist() == list(range(d)) * 4
    x = values.reshape(4, d)
    col = {name: i for i, name in enumerate(NUMERIC_FEATURES)}
    # a constant feature is 0 for everyone, not a division by zero
    assert np.all(x[:, col["is_verified"]] == 0)
    # the missing follower count sits at the fitting users' mean; the others have mean 0, deviation 1
    assert x[3, col["follower_count"]] == 0
    known = x[:3, col["follower_count"]]
    assert abs(known.mean()) < 1e-9 and abs(known.std() - 1.0) < 1e-9
    raw = ProfileNumeric.raw(PROFILES)
    complete = ~np.isnan(raw).any(axis=0) & (np.nanstd(raw, axis=0) > 0)
    assert complete.sum() > 10 and np.isnan(raw).any()
    assert np.allclose(x[:, complete].mean(axis=0), 0) and np.allclose(x[:, complete].std(axis=0), 1)
    assert np.all(x[np.isnan(raw)] == 0)  # every missing value sits at the mean
    assert x[1, col["username_digits"]] > x[0, col["username_digits"]]
    # Spark's workers hand the scorer Arrow batches: the same values as the pandas path
    _, _, from_arrow = model.inputs(pa.RecordBatch.from_pandas(PROFILES, preserve_index=False))
    assert np.array_equal(from_arrow, values)


def test_new_users_are_standardised_with_the_fitted_means_not_their_own(PROFILES):
    model = numeric_model(PROFILES)
    one = PROFILES.iloc[[0]].reset_index(drop=True)
    _, _, alone = model.inputs(one)
    _, _, among = model.inputs(PROFILES)
    assert np.array_equal(alone, among[: len(alone)])


def test_the_forward_pass_reads_weighted_values_for_any_number_of_classes(PROFILES):
    rng = np.random.default_rng(3)
    model = numeric_model(PROFILES)
    offsets, indices, values = model.inputs(PROFILES)
    d = len(ProfileNumeric.FEATURES)
    w, b = rng.normal(size=(d, 3)), rng.normal(size=3)
    got = kernels.predict_network(offsets, indices, [(w, b)], 3, values)
    logits = values.reshape(4, d) @ w + b
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    assert np.allclose(got, expected / expected.sum(axis=1, keepdims=True))


def test_feature_sets_are_named_in_the_artifact(tmp_path, PROFILES):
    model = numeric_model(PROFILES)
    model.nets = [[(np.zeros((len(model.vocab), 2)), np.zeros(2))]]
    again = NetworkModel.load(model.save(tmp_path / "m"))
    assert again.feature_set is ProfileNumeric and again.features["mean"] == model.features["mean"]
    assert NetworkModel(["a", "b"], "network", [], ["hashtag\tx"]).feature_set is TextTokens
    with pytest.raises(KeyError, match="unknown feature set"):
        feature_set("pixels")


def test_a_profile_metadata_target_trains_and_scores_from_its_definition(spark, world, tmp_path_factory):
    """authenticity reads profile_numeric: labels from the world's truth (source 'import')."""
    from sklearn.metrics import f1_score

    cfg, _ = world
    root = tmp_path_factory.mktemp("authenticity")
    own = warehouse_beside(cfg, root)
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{root}/mlflow.db")
    tdef = target_def("authenticity")
    assert tdef.feature_set == "profile_numeric"
    truth = spark.read.json(f"{cfg.landing}/{NIGHT}/source=_truth")
    delta_io.replace_where(own, "labels", truth.select(
        "user_id", F.lit("authenticity").alias("target"),
        F.when(F.col("is_fake"), "fake").otherwise("authentic").alias("label"), F.lit("import").alias("source"),
        F.lit("truth").alias("evidence"), F.lit(NIGHT).alias("run_date")), "true")

    out = train.run(spark, own, target="authenticity", max_iter=30, report_dir=str(root / "reports"))
    model = out["_models"][tdef.model_family]["model"]
    assert model.vocab == list(ProfileNumeric.FEATURES) and model.features["set"] == "profile_numeric"
    metrics = out["metrics"]
    assert metrics[tdef.model_family]["macro_f1"] > metrics["majority"]["macro_f1"] + 0.3, metrics

    summary = score.run(spark, own, target="authenticity")
    preds = spark.read.format("delta").load(own.table_path("predictions")).where("target = 'authenticity'")
    profiles = spark.read.format("delta").load(own.table_path("profiles")).count()
    assert preds.count() == preds.select("user_id").distinct().count() == profiles > 0
    assert set(summary["labels"]) <= {"authentic", "fake", "uncertain"} and summary["labels"].get("fake", 0) > 0
    got = preds.join(truth, "user_id").select("label", "is_fake").where("label != 'uncertain'").toPandas()
    f1 = f1_score(got["is_fake"].map({True: "fake", False: "authentic"}), got["label"], average="macro")
    print(f"authenticity from profile metadata, scored in Spark: macro-F1 {f1:.3f} on {len(got)} confident users")
    assert f1 > 0.8
    # the rule output written beside it: one audience type per scored profile, fakes suspicious
    types = spark.read.format("delta").load(own.table_path("predictions")).where("target = 'audience_type'")
    counts = {r["label"]: r["count"] for r in types.groupBy("label").count().collect()}
    assert types.count() == profiles and counts.get("suspicious", 0) == summary["labels"].get("fake", 0)
    assert set(counts) <= {"real", "influencer", "mass_follower", "suspicious", "uncertain"} and counts.get("real")
    assert summary["audience_type"] == counts
    # audiences of every account and hashtag, from tonight's authenticity scores; a rerun replaces them
    from jobs import audience

    first = audience.run(spark, own, ["authenticity"])
    rows = spark.read.format("delta").load(own.table_path("audience_demographics"))
    n = rows.count()
    audience.run(spark, own, ["authenticity"])
    again = spark.read.format("delta").load(own.table_path("audience_demographics"))
    assert again.count() == n == again.select("group_kind", "group_id", "class").distinct().count() > 0
    assert first["targets"]["authenticity"]["model_versions"] == [str(summary["model"].split("/")[1])]
    shown = again.where("tier != 'suppressed'").toPandas()
    assert len(shown) and shown["share"].between(0, 1).all() and (shown["low"] <= shown["share"]).all()
    assert again.where("tier = 'suppressed' AND share IS NOT NULL").count() == 0
