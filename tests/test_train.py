"""Training: split determinism, every model beats the majority class, the champion gate, reload."""
import mlflow
import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from jobs import evaluation, registry, train, training_set
from jobs.targets import target_def
from udfs.csr import csr_of_lists
from jobs.split import is_test_user
from udfs.model import NetworkModel


def test_split_is_deterministic_and_keeps_class_shares(spark):
    users = spark.range(0, 200_000).select(F.col("id").alias("user_id"), (F.col("id") % 3 == 0).alias("c"))
    a = users.select("user_id", "c", is_test_user(F.col("user_id")).alias("t"))
    first = [r["user_id"] for r in a.where("t").orderBy("user_id").collect()]
    again = [r["user_id"] for r in a.where("t").orderBy("user_id").collect()]
    assert first == again
    share = a.groupBy("c").agg(F.avg(F.col("t").cast("double")).alias("s")).collect()
    for row in share:
        assert row["s"] == pytest.approx(0.10, abs=0.005)
    # Membership does not depend on who else is in the data.
    subset = users.where("user_id % 7 = 0").select("user_id", is_test_user(F.col("user_id")).alias("t"))
    assert {r["user_id"] for r in subset.where("t").collect()} == {u for u in first if u % 7 == 0}


def test_every_model_beats_the_majority_class(trained):
    m = trained["metrics"]
    assert trained["n_test"] > 300
    for kind in target_def("gender").model_families + ("name_baseline",):
        assert m[kind]["accuracy"] > m["majority"]["accuracy"] + 0.1, (kind, m[kind])
        assert m[kind]["roc_auc"] > 0.75
    assert 0 <= m["mlp1"]["ece"] < 0.2


def test_numba_scores_equal_sklearn_probabilities(trained):
    test = trained["_test"]
    for kind in ("perceptron", "mlp1", "mlp2"):
        model_info = trained["_models"][kind]
        clf = model_info["sklearn"]
        X = training_set.csr_matrix(test["indices"], clf.coefs_[0].shape[0])
        ours = _model_of(kind, trained).predict_csr(*csr_of_lists(test["indices"]))
        assert np.abs(ours - clf.predict_proba(X)).max() < 1e-5


def _model_of(kind, trained):
    run_id = trained["_models"][kind]["run_id"]
    client = mlflow.MlflowClient()
    path = client.download_artifacts(run_id, "vocab.csv")
    assert path  # the vocab is logged with every run
    if kind == "mlp1":
        return mlflow.pyfunc.load_model("models:/gender@champion").unwrap_python_model().model
    clf = trained["_models"][kind]["sklearn"]
    return NetworkModel(["female", "male"], "network", [list(zip(clf.coefs_, clf.intercepts_))], ["x"] * clf.coefs_[0].shape[0])


def test_logged_model_reloads_and_predicts_the_same(trained):
    test = trained["_test"]
    loaded = mlflow.pyfunc.load_model("models:/gender@champion")
    from_texts = loaded.predict(test[["biography", "full_name", "captions"]])
    from_indices = loaded.predict(pd.DataFrame({"indices": test["indices"]}))
    inner = loaded.unwrap_python_model().model
    probs = inner.predict_csr(*csr_of_lists(test["indices"]))
    assert np.allclose(from_texts[["p_female", "p_male"]].to_numpy(), probs, atol=1e-9)
    assert np.allclose(from_indices[["p_female", "p_male"]].to_numpy(), probs, atol=1e-9)
    assert set(from_texts["label"]) <= {"female", "male", "uncertain"}
    assert trained["runs"]["mlp1"]["alias"] == "champion"


def test_champion_gate_refuses_a_worse_model(trained):
    test = trained["_test"]
    champion = mlflow.pyfunc.load_model("models:/gender@champion").unwrap_python_model().model
    # A network with all weights zero: it answers 50/50 for everyone.
    zero = NetworkModel(champion.classes, "network", [[(np.zeros_like(w), np.zeros_like(b)) for w, b in champion.nets[0]]],
                        champion.vocab)
    y = test["label"].map({"female": 0, "male": 1}).to_numpy()
    metrics = evaluation.evaluate(y, zero.predict_csr(*csr_of_lists(test["indices"])), zero.classes)
    result = registry.log_and_gate(zero, "mlp1", {"target": "gender"}, metrics, [], test, "gender")
    assert result["alias"] == "challenger" and "does not beat" in result["gate"]
    client = mlflow.MlflowClient()
    assert str(client.get_model_version_by_alias("gender", "champion").version) == trained["runs"]["mlp1"]["version"]
    assert str(client.get_model_version_by_alias("gender", "challenger").version) == result["version"]


def test_tfidf_linear_models_score_as_sklearn_on_sklearns_tfidf(trained):
    """logreg/linsvm read tf-idf values: the numba scorer's probabilities equal sklearn's model on
    sklearn's own TfidfTransformer (smooth idf, sublinear tf) fitted on the same fitting users,
    each token family's block scaled to unit length."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfTransformer

    test = trained["_test"]
    for kind in ("logreg", "linsvm"):
        model, clf = trained["_models"][kind]["model"], trained["_models"][kind]["sklearn"]
        assert model.features["weighting"] == "tfidf" and model.idf is not None
        width = len(model.vocab)

        def counts_matrix(frame):
            offsets, indices = csr_of_lists(frame["indices"])
            counts = csr_of_lists(frame["counts"])[1]
            return sp.csr_matrix((counts.astype(float), indices, offsets), shape=(len(frame), width))

        ours = train.split_probs(model, test)
        assert ours.shape == (len(test), 2) and np.allclose(ours.sum(axis=1), 1)
        X_test_counts = counts_matrix(test)
        assert X_test_counts.max() > 1  # some tokens occur more than once: tf matters
        fit = trained["_fit"]
        tfidf = TfidfTransformer(sublinear_tf=True, smooth_idf=True, norm=None).fit(counts_matrix(fit))
        assert np.allclose(tfidf.idf_, model.idf)
        X_test = tfidf.transform(X_test_counts).tocsc()
        families = np.array([f.split("\t")[0] for f in model.vocab])
        for family in set(families):
            block = np.flatnonzero(families == family)
            norms = np.sqrt(np.asarray(X_test[:, block].multiply(X_test[:, block]).sum(axis=1)).ravel())
            X_test[:, block] = sp.diags(1 / np.where(norms > 0, norms, 1)) @ X_test[:, block]
        X_test = X_test.tocsr()
        if kind == "logreg":
            assert np.abs(ours - clf.predict_proba(X_test)).max() < 1e-6
        else:  # the SVM's margin, calibrated: same ranking of users as sklearn's decision function
            margin = clf.decision_function(X_test)
            order = np.argsort(margin, kind="stable")
            assert np.all(np.diff(ours[order, 1]) >= -1e-9)


def test_nothing_fitted_depends_on_the_test_users_labels():
    """Flip every test label: the fitted model, its idf and its 'uncertain' threshold stay the
    same (thresholds and calibration come from calibration users)."""
    rng = np.random.default_rng(2)
    n, width = 900, 40
    labels = rng.integers(0, 2, n)
    rates = rng.uniform(0.05, 0.5, (width, 2))
    rows = [np.flatnonzero(rng.random(width) < rates[:, labels[u]]).astype(np.int32) for u in range(n)]
    frame = pd.DataFrame({"user_id": np.arange(n), "label": np.array(["female", "male"])[labels],
                          "indices": rows, "counts": [rng.integers(1, 4, len(r)).astype(np.int32) for r in rows],
                          "full_name": "", "is_test": np.arange(n) % 10 == 0, "is_calibration": np.arange(n) % 10 == 1})
    flipped = frame.copy()
    flipped.loc[flipped["is_test"], "label"] = flipped.loc[flipped["is_test"], "label"].map({"female": "male", "male": "female"})
    vocab = [f"word\tw{i}" for i in range(width)]
    for kind in ("logreg", "linsvm", "perceptron"):
        a = train.fit_and_evaluate(kind, training_set.holdout_split(frame, ["female", "male"]), vocab, 8, 0, 20, 0.99)
        b = train.fit_and_evaluate(kind, training_set.holdout_split(flipped, ["female", "male"]), vocab, 8, 0, 20, 0.99)
        assert a[0].threshold == b[0].threshold > 0.5, kind
        for (wa, ba), (wb, bb) in zip(a[0].nets[0], b[0].nets[0]):
            assert np.array_equal(wa, wb) and np.array_equal(ba, bb), kind
        assert a[1]["accuracy"] == pytest.approx(1 - b[1]["accuracy"])  # the test labels were read only to score


def test_accuracy_threshold_keeps_everyone_when_every_held_out_user_may_be_kept():
    """A threshold is evidence from held-out users: when all of them together reach the level,
    none is a floor (a near-constant model's test users fall just under the least confident one)."""
    from jobs.evaluation import abstention_thresholds, kept_mask

    y = np.array([0, 0, 1, 0])
    held_out = np.array([[0.66, 0.34], [0.65, 0.35], [0.648, 0.352], [0.647, 0.353]])
    assert abstention_thresholds("accuracy", y, held_out, 0.5) == 0.0
    assert kept_mask(np.array([[0.64, 0.36]]), 0.0).all()
    # at 0.9 only the two most confident (both right) are kept: the floor is the second one's
    assert abstention_thresholds("accuracy", y, held_out, 0.9) == 0.65
