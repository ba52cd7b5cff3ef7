"""Country from its definition alone: stated locations -> token_mi -> train (37 classes, per-class
thresholds) -> score, judged on the users who state no place against the world's hidden truth."""
import os

from pyspark.sql import functions as F

from jobs import labels, score, token_mi, train
from runtime import delta_io
from jobs.evaluation import NEVER
from jobs.targets import target_def
from tests.conftest import NIGHT, warehouse_beside
from world.truth_check import unstated_users_evaluation


def test_country_labels_train_and_score_every_profile_keeping_precision(spark, world, tmp_path_factory):
    cfg, _ = world
    root = tmp_path_factory.mktemp("country")
    own = warehouse_beside(cfg, root)
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{root}/mlflow.db")
    tdef = target_def("country")
    truth = spark.read.json(f"{cfg.landing}/{NIGHT}/source=_truth")

    found = labels.run(spark, own, "country")["sources"]["stated_location"]
    for reason in ("not_a_place", "several_countries", "ambiguous_place"):
        assert found["outcomes"].get(reason, 0) > 0, found["outcomes"]
    lab = spark.read.format("delta").load(own.table_path("labels")).where("target = 'country'")
    agree = lab.join(truth, "user_id").select(F.avg((F.col("label") == F.col("country")).cast("double"))).first()[0]
    assert agree > 0.9

    token_mi.run(spark, own, target="country", vocab_size=1000, min_users=3, report_dir=str(root / "reports"))
    out = train.run(spark, own, target="country", max_iter=30, report_dir=str(root / "reports"))
    model = out["_models"][tdef.model_family]["model"]
    assert len(model.threshold) == len(tdef.classes) and model.features["recent_captions"] == 5
    thresholds = dict(zip(tdef.classes, model.threshold))
    summary = score.run(spark, own, target="country")
    profiles = spark.read.format("delta").load(own.table_path("profiles")).count()
    assert sum(summary["labels"].values()) == profiles  # every profile: a country or 'uncertain'

    got = unstated_users_evaluation(spark, own, "country")
    print(f"country from ~{sum(found['labels_by_class'].values())} stating users, on {got['users']} stating none: "
          f"macro-F1 {got['macro_f1']}, majority {got['majority_macro_f1']}, kept {got['kept_share']}")
    for c, v in got["kept_per_class"].items():  # a country without a threshold it can keep is never predicted
        assert thresholds[c] < NEVER or v["predicted"] == 0, (c, v)


def test_with_enough_labels_each_kept_country_holds_its_precision_on_unseen_users(spark, world, tmp_path_factory):
    """5000 users state too few places to vouch for any country's precision (every threshold is
    NEVER above); labels imported for 70% of the users give the thresholds something to keep."""
    cfg, _ = world
    root = tmp_path_factory.mktemp("country_imported")
    own = warehouse_beside(cfg, root)
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{root}/mlflow.db")
    truth = spark.read.json(f"{cfg.landing}/{NIGHT}/source=_truth").where(~F.col("is_fake"))
    known = truth.where(F.pmod(F.xxhash64("user_id"), F.lit(10)) < 7)
    delta_io.replace_where(own, "labels", known.select(
        "user_id", F.lit("country").alias("target"), F.col("country").alias("label"), F.lit("import").alias("source"),
        F.lit("truth").alias("evidence"), F.lit(NIGHT).alias("run_date")), "true")
    token_mi.run(spark, own, target="country", vocab_size=2000, min_users=3, report_dir=str(root / "reports"))
    out = train.run(spark, own, target="country", max_iter=30, report_dir=str(root / "reports"))
    model = out["_models"][target_def("country").model_family]["model"]
    assert sum(t < NEVER for t in model.threshold) >= 3, model.threshold
    score.run(spark, own, target="country")
    unseen = (delta_io.read_table(spark, own, "predictions").where("target = 'country'")
              .join(truth.join(known, "user_id", "left_anti").select("user_id", "country"), "user_id")
              .where(F.col("label") != "uncertain")
              .groupBy("label").agg(F.count("*").alias("n"), F.avg((F.col("label") == F.col("country")).cast("double")).alias("precision"))
              .collect())
    kept = {r["label"]: (r["n"], round(r["precision"], 3)) for r in unseen}
    print(f"country kept on unseen users: {kept}")
    assert sum(n for n, _ in kept.values()) >= 50, kept
    for label, (n, precision) in kept.items():
        if n >= 20:
            assert precision >= 0.8, (label, n, precision)
