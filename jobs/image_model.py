"""The image model: one 3D CNN over each user's group of images (jobs.image_groups), with a head
per target it predicts at once (IMAGE_HEADS: gender, region, occupation), as in MEX-A3T 2019
(reference 004). Keras on TensorFlow's CPU build (issue 26 measured it fastest for Conv3D on two
cores, no downloads).

Fitting users are those with an image group and a label of at least one head; a head's loss
counts only the users it has a label for (the others weigh 0), so a user labelled for gender
alone still teaches the shared layers. Labels come from bios and Facebook links, never from the
pictures, so what produced a label is not what the model reads.

Judged twice: on the labelled test users (the split every target uses, jobs.split), and, on a
generated world, against the hidden truth on every authentic user with pictures who was not
fitted on (most of whom state nothing) — next to the text model's predictions of the same users
when the night has them, and the majority class.

  DEMOGRAPHICS_NAMESPACE=demo/100000-users .venv/bin/python -m jobs.image_model --epochs 8
"""
from __future__ import annotations

import json
import os
from functools import reduce
import shutil
import tempfile
import time

import click
import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.image_groups import GROUP_SIZE, group_arrays, user_image_groups
from jobs.media import IMAGE_SIZE
from jobs.split import is_calibration_user, is_test_user
from jobs.targets import target_def
from jobs.token_mi import labelled_users
from runtime import delta_io
from runtime.config import PipelineConfig, config_from_cli
from runtime.task_summary import echo_summary

IMAGE_HEADS = ("gender", "region", "occupation")
FILTERS = (16, 32, 32)   # three Conv3D layers, as measured in issue 26
DENSE_UNITS = 64
NO_LABEL = -1


def labelled_groups(groups: DataFrame, labels: DataFrame, heads=IMAGE_HEADS) -> DataFrame:
    """Every user with an image group, a label column per head (null: none), and the split flags."""
    out = groups
    for head in heads:
        tdef = target_def(head)
        out = out.join(labelled_users(labels, tdef).withColumnRenamed("label", f"label_{head}"), "user_id", "left")
    has_label = reduce(lambda a, b: a | b, [F.col(f"label_{h}").isNotNull() for h in heads])
    test = is_test_user(F.col("user_id"))
    return out.withColumns({"has_label": has_label, "is_test": test,
                            "is_calibration": ~test & is_calibration_user(F.col("user_id"))})


def head_targets(frame: pd.DataFrame, heads=IMAGE_HEADS) -> dict[str, np.ndarray]:
    """Per head: class index of each row's label, NO_LABEL where it has none."""
    out = {}
    for head in heads:
        index = {c: i for i, c in enumerate(target_def(head).classes)}
        out[head] = frame[f"label_{head}"].map(index).fillna(NO_LABEL).astype(np.int64).to_numpy()
    return out


def build_model(heads=IMAGE_HEADS, group_size: int = GROUP_SIZE, size: int = IMAGE_SIZE, seed: int = 7):
    """volume [p, h, w, 3] uint8 + mask [p] -> one softmax per head. Three Conv3D layers (3x3x3,
    'same'), max-pooling within each image (never across the group), then the mean over the
    group's real images only (the mask), a dense layer, and the heads."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    volume = keras.Input((group_size, size, size, 3), name="volume")
    mask = keras.Input((group_size,), name="mask")
    x = layers.Rescaling(1 / 255)(volume)
    for i, n in enumerate(FILTERS):
        x = layers.Conv3D(n, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling3D((1, 2, 2), name=f"pool{i}")(x)
    x = layers.TimeDistributed(layers.GlobalAveragePooling2D(), name="image_mean")(x)  # [p, filters]
    weights = layers.Reshape((group_size, 1))(mask)
    pooled = layers.Lambda(lambda t: keras.ops.sum(t[0] * t[1], axis=1) / keras.ops.maximum(keras.ops.sum(t[1], axis=1), 1.0),
                           name="group_mean")([x, weights])
    hidden = layers.Dense(DENSE_UNITS, activation="relu", name="dense")(pooled)
    outputs = {h: layers.Dense(len(target_def(h).classes), activation="softmax", name=h)(hidden) for h in heads}
    model = keras.Model({"volume": volume, "mask": mask}, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss={h: "sparse_categorical_crossentropy" for h in heads})
    return model


def _masked(targets: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """Per head: labels with NO_LABEL as class 0, and weights 0 where there is no label."""
    return ({h: np.maximum(t, 0) for h, t in targets.items()},
            {h: (t != NO_LABEL).astype(np.float32) for h, t in targets.items()})


def fit(model, volumes, mask, targets: dict[str, np.ndarray], val, epochs: int, batch_size: int = 32):
    """Masked multi-task fit: a row without a head's label weighs 0 in that head's loss."""
    import keras

    val_volumes, val_mask, val_targets = val
    y, w = _masked(targets)
    val_data = ({"volume": val_volumes, "mask": val_mask}, *_masked(val_targets))
    stop = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    history = model.fit({"volume": volumes, "mask": mask}, y, sample_weight=w, validation_data=val_data,
                        epochs=epochs, batch_size=batch_size, callbacks=[stop], verbose=0, shuffle=True)
    return {k: [round(float(v), 4) for v in vals] for k, vals in history.history.items() if k in ("loss", "val_loss")}


def predict(model, volumes, mask, batch_size: int = 256) -> dict[str, np.ndarray]:
    out = model.predict({"volume": volumes, "mask": mask}, batch_size=batch_size, verbose=0)
    return {h: np.asarray(p) for h, p in out.items()}


def _f1(y: np.ndarray, probs: np.ndarray, classes) -> dict:
    from jobs.evaluation import evaluate

    got = evaluate(y, probs, list(classes))
    return {"users": int(len(y)), "macro_f1": round(got["macro_f1"], 4), "accuracy": round(got["accuracy"], 4)}


def head_metrics(targets: dict[str, np.ndarray], probs: dict[str, np.ndarray]) -> dict:
    """Per head, on the rows it has a label for: macro-F1 and accuracy of the model and of the
    majority class of those rows."""
    out = {}
    for head, y in targets.items():
        seen = y != NO_LABEL
        if not seen.any():
            continue
        classes = target_def(head).classes
        majority = np.bincount(y[seen], minlength=len(classes)).argmax()
        out[head] = {"model": _f1(y[seen], probs[head][seen], classes),
                     "majority": _f1(y[seen], np.eye(len(classes))[np.full(seen.sum(), majority)], classes)}
    return out


def exported_weights(model) -> dict[str, np.ndarray]:
    """Every layer's weights by '<layer>.<index>' (kernel 0, bias 1): what udfs.image_cnn reads."""
    return {f"{layer.name}.{i}": w for layer in model.layers for i, w in enumerate(layer.get_weights())}


def _to_local(df: DataFrame, columns) -> pd.DataFrame:
    """A frame of image groups brought to the driver through Parquet (pictures are large: a
    collect would hold them all in the JVM)."""
    import pyarrow.parquet as pq

    folder = tempfile.mkdtemp(prefix="image-groups-")
    try:
        df.select(*columns).write.mode("overwrite").parquet(folder)
        return pq.read_table(folder).to_pandas()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def fused(text: np.ndarray, image: np.ndarray, prior: np.ndarray, weight: float = 1.0) -> np.ndarray:
    """Late fusion of two posteriors of one user taken as independent evidence:
    p(c | text, image) ∝ p(c | text) (p(c | image) / p(c)) ** weight, the prior counted once and
    the image's evidence tempered by its calibration weight (image_weight)."""
    ratio = (np.clip(image, 1e-9, 1) / np.clip(prior, 1e-9, 1)) ** weight
    joint = np.clip(text, 1e-9, 1) * ratio
    return joint / joint.sum(axis=1, keepdims=True)


WEIGHT_GRID = np.linspace(0, 2, 41)


def image_weight(image: np.ndarray, y: np.ndarray, prior: np.ndarray, text: np.ndarray | None = None) -> float:
    """The weight of the image's evidence that calibrates the fusion best on held-out labelled
    users: the w minimising the log loss of text · (p_image / prior) ** w. `text`: the text
    model's held-out (out-of-fold) posteriors of the same users; without them, the prior (the
    image model calibrated alone) -- the text model's probabilities of labelled users from
    tonight are in-sample. Held-out users are few, so the pick is guarded: 0 unless the best w
    beats w = 0 by more than twice its standard error (paired over users), else the smallest w
    within one standard error of the best -- an image head that learnt nothing leaves the text
    as it is."""
    seen = y != NO_LABEL
    if text is not None:
        seen &= ~np.isnan(text).any(axis=1)
    n = int(seen.sum())
    if n < 2:
        return 0.0
    base = np.tile(prior, (n, 1)) if text is None else text[seen]
    rows = np.arange(n)
    losses = np.array([-np.log(fused(base, image[seen], prior, w)[rows, y[seen]]) for w in WEIGHT_GRID])
    best = int(np.argmin(losses.mean(axis=1)))
    gain = losses[0] - losses[best]
    if gain.mean() <= 1.96 * gain.std(ddof=1) / np.sqrt(n):
        return 0.0
    within = losses.mean(axis=1) <= losses[best].mean() + (losses - losses[best]).std(axis=1, ddof=1) / np.sqrt(n)
    return float(WEIGHT_GRID[int(np.argmax(within))])


def held_out_text(head: str, users: np.ndarray) -> np.ndarray | None:
    """The text champion's held-out posteriors (train's held_out.npz: test and out-of-fold
    users) of `users`, NaN rows for users it holds none of; None without a champion or file."""
    from mlflow.exceptions import MlflowException

    from jobs.score import resolve_champion
    from udfs.model import load_held_out

    try:
        folder, _, _ = resolve_champion(head)
    except MlflowException:  # no registered text model (or champion) for this head
        return None
    held = load_held_out(folder)
    if held is None:
        return None
    index = {int(u): i for i, u in enumerate(held["user_id"])}
    probs = held["probabilities"]
    out = np.full((len(users), probs.shape[1]), np.nan)
    for row, u in enumerate(users):
        if int(u) in index:
            out[row] = probs[index[int(u)]]
    return out


def fusion_weight(head: str, image: np.ndarray, y: np.ndarray, prior: np.ndarray,
                  text: np.ndarray | None) -> tuple[float, str, dict | None]:
    """(w, what it was fitted on, a check) for one head, on labelled users held out of the image
    fit (`image`, `y`: its validation and test users) and `text`, the text champion's held-out
    posteriors of them (NaN rows: none; None: no champion or file). The check is fused against
    text alone on the same users, each half fused with the weight fitted on the other half."""
    if text is None:
        return image_weight(image, y, prior), "held-out users, the prior for text (no held-out text posteriors)", None
    both = (y != NO_LABEL) & ~np.isnan(text).any(axis=1)
    n = int(both.sum())
    fitted_on = f"{n} labelled users held out of both the image fit and the text model"
    w = image_weight(image, y, prior, text)
    if n < 20:
        return w, fitted_on, None
    classes = target_def(head).classes
    users = np.random.default_rng(0).permutation(np.flatnonzero(both))
    halves = (users[::2], users[1::2])
    out = np.empty_like(text)
    for fit_on, apply_to in (halves, halves[::-1]):
        out[apply_to] = fused(text[apply_to], image[apply_to], prior, image_weight(image[fit_on], y[fit_on], prior, text[fit_on]))
    return w, fitted_on, {"text": _f1(y[users], text[users], classes), "fused_cross_fitted": _f1(y[users], out[users], classes)}


def head_priors(targets: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per head, the class shares of its labelled fitting users (add-one smoothed): the prior
    both models learnt."""
    out = {}
    for head, y in targets.items():
        n = len(target_def(head).classes)
        counts = np.bincount(y[y != NO_LABEL], minlength=n) + 1.0
        out[head] = counts / counts.sum()
    return out


def truth_comparison(spark: SparkSession, config: PipelineConfig, frame: pd.DataFrame,
                     probs: dict[str, np.ndarray], priors: dict[str, np.ndarray],
                     weights: dict[str, float], heads=IMAGE_HEADS) -> dict | None:
    """On a generated world: per head (those trained), image-only against the truth on the
    authentic users not fitted on, next to the night's text predictions of the same users (when
    there are any) and their fusion."""
    from jobs.labellers.stand_in_annotator import newest_truth

    folder = newest_truth(config)
    if folder is None:
        return None
    truth = spark.read.json(folder).select("user_id", "is_fake", *IMAGE_HEADS).toPandas().set_index("user_id")
    preds = delta_io.read_table(spark, config, "predictions").where(
        (F.col("run_date") == F.lit(config.run_date)) & F.col("target").isin(*IMAGE_HEADS))
    text = {(r["target"], r["user_id"]): r["probabilities"] for r in
            preds.join(spark.createDataFrame(frame[["user_id"]]), "user_id").select("target", "user_id", "probabilities").collect()}
    judged = ~frame["fitted"].to_numpy() & ~truth.loc[frame["user_id"], "is_fake"].to_numpy()
    out = {}
    for head in heads:
        classes = list(target_def(head).classes)
        y = truth.loc[frame["user_id"], head].map({c: i for i, c in enumerate(classes)}).to_numpy()
        keep = judged & ~pd.isna(y)
        y = y[keep].astype(int)
        row = {"image": _f1(y, probs[head][keep], classes)}
        ids = frame["user_id"].to_numpy()[keep]
        with_text = np.array([(head, u) in text for u in ids], bool)
        if with_text.any():
            text_probs = np.array([[text[(head, u)].get(c, 0.0) for c in classes] for u in ids[with_text]])
            row["text"] = _f1(y[with_text], text_probs, classes)
            row["image_same_users"] = _f1(y[with_text], probs[head][keep][with_text], classes)
            row["fused"] = _f1(y[with_text], fused(text_probs, probs[head][keep][with_text], priors[head],
                                                   weights[head]), classes)
        out[head] = row
    return out


def run(spark: SparkSession, config: PipelineConfig, epochs: int = 8, seed: int = 7, log: bool = True) -> dict:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(os.cpu_count() or 2)
    started = time.perf_counter()
    groups = user_image_groups(delta_io.read_table(spark, config, "posts"), delta_io.read_table(spark, config, "images"))
    flagged = labelled_groups(groups, delta_io.read_table(spark, config, "labels"))
    frame = _to_local(flagged, ["user_id", "n_images", "pixels", "has_label", "is_test", "is_calibration",
                                *[f"label_{h}" for h in IMAGE_HEADS]]).sort_values("user_id").reset_index(drop=True)
    volumes, mask = group_arrays(frame["pixels"])
    targets = head_targets(frame)
    fitting = (frame["has_label"] & ~frame["is_test"] & ~frame["is_calibration"]).to_numpy()
    val = (frame["has_label"] & frame["is_calibration"]).to_numpy()
    test = (frame["has_label"] & frame["is_test"]).to_numpy()
    frame["fitted"] = fitting | val
    if fitting.sum() < 50:
        raise ValueError(f"only {int(fitting.sum())} labelled users with pictures to fit the image model on")
    model = build_model(seed=seed)
    history = fit(model, volumes[fitting], mask[fitting], {h: t[fitting] for h, t in targets.items()},
                  (volumes[val], mask[val], {h: t[val] for h, t in targets.items()}), epochs)
    probs = predict(model, volumes, mask)
    summary = {"users_with_pictures": int(len(frame)), "fitting_users": int(fitting.sum()), "validation_users": int(val.sum()),
               "test_users": int(test.sum()),
               "labelled_per_head": {h: int((t[fitting] != NO_LABEL).sum()) for h, t in targets.items()},
               "history": history,
               "test": head_metrics({h: t[test] for h, t in targets.items()}, {h: p[test] for h, p in probs.items()})}
    priors = head_priors({h: t[fitting] for h, t in targets.items()})
    summary["trained_heads"] = list(trained_heads(summary))
    summary["priors"] = {h: [round(float(v), 6) for v in p] for h, p in priors.items()}
    # The fusion weight is fitted on the labelled users no image weight was fitted on and the text
    # model held out: its test users are the image model's test users, none of its validation users.
    held = val | test
    summary["image_weight"], summary["fusion_fitted_on"], summary["fusion_check"] = {}, {}, {}
    for h in summary["trained_heads"]:  # an untrained head is never scored: no weight, no champion lookup
        text = held_out_text(h, frame["user_id"].to_numpy()[held])
        w, fitted_on, check = fusion_weight(h, probs[h][held], targets[h][held], priors[h], text)
        summary["image_weight"][h], summary["fusion_fitted_on"][h] = w, fitted_on
        if check:
            summary["fusion_check"][h] = check
    summary["truth"] = truth_comparison(spark, config, frame, probs, priors, summary["image_weight"],
                                        summary["trained_heads"])
    summary["seconds"] = round(time.perf_counter() - started, 1)
    if log:
        _log(model, summary, epochs, seed)
    return summary


EXPERIMENT = "demographics-image_groups"
ARTIFACTS = "image_model"


def trained_heads(summary: dict) -> tuple[str, ...]:
    """The heads a run had labelled users to fit on. Another head's output is its untrained
    initialisation, so it is never scored. A run logged before labelled_per_head: every head."""
    counts = summary.get("labelled_per_head")
    return tuple(h for h in IMAGE_HEADS if counts is None or counts.get(h, 0) > 0)


def gate_score(summary: dict, heads=None) -> float:
    """What the champion gate compares: the mean over heads (default: every head it was tested
    on) of the test users' macro-F1."""
    return float(np.mean([summary["test"][h]["model"]["macro_f1"] for h in (heads or summary["test"])]))


def gate(summary: dict, champion) -> tuple[bool, str]:
    """(wins, why): the new run against the champion run, on the heads the champion was tested on.
    A run not tested on one of them (no labels for it tonight) cannot take over that head."""
    if champion is None:
        return True, f"mean test macro-F1 {gate_score(summary):.4f}, no champion yet: champion"
    theirs = [h for h in IMAGE_HEADS if f"{h}_test_macro_f1" in champion.data.metrics]
    missing = [h for h in theirs if h not in summary["test"]]
    if missing:
        return False, f"not tested on {', '.join(missing)}, which the champion predicts: left as challenger"
    score = gate_score(summary, theirs)
    before = (float(np.mean([champion.data.metrics[f"{h}_test_macro_f1"] for h in theirs])) if theirs
              else champion.data.metrics.get("mean_test_macro_f1", -1.0))  # a champion logged without heads' metrics
    wins = score >= before
    return wins, (f"mean test macro-F1 over {', '.join(theirs)} {score:.4f} against champion {before:.4f}: "
                  f"{'champion' if wins else 'left as challenger'}")


def champion_run(client) -> "mlflow.entities.Run | None":
    """The image model's champion run (tag champion = true), the newest if several."""
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return None
    runs = client.search_runs([experiment.experiment_id], "tags.champion = 'true'", order_by=["start_time DESC"],
                              max_results=1)
    return runs[0] if runs else None


def _log(model, summary: dict, epochs: int, seed: int) -> None:
    """Logs the run (weights as npz, the summary) and gates it: the new run is champion when its
    gate score is at least the champion's, else it stays a challenger and scoring keeps the champion."""
    import mlflow

    from jobs.registry import set_experiment

    set_experiment("image_groups", None)
    client = mlflow.MlflowClient()
    champion = champion_run(client)
    with mlflow.start_run(run_name="image_groups") as run:
        mlflow.log_params({"heads": ",".join(IMAGE_HEADS), "group_size": GROUP_SIZE, "image_size": IMAGE_SIZE,
                           "filters": ",".join(map(str, FILTERS)), "dense_units": DENSE_UNITS, "epochs": epochs, "seed": seed})
        for head, m in summary["test"].items():
            mlflow.log_metric(f"{head}_test_macro_f1", m["model"]["macro_f1"])
        mlflow.log_metric("mean_test_macro_f1", gate_score(summary))
        wins, summary["gate"] = gate(summary, champion)
        folder = tempfile.mkdtemp(prefix="image-model-")
        try:
            np.savez(os.path.join(folder, "weights.npz"), **exported_weights(model))
            with open(os.path.join(folder, "summary.json"), "w") as out:
                json.dump(summary, out, indent=1)
            mlflow.log_artifacts(folder, ARTIFACTS)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        mlflow.set_tag("champion", "true" if wins else "false")
        if wins and champion is not None:
            client.set_tag(champion.info.run_id, "champion", "false")
        summary["run_id"] = run.info.run_id


@click.command()
@click.option("--epochs", type=int, default=8)
@click.option("--seed", type=int, default=7)
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), default=None)
def main(epochs, seed, run_date):
    from runtime.spark_session import start_spark

    cfg = config_from_cli(run_date=run_date)
    echo_summary(cfg, "image_model", run(start_spark("image_model"), cfg, epochs=epochs, seed=seed))


if __name__ == "__main__":
    main()
