"""Mutual information: equal to sklearn's on the same columns; the generator's gendered tokens rank first."""
import json
import os

import numpy as np
import pytest
from pyspark.sql import functions as F
from sklearn.metrics import mutual_info_score

from jobs import token_mi
from tests.conftest import NIGHT


def _counts_from_rows(tok_df, lab_df, min_users):
    """Plain Spark reference: one (user_id, family, token) row per user and token."""
    per_class = tok_df.join(lab_df, "user_id").groupBy("family", "token", "label").count()
    return token_mi.supported_tokens(per_class, min_users)


def _counts_from_texts(tok_df, lab_df, min_users):
    """The job's path: each user's hashtags written into a caption, tokenised and counted in numba."""
    captions = tok_df.groupBy("user_id").agg(F.array(F.concat_ws(" ", F.collect_list("token"))).alias("captions"))
    texts = (lab_df.join(captions, "user_id", "left")
             .select("user_id", "label", F.lit(None).cast("string").alias("biography"),
                     F.lit(None).cast("string").alias("full_name"), "captions"))
    classes = [r["label"] for r in lab_df.select("label").distinct().collect()]
    return token_mi.class_counts_from_texts(texts, ("hashtag",), classes, min_users)


@pytest.mark.parametrize("counting", [_counts_from_rows, _counts_from_texts], ids=["rows", "texts"])
@pytest.mark.parametrize("classes", [("female", "male"), ("US", "FR", "JP", "BR", "OTHER")])
def test_mi_equals_sklearn(spark, classes, counting):
    rng = np.random.default_rng(3)
    n_users, n_tokens = 600, 40
    labels = rng.integers(0, len(classes), n_users)
    # Token t is used with a probability that depends on the class: some tokens informative, some not.
    rates = rng.uniform(0.02, 0.6, (n_tokens, len(classes)))
    presence = rng.random((n_tokens, n_users)) < rates[:, labels]
    presence[0, :] = False
    presence[0, :30] = True  # one token used by exactly 30 users
    tokens = [(int(u), "hashtag", f"#t{t}") for t in range(n_tokens) for u in np.flatnonzero(presence[t])]
    tok_df = spark.createDataFrame(tokens, "user_id long, family string, token string")
    lab_df = spark.createDataFrame([(int(u), classes[labels[u]]) for u in range(n_users)], "user_id long, label string")
    totals = {c: int((labels == i).sum()) for i, c in enumerate(classes)}
    counts = counting(tok_df, lab_df, min_users=1)
    got = {r["token"]: (r["mi_nats"], r["n_users"], r["p_class_given_token"])
           for r in token_mi.mutual_information(counts, totals).collect()}
    y = np.array([classes[i] for i in labels])
    for t in range(n_tokens):
        mi, n, p = got[f"#t{t}"]
        assert mi == pytest.approx(mutual_info_score(y, presence[t]), abs=1e-9)
        assert n == presence[t].sum()
        for i, c in enumerate(classes):
            assert p[c] == pytest.approx((presence[t] & (labels == i)).sum() / n, abs=1e-12)


@pytest.mark.parametrize("counting", [_counts_from_rows, _counts_from_texts], ids=["rows", "texts"])
def test_min_support_filters_rare_tokens(spark, counting):
    tok = spark.createDataFrame([(1, "hashtag", "#a"), (2, "hashtag", "#a"), (1, "hashtag", "#b")],
                                "user_id long, family string, token string")
    lab = spark.createDataFrame([(1, "female"), (2, "male"), (3, "male")], "user_id long, label string")
    assert [r["token"] for r in counting(tok, lab, min_users=2).collect()] == ["#a"]


def _labelled_warehouse(spark, world, tmp_path, flip_test_labels=False):
    """The shared world's texts in a warehouse of its own, every authentic user labelled with
    their true gender (optionally every test user with the other one)."""
    from runtime import delta_io
    from jobs.split import is_test_user

    cfg, _ = world
    own = cfg.with_(warehouse=str(tmp_path / "wh"))
    os.makedirs(own.warehouse)
    for t in ("profiles", "posts", "user_texts"):
        os.symlink(cfg.table_path(t), own.table_path(t))
    truth = spark.read.json(f"{cfg.landing}/{NIGHT}/source=_truth").where(~F.col("is_fake"))
    label = F.col("gender")
    if flip_test_labels:
        label = F.when(is_test_user(F.col("user_id")), F.when(label == "female", "male").otherwise("female")).otherwise(label)
    imported = truth.select("user_id", F.lit("gender").alias("target"), label.alias("label"),
                            F.lit("import").alias("source"), F.lit("truth").alias("evidence"),
                            F.lit(NIGHT).alias("run_date"))
    delta_io.replace_where(own, "labels", imported, "true")
    return cfg, own, truth


def _vocab_and_ranking(spark, own):
    vocab = spark.read.format("delta").load(own.table_path("vocab"))
    mi = spark.read.format("delta").load(own.table_path("token_mi"))
    return ([(r["version"], r["index"], r["family"], r["token"]) for r in vocab.orderBy("version", "index").collect()],
            sorted((r["family"], r["token"], r["n_users"], round(r["mi_nats"], 12)) for r in mi.collect()))


def test_test_users_labels_cannot_change_the_vocab(spark, world, tmp_path):
    """Flip the label of every test user: the ranking and every vocab stay exactly the same."""
    _, honest, _ = _labelled_warehouse(spark, world, tmp_path / "honest")
    _, flipped, _ = _labelled_warehouse(spark, world, tmp_path / "flipped", flip_test_labels=True)
    for own in (honest, flipped):
        token_mi.run(spark, own, target="gender", vocab_size=1000, min_users=5, report_dir=str(tmp_path / "rep"),
                     families=("hashtag", "bio_word", "name_word"))
    a, b = _vocab_and_ranking(spark, honest), _vocab_and_ranking(spark, flipped)
    assert len(a[0]) > 1000 and len(a[1]) > 500
    assert a == b


def test_gendered_tokens_rank_first_on_a_generated_world(spark, world, tmp_path):
    """precision@20 of the hashtag ranking against what the generator made gender-dependent."""
    cfg, own, truth = _labelled_warehouse(spark, world, tmp_path)
    summary = token_mi.run(spark, own, target="gender", vocab_size=1000, min_users=5, report_dir=str(tmp_path / "rep"))
    assert summary["training_users"] + summary["test_users_left_out"] == truth.count()
    assert summary["test_users_left_out"] == pytest.approx(0.1 * truth.count(), rel=0.15)
    meta = json.load(open(f"{cfg.landing}/{NIGHT}/world_meta.json"))
    gendered = set(meta["female_tokens"]) | set(meta["male_tokens"]) | set(meta["gendered_topic_tokens"])
    mi = spark.read.format("delta").load(own.table_path("token_mi"))
    top = [r["token"] for r in mi.where("family = 'hashtag' and rank <= 20").orderBy("rank").collect()]
    precision = sum(t in gendered for t in top) / len(top)
    assert precision >= 0.9, (precision, top)
    vocab = spark.read.format("delta").load(own.table_path("vocab"))
    hv = vocab.where(F.col("version") == f"{NIGHT}-hashtag-1000").orderBy("index").collect()
    assert [r["token"] for r in hv[:20]] == top and [r["index"] for r in hv] == list(range(len(hv)))
    assert all(os.path.getsize(p) > 0 for p in summary["report"])
    # Rerunning the night replaces its rows: no duplicates.
    token_mi.run(spark, own, target="gender", vocab_size=1000, min_users=5, report_dir=str(tmp_path / "rep"))
    mi = spark.read.format("delta").load(own.table_path("token_mi"))
    assert mi.count() == mi.select("family", "token").distinct().count()
    assert vocab.count() == spark.read.format("delta").load(own.table_path("vocab")).count()


def test_the_report_lists_each_class_top_tokens_by_p_among_supported_ones(spark, tmp_path):
    """Per class: tokens of the family with enough users, by P(class | token) then users, `top` of them."""
    import pandas as pd

    rng = np.random.default_rng(3)
    classes = ("a", "b", "c")
    rows = []
    for i in range(60):
        p = rng.dirichlet([1, 1, 1])
        rows.append(("hashtag", f"#t{i}", int(rng.integers(5, 60)), float(rng.random()),
                     {c: float(v) for c, v in zip(classes, p)}))
    rows.append(("word", "other_family", 500, 9.0, {"a": 1.0, "b": 0.0, "c": 0.0}))
    frame = spark.createDataFrame(rows, "family string, token string, n_users long, mi_nats double, "
                                        "p_class_given_token map<string,double>")
    files = token_mi.write_report(frame, classes, tmp_path, top=4, min_support=20)
    got = pd.read_csv(tmp_path / "top_by_class.csv")
    assert list(got.columns) == ["class", "token", "n_users", "p"] and os.path.getsize(files[2]) > 1000
    for c in classes:
        expected = sorted((r for r in rows if r[0] == "hashtag" and r[2] >= 20), key=lambda r: (-r[4][c], -r[2]))[:4]
        mine = got[got["class"] == c]
        assert list(mine["token"]) == [r[1] for r in expected], c
        assert np.allclose(mine["p"], [r[4][c] for r in expected])
    assert list(dict.fromkeys(got["class"])) == list(classes)
    by_mi = pd.read_csv(tmp_path / "top_by_mi.csv")
    assert list(by_mi["token"]) == [r[1] for r in sorted((r for r in rows if r[0] == "hashtag"), key=lambda r: -r[3])[:4]]
