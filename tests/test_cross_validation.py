"""Cross-validation: stratified stable folds; per-fold vocab from the training folds only; the
project's linear model against the TF-IDF + LR reference on the same folds."""
import json

from pyspark.sql import functions as F

from jobs import cross_validation
from jobs.split import wants_cross_validation, with_folds


def test_folds_are_stratified_stable_and_cover_everyone(spark):
    users = spark.range(0, 3000).select(F.col("id").alias("user_id"),
                                        F.when(F.col("id") % 4 == 0, "a").otherwise("b").alias("label"))
    folds = with_folds(users, 5)
    rows = folds.collect()
    assert len(rows) == 3000 and {r["fold"] for r in rows} == set(range(5))
    per = folds.groupBy("label", "fold").count().collect()
    for label in ("a", "b"):
        sizes = [r["count"] for r in per if r["label"] == label]
        assert max(sizes) - min(sizes) <= 1  # each class dealt evenly to the folds
    again = {r["user_id"]: r["fold"] for r in with_folds(users.orderBy(F.desc("user_id")), 5).collect()}
    assert again == {r["user_id"]: r["fold"] for r in rows}
    assert wants_cross_validation(9_000) and not wants_cross_validation(10_000)


def test_cross_validation_reports_spread_and_the_reference_on_the_same_folds(spark, gender_world, tmp_path):
    result = cross_validation.run(spark, gender_world, "gender", folds=3, vocab_size=2000, models=("logreg",),
                                  min_users=3, families=("hashtag", "word", "bio_word", "name_char"),
                                  out_dir=tmp_path / "cv")
    summary = result["summary"]
    assert set(summary) >= {"logreg", "majority", "name_baseline", cross_validation.REFERENCE}
    tests = [s["test"] for s in result["sizes"]]
    assert all(s["vocab"] == 2000 for s in result["sizes"])
    # Every labelled user is a test user exactly once, in the fold the scores came from.
    labelled = spark.read.format("delta").load(gender_world.table_path("labels")).count()
    assert sum(tests) == labelled and max(tests) - min(tests) <= 2
    assert [m["n_test"] for m in result["per_fold"]["logreg"]] == tests
    assert summary["logreg"]["accuracy"]["mean"] > summary["majority"]["accuracy"]["mean"] + 0.1
    assert summary[cross_validation.REFERENCE]["accuracy"]["mean"] > summary["majority"]["accuracy"]["mean"] + 0.1
    assert summary["logreg"]["accuracy"]["std"] > 0
    assert "accuracy_minus_reference" in summary["logreg"]
    written = json.loads((tmp_path / "cv" / "metrics.json").read_text())
    assert written["summary"]["logreg"]["folds"] == 3
    assert "±" in (tmp_path / "cv" / "metrics.md").read_text()
