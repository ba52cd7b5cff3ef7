"""The score job: every profile scored by the champion, idempotent per night, same as spark_udf."""
import mlflow
import numpy as np
from pyspark.sql import functions as F

from jobs import score
from jobs.tokens import with_vocab_indices


def _predictions(spark, cfg):
    return spark.read.format("delta").load(cfg.table_path("predictions"))


def test_scores_every_profile_once_and_reruns_replace(spark, gender_world, trained):
    cfg = gender_world
    first = score.run(spark, cfg, "gender")
    profiles = spark.read.format("delta").load(cfg.table_path("profiles"))
    preds = _predictions(spark, cfg)
    assert preds.count() == profiles.count()
    assert set(first["labels"]) <= {"female", "male", "uncertain"} and first["model"] == f"gender/{trained['runs']['mlp1']['version']}"
    # The summary's counts are observed during the write: they must be the table's.
    night = preds.where((F.col("run_date") == F.lit(cfg.run_date)) & (F.col("target") == "gender"))
    assert first["labels"] == {r["label"]: r["count"] for r in night.groupBy("label").count().collect()}
    score.run(spark, cfg, "gender")
    again = _predictions(spark, cfg)
    assert again.count() == profiles.count() == again.select("user_id").distinct().count()
    # A subset of shards replaces only those shards.
    score.run(spark, cfg, "gender", shards=[1])
    assert _predictions(spark, cfg).count() == profiles.count()
    row = again.where("label != 'uncertain'").first()
    assert abs(sum(row["probabilities"].values()) - 1) < 1e-5
    assert row["confidence"] == max(row["probabilities"].values())


def test_uncertain_users_are_below_the_models_threshold(spark, gender_world, trained):
    cfg = gender_world
    score.run(spark, cfg, "gender")
    threshold = mlflow.pyfunc.load_model("models:/gender@champion").unwrap_python_model().model.threshold
    preds = _predictions(spark, cfg)
    assert preds.where((F.col("label") != "uncertain") & (F.col("confidence") < threshold - 1e-6)).count() == 0
    # Confident yet uncertain: only users with no vocab token at all.
    confident_uncertain = preds.where((F.col("label") == "uncertain") & (F.col("confidence") >= threshold + 1e-6))
    model = mlflow.pyfunc.load_model("models:/gender@champion").unwrap_python_model().model
    inputs = score.score_inputs(spark.read.format("delta").load(cfg.table_path("user_texts")))
    in_vocab = F.size("indices")
    vectors = with_vocab_indices(inputs, model.vocab, keep=("user_id",))
    with_tokens = confident_uncertain.join(vectors.where(in_vocab > 0), "user_id")
    assert with_tokens.count() == 0
    no_tokens = vectors.where(in_vocab == 0).select("user_id")
    assert no_tokens.count() > 0
    assert preds.join(no_tokens, "user_id").where(F.col("label") != "uncertain").count() == 0


def test_numba_path_agrees_with_mlflow_spark_udf(spark, gender_world, trained):
    cfg = gender_world
    folder, name, version = score.resolve_champion("gender")
    model = mlflow.pyfunc.load_model(f"models:/{name}/{version}").unwrap_python_model().model
    texts = spark.read.format("delta").load(cfg.table_path("user_texts"))
    inputs = score.score_inputs(texts, [0]).cache()  # every text column, for the pyfunc
    # The job hands the scorer only the columns the model's families read: same scores.
    job_inputs = score.score_inputs(texts, [0], model.feature_set.columns(model))
    assert set(job_inputs.columns) < set(inputs.columns)
    ours = score.predict_batch(job_inputs, folder, model.classes)
    udf = mlflow.pyfunc.spark_udf(spark, f"models:/{name}/{version}", env_manager="local",
                                  result_type="label string, confidence double, p_female double, p_male double")
    theirs = inputs.select("user_id", udf(F.struct("biography", "full_name", "captions")).alias("r")).select("user_id", "r.*")
    a = ours.toPandas().sort_values("user_id").reset_index(drop=True)
    b = theirs.toPandas().sort_values("user_id").reset_index(drop=True)
    assert len(a) == len(b) > 100
    assert (a["user_id"].to_numpy() == b["user_id"].to_numpy()).all()
    assert np.abs(a["p_male"].to_numpy() - b["p_male"].to_numpy()).max() < 1e-6
    assert (a["label"] == b["label"]).all()


def test_worker_warm_up_loads_the_model_and_answers_every_row(trained):
    import pyarrow as pa

    from udfs import arrow_adapter

    folder, _, _ = score.resolve_champion("gender")
    arrow_adapter._MODELS.pop(folder, None)
    out = list(arrow_adapter.warm_batches(iter([pa.RecordBatch.from_pydict({"id": [0, 1, 2]})]), folder))
    assert folder in arrow_adapter._MODELS
    assert sum(b.num_rows for b in out) == 3


def test_a_tfidf_model_scores_the_same_in_spark_as_on_the_training_path(spark, gender_world, trained, tmp_path):
    """The scorer hands a weighted model each token's count: Spark's mapInArrow scores equal the
    model on the indices and counts train builds (jobs.tokens.with_vocab_indices)."""
    from jobs import train
    from udfs.csr import csr_of_lists

    model = trained["_models"]["logreg"]["model"]
    assert model.weighted
    folder = str(model.save(tmp_path / "logreg"))
    texts = spark.read.format("delta").load(gender_world.table_path("user_texts"))
    inputs = score.score_inputs(texts, [0, 1], model.feature_set.columns(model))
    ours = score.predict_batch(inputs, folder, model.classes).toPandas().sort_values("user_id").reset_index(drop=True)
    vectors = (with_vocab_indices(texts.where(F.col("shard").isin(0, 1)), model.vocab, keep=("user_id",))
               .toPandas().sort_values("user_id").reset_index(drop=True))
    assert len(ours) == len(vectors) > 100 and (ours["user_id"] == vectors["user_id"]).all()
    expected = train.split_probs(model, vectors)
    assert np.abs(ours["p_male"].to_numpy() - expected[:, 1]).max() < 1e-6
    presence_only = model.predict_csr(*csr_of_lists(vectors["indices"]))  # counts ignored: a different answer
    assert np.abs(presence_only[:, 1] - expected[:, 1]).max() > 1e-3
