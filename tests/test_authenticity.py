"""Authenticity: profile metadata features as Spark columns, gradient-boosted trees scored by numba
exactly as LightGBM scores them, InstaFake mapped onto the same features."""
import numpy as np
import pandas as pd
import pytest

from jobs import instafake, profile_features
from jobs.targets import target_def
from udfs.feature_sets import NUMERIC_FEATURES, ProfileNumeric
from udfs.model import NetworkModel
from udfs.trees import lightgbm_arrays, predict_trees

PROFILE_COLUMNS = ("user_id long, shard int, username string, full_name string, biography string, external_url string, "
                   "follower_count long, following_count long, media_count long, usertags_count long, is_private boolean, "
                   "is_verified boolean, has_anonymous_profile_picture boolean, reel_auto_archive string, "
                   "is_business_account boolean")


def features_of(spark, rows) -> pd.DataFrame:
    frame = spark.createDataFrame(rows, schema=PROFILE_COLUMNS)
    return profile_features.with_features(frame).orderBy("user_id").toPandas().set_index("user_id")


def test_profile_features_on_a_tiny_frame(spark):
    rows = [
        (1, 0, "anna.kowalska", "Anna Kowalska", "coffee and books", "https://x.com", 120, 200, 40, 3, False, False,
         False, "on", False),
        (2, 0, "anna_k92", "Zoë 🌸", "", "", 3, 5000, 0, 0, True, False, True, "off", None),
        (3, 0, "x8k2p9qz", "", None, None, None, 10, 2, None, None, None, None, "unset", True),
        (4, 0, "user84756201", None, "hi", None, 0, 0, 0, 0, False, True, False, None, False),
        (5, 0, "2024.07", "Bob Stone", "a  b   c", None, 10, 1, 9, 0, False, False, False, None, False),
    ]
    f = features_of(spark, rows)
    assert tuple(f.columns[1:]) == NUMERIC_FEATURES  # shard first, then every feature in order
    codes = {name: code for name, (code, _) in profile_features.USERNAME_TYPES.items()}
    assert f["username_type"].tolist() == [codes["name_like"], codes["name_then_digits"],
                                           codes["letters_and_digits_mixed"], codes["long_digit_run"],
                                           codes["digits_only"]]
    assert f["username_words"].tolist() == [2, 2, 1, 1, 2]
    assert f.loc[2, "username_digits"] == 2 and f.loc[4, "username_digits"] == 8
    assert f.loc[3, "username_vowel_share"] == 0 and f.loc[1, "username_vowel_share"] > 0.3
    # the name in the username; a name without words of 3+ letters says nothing (null)
    assert f.loc[1, "name_matches_username"] == 1 and f.loc[5, "name_matches_username"] == 0
    assert np.isnan(f.loc[3, "name_matches_username"]) and np.isnan(f.loc[4, "name_matches_username"])
    assert f.loc[2, "full_name_non_ascii"] == 2 and f.loc[2, "full_name_length"] == 5  # ë and 🌸, one code point each
    assert f.loc[1, "bio_words"] == 3 and f.loc[5, "bio_words"] == 3 and f.loc[2, "bio_words"] == 0
    # missing is missing, not zero: a null bio, count or flag stays null
    assert np.isnan(f.loc[3, "bio_length"]) and f.loc[2, "bio_length"] == 0
    assert np.isnan(f.loc[3, "follower_count"]) and np.isnan(f.loc[3, "log_followers_per_following"])
    assert np.isnan(f.loc[3, "is_private"]) and np.isnan(f.loc[2, "is_business"])
    assert f["reel_auto_archive"].tolist()[:2] == [1.0, 0.0] and np.isnan(f.loc[3, "reel_auto_archive"])
    assert f.loc[1, "has_external_url"] == 1 and f.loc[2, "has_external_url"] == 0 and np.isnan(f.loc[3, "has_external_url"])
    assert f.loc[2, "log_followers_per_following"] == pytest.approx(np.log1p(3) - np.log1p(5000))
    assert f.loc[1, "log_following_per_media"] == pytest.approx(np.log1p(200) - np.log1p(40))


def _lightgbm_fit(n_classes: int, seed: int):
    import lightgbm as lgb

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(600, 5))
    X[rng.random(X.shape) < 0.15] = np.nan  # missing values, learnt directions
    X[:, 3] = np.where(rng.random(600) < 0.3, 0.0, X[:, 3])
    score = np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 1]) ** 2 - np.isnan(X[:, 2])
    y = np.digitize(score, np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1]))
    clf = lgb.LGBMClassifier(n_estimators=40, num_leaves=7, min_child_samples=5, verbose=-1, random_state=seed).fit(X, y)
    return clf, X


@pytest.mark.parametrize("n_classes", [2, 4])
def test_numba_trees_equal_lightgbm_probabilities(n_classes):
    clf, X = _lightgbm_fit(n_classes, seed=n_classes)
    trees = lightgbm_arrays(clf.booster_.dump_model())
    n, d = X.shape
    offsets = np.arange(0, (n + 1) * d, d, dtype=np.int64)
    indices = np.tile(np.arange(d, dtype=np.int32), n)
    got = predict_trees(offsets, indices, X.ravel(), trees, d, n_classes)
    expected = clf.predict_proba(X)
    assert np.isnan(X).any() and np.max(np.abs(got - expected)) < 1e-5
    # through the model artifact: saved, loaded, the same numbers
    model = NetworkModel([str(c) for c in range(n_classes)], "trees", [], [f"num\t{i}" for i in range(d)],
                         features={"set": "profile_numeric", "weighting": "raw"}, trees=trees)
    assert np.max(np.abs(model.predict_values(offsets, indices, X.ravel()) - expected)) < 1e-5


def test_saved_trees_score_the_same(tmp_path):
    clf, X = _lightgbm_fit(2, seed=7)
    model = NetworkModel(["a", "b"], "trees", [], [f"num\t{i}" for i in range(X.shape[1])],
                         features={"set": "profile_numeric", "weighting": "raw"},
                         trees=lightgbm_arrays(clf.booster_.dump_model()))
    again = NetworkModel.load(model.save(tmp_path / "m"))
    n, d = X.shape
    offsets, indices = np.arange(0, (n + 1) * d, d, dtype=np.int64), np.tile(np.arange(d, dtype=np.int32), n)
    assert again.kind == "trees" and set(again.trees) == set(model.trees)
    assert np.array_equal(again.predict_values(offsets, indices, X.ravel()), model.predict_values(offsets, indices, X.ravel()))


def test_trees_are_for_numeric_feature_sets_only():
    assert "gbdt" in target_def("authenticity").model_families
    assert "gbdt" not in target_def("gender").model_families


def test_instafake_maps_its_fields_and_leaves_the_rest_missing(spark):
    raw = pd.DataFrame([
        {"userFollowerCount": 25, "userFollowingCount": 1937, "userBiographyLength": 0, "userMediaCount": 0,
         "userHasProfilPic": 0, "userIsPrivate": 1, "usernameDigitCount": 3, "usernameLength": 10, "isFake": 1},
        {"userFollowerCount": 258, "userFollowingCount": 238, "userBiographyLength": 40, "userMediaCount": 12,
         "userHasProfilPic": 1, "userIsPrivate": 0, "usernameDigitCount": 0, "usernameLength": 8, "isFake": 0},
    ]).assign(user_id=[1, 2])
    rows = instafake.feature_rows(spark, raw, folds=2).set_index("user_id")
    assert rows.loc[1, "label"] == "fake" and rows.loc[2, "label"] == "authentic"
    assert rows.loc[1, "anonymous_picture"] == 1 and rows.loc[2, "anonymous_picture"] == 0
    assert rows.loc[1, "username_digits"] == 3 and rows.loc[2, "bio_length"] == 40
    assert rows.loc[1, "log_followers_per_following"] == pytest.approx(np.log1p(25) - np.log1p(1937))
    unmapped = set(NUMERIC_FEATURES) - set(instafake.FIELD_MAP.values()) - {"anonymous_picture"} - set(
        profile_features.DERIVED_FEATURES)
    assert unmapped and rows[sorted(unmapped)].isna().all().all()
    assert rows["fold"].tolist() == [0, 0]  # stratified: each class's first account opens fold 0
    # what the model reads of them: the feature set's raw values, missing NaN
    model = NetworkModel(["authentic", "fake"], "trees", [], list(ProfileNumeric.FEATURES),
                         features={"set": "profile_numeric", "weighting": "raw"})
    _, _, values = model.inputs(rows.reset_index())
    assert np.isnan(values).sum() == 2 * len(unmapped)


def test_repeated_splits_are_other_stratified_splits(spark):
    n = 40
    raw = pd.DataFrame({"userFollowerCount": range(n), "userFollowingCount": 10, "userBiographyLength": 0,
                        "userMediaCount": 1, "userHasProfilPic": 1, "userIsPrivate": 0, "usernameDigitCount": 0,
                        "usernameLength": 8, "isFake": [i % 4 == 0 for i in range(n)], "user_id": range(1, n + 1)})
    rows = instafake.feature_rows(spark, raw, folds=5, repeats=3)
    for column in ("fold", "fold_1", "fold_2"):  # each split: every fold holds 2 fakes and 6 authentic
        counts = pd.crosstab(rows[column], rows["label"])
        assert len(counts) == 5 and (counts["fake"] == 2).all() and (counts["authentic"] == 6).all()
    assert (rows["fold"] != rows["fold_1"]).any() and (rows["fold_1"] != rows["fold_2"]).any()


def test_audience_type_follows_the_stated_rule(spark):
    from jobs.derived import INFLUENCER_FOLLOWERS, MASS_FOLLOWING, audience_types

    predictions = spark.createDataFrame(
        [(1, "fake"), (2, "authentic"), (3, "authentic"), (4, "authentic"), (5, "uncertain"), (6, "authentic")],
        "user_id long, label string").selectExpr(
        "user_id", "0 as shard", "'authenticity' as target", "label", "map('authentic', 0.5f, 'fake', 0.5f) as probabilities",
        "0.5f as confidence", "'authenticity' as model_name", "'3' as model_version", "date'2026-12-04' as run_date")
    profiles = spark.createDataFrame(
        [(1, 90000, 10), (2, INFLUENCER_FOLLOWERS, MASS_FOLLOWING + 1), (3, 100, MASS_FOLLOWING), (4, 100, 200),
         (5, 100, 200), (6, None, None)], "user_id long, follower_count long, following_count long")
    got = {r["user_id"]: r["label"] for r in audience_types(predictions, profiles).collect()}
    assert got == {1: "suspicious", 2: "influencer", 3: "mass_follower", 4: "real", 5: "uncertain", 6: "real"}
