"""Post images: the world's media files (world.images) and their ingest into `images` (jobs.media)."""
import collections
import datetime as dt
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pyspark.sql import functions as F

from jobs import media
from jobs.labellers.stated_location import location_outcomes
from jobs.labellers.stated_region import region_class
from jobs.regions import REGIONS, project_regions
from world import images
from world.generate import generate_chunk

from tests.conftest import NIGHT

USERS = 400


def _posts(rows):
    """The posts that parse (the world's broken copies do not)."""
    out = []
    for source, line in rows:
        if source == "posts":
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def _world_posts(tmp_path, seed=5):
    rows = generate_chunk(seed, 0, USERS, NIGHT, tmp_path)
    out = []
    for p in _posts(rows):
        if "media_file" in p:
            out.append(p)
    return rows, out


def test_media_files_are_deterministic_content_named_and_shared(tmp_path):
    rows, posts = _world_posts(tmp_path / "a")
    again, _ = _world_posts(tmp_path / "b")
    assert rows == again
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.png"))
    assert files_a == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.png"))
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a[:50])
    # A share of users posts media; a pool picture is one file posted by several users.
    users_with_media = {p["user_id"] for p in posts if "user_id" in p}
    assert 0.1 * USERS < len(users_with_media) < 0.4 * USERS
    users_per_file = collections.defaultdict(set)
    for p in posts:
        users_per_file[p["media_file"]].add(p.get("user_id", -1))
    assert max(len(u) for u in users_per_file.values()) >= 2
    # Without a night folder nothing is written and no post names a file.
    plain = generate_chunk(5, 0, USERS, NIGHT)
    assert not any("media_file" in p for p in _posts(plain))
    assert [r for r in plain if r[0] != "posts"] == [r for r in rows if r[0] != "posts"]


def test_a_users_pictures_lean_to_their_region():
    """Weak and noisy, but there: the mean hue of many pictures follows the region's."""
    rng = np.random.default_rng(0)
    means = {}
    for region in ("EU", "NA"):
        pics = [images.render(rng, images.user_style(rng, region, "arts", "female")) for _ in range(60)]
        means[region] = np.mean([p.reshape(-1, 3).mean(0) for p in pics], axis=0)
    # EU leans blue, NA green (REGION_HUES).
    assert means["EU"][2] > means["NA"][2] + 10 and means["NA"][1] > means["EU"][1] + 10


def _png(size, mode="RGB"):
    out = io.BytesIO()
    Image.new(mode, size, color=(200, 10, 30) if mode == "RGB" else 128).save(out, format="PNG")
    return out.getvalue()


def test_decode_resizes_converts_and_refuses_a_cut_file():
    width, height, pixels = media.decode(_png((64, 48)))
    assert (width, height, len(pixels)) == (64, 48, media.IMAGE_SIZE * media.IMAGE_SIZE * 3)
    assert tuple(np.frombuffer(pixels, np.uint8).reshape(-1, 3)[0]) == (200, 10, 30)
    assert len(media.decode(_png((32, 32), "L"))[2]) == media.IMAGE_SIZE * media.IMAGE_SIZE * 3
    whole = _png((32, 32))
    with pytest.raises(Exception):
        media.decode(whole[: len(whole) // 3])
    with pytest.raises(Exception):
        media.decode(b"not a picture")


def test_every_referenced_picture_is_decoded_or_quarantined_and_posts_are_kept(spark, world):
    cfg, summary = world
    posts = spark.read.format("delta").load(cfg.table_path("posts"))
    referenced = posts.where(F.col("media_file").isNotNull()).select("media_file").distinct()
    got = spark.read.format("delta").load(cfg.table_path("images"))
    quarantined = (spark.read.format("delta").load(cfg.table_path("quarantine")).where(F.col("source") == "media")
                   .select(F.col("raw").alias("media_file"), "reason"))
    on_disk = {str(p.relative_to(Path(cfg.landing) / str(NIGHT))) for p in (Path(cfg.landing) / str(NIGHT)).rglob("*.png")}
    n_referenced = referenced.count()
    assert got.count() + quarantined.count() == n_referenced > 1000
    assert got.join(quarantined, "media_file").count() == 0
    reasons = dict(quarantined.groupBy("reason").count().collect())
    assert reasons == summary["media"]["quarantined"] and set(reasons) == {media.MISSING, media.UNREADABLE}
    missing = {r[0] for r in quarantined.where(F.col("reason") == media.MISSING).select("media_file").collect()}
    assert missing and not missing & on_disk
    cut = {r[0] for r in quarantined.where(F.col("reason") == media.UNREADABLE).select("media_file").collect()}
    assert cut <= on_disk and all(f.endswith("-cut.png") for f in cut)
    # The posts naming a file that was not read are kept.
    assert posts.where(F.col("media_file").isin(sorted(missing | cut))).count() >= len(missing | cut)
    row = got.first()
    assert len(row["pixels"]) == media.IMAGE_SIZE ** 2 * 3 and (row["width"], row["height"]) == (images.SIZE, images.SIZE)
    # One picture posted by many users is one row.
    assert got.groupBy("content_hash").count().where("count > 1").count() == 0


def test_regions_cover_every_country_and_stated_places_label_their_region(spark):
    regions = project_regions()
    assert set(regions.values()) <= set(REGIONS) and None not in regions.values()
    profiles = spark.createDataFrame(
        [(1, "📍 Lagos", None), (2, "based in Paris", None), (3, "love cats", None), (4, "📍 São Paulo", None)],
        "user_id long, biography string, business_address_json string")
    got = {r["user_id"]: r["label"] for r in location_outcomes(profiles, REGIONS, region_class(REGIONS)).collect()
           if r["status"] == "labelled"}
    assert got == {1: "AF", 2: "EU", 4: "SA"}


def test_a_users_group_is_their_newest_pictures_padded_with_a_mask(spark):
    from jobs.image_groups import GROUP_SIZE, group_arrays, user_image_groups

    side = media.IMAGE_SIZE
    pixel = {f"m{k}": bytes([k]) * (side * side * 3) for k in range(20)}
    t0 = dt.datetime(2026, 11, 1)
    posts = [(1, 100 + k, t0 + dt.timedelta(days=k), f"m{k}") for k in range(13)]  # 13 pictures: the 11 newest kept
    posts += [(2, 200, t0, "m0"), (2, 201, t0 + dt.timedelta(days=1), "gone"), (3, 300, t0, None)]
    posts_df = spark.createDataFrame(posts, "user_id long, post_id long, taken_at timestamp, media_file string")
    images_df = spark.createDataFrame(list(pixel.items()), "media_file string, pixels binary")
    groups = {r["user_id"]: r for r in user_image_groups(posts_df, images_df).collect()}
    assert set(groups) == {1, 2}  # no picture, no group
    assert groups[1]["n_images"] == GROUP_SIZE and [p[0] for p in groups[1]["pixels"]] == list(range(12, 1, -1))
    assert groups[2]["n_images"] == 1  # a post whose file was not decoded adds nothing
    volumes, mask = group_arrays([groups[1]["pixels"], groups[2]["pixels"]])
    assert volumes.shape == (2, GROUP_SIZE, side, side, 3) and mask.tolist()[1] == [1.0] + [0.0] * (GROUP_SIZE - 1)
    assert volumes[0, 0].min() == 12 and volumes[1, 1:].max() == 0


def test_the_image_model_trains_on_the_world_and_is_judged_against_its_truth(spark, world, tmp_path, monkeypatch):
    import os

    import mlflow

    from jobs import image_model, image_score, labels
    from jobs.image_groups import user_image_groups
    from runtime import delta_io
    from schemas.tables import table_spec
    from tests.conftest import NIGHT, warehouse_beside

    cfg, _ = world
    own = warehouse_beside(cfg, tmp_path)
    for table in ("images", "fb_profiles"):
        os.symlink(cfg.table_path(table), own.table_path(table))
    for target in image_model.IMAGE_HEADS:
        labels.run(spark, own, target)
    previous_uri = mlflow.get_tracking_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.setenv("DEMOGRAPHICS_MLFLOW", str(tmp_path / "mlflow"))
    # a text prediction of gender for some users with pictures, for the fusion to read
    groups = user_image_groups(delta_io.read_table(spark, own, "posts"), delta_io.read_table(spark, own, "images"))
    some = [r["user_id"] for r in groups.select("user_id").orderBy("user_id").limit(40).collect()]
    text = spark.createDataFrame([(u, 0, "gender", "female", {"female": 0.8, "male": 0.2}, 0.8, "gender", "3", NIGHT)
                                  for u in some], table_spec("predictions").schema)
    delta_io.replace_where(own, "predictions", text, "true")
    # The text champions' held-out posteriors exist for their test users only (split by the same
    # hash as the image model's): the fusion weight must be fitted on those.
    from jobs.split import is_test_user
    from jobs.targets import target_def

    test_ids = {r["user_id"] for r in groups.select("user_id").where(is_test_user(F.col("user_id"))).collect()}

    def held_out_text(head, users):
        k = len(target_def(head).classes)
        return np.array([np.full(k, 1 / k) if int(u) in test_ids else np.full(k, np.nan) for u in users])

    monkeypatch.setattr(image_model, "held_out_text", held_out_text)
    try:
        summary = image_model.run(spark, own, epochs=1)
        runs = mlflow.search_runs(experiment_names=["demographics-image_groups"])
        scored = image_score.run(spark, own)
        image_score.run(spark, own)  # a rerun replaces the night's rows
    finally:  # mlflow's tracking URI is process-wide: the worker's next tests use their own store
        mlflow.set_tracking_uri(previous_uri)
    rows = delta_io.read_table(spark, own, "image_predictions").toPandas()
    assert scored["run_id"] == summary["run_id"] and "champion" in summary["gate"]
    assert len(rows) == summary["users_with_pictures"] * len(image_model.IMAGE_HEADS)
    assert not rows.duplicated(["user_id", "head"]).any()
    gender = rows[rows["head"] == "gender"].set_index("user_id")
    assert set(gender.index[gender["fused_label"].notna()]) == set(some)  # fused only where text exists
    prior = np.asarray(summary["priors"]["gender"])
    for u in some[:5]:
        image = np.array([[dict(gender.loc[u, "probabilities"])[c] for c in ("female", "male")]])
        expected = image_model.fused(np.array([[0.8, 0.2]]), image, prior, summary["image_weight"]["gender"])[0]
        got = dict(gender.loc[u, "fused_probabilities"])
        assert abs(got["female"] - expected[0]) < 1e-5, (u, got, expected)
    assert set(rows["n_images"]) <= set(range(1, 12)) and (rows["image_run_id"] == summary["run_id"]).all()
    assert summary["fitting_users"] > 200 and all(n > 0 for n in summary["labelled_per_head"].values())
    assert set(summary["test"]) == set(image_model.IMAGE_HEADS)
    for head in image_model.IMAGE_HEADS:  # every labelled test user, none fitted on
        fitted_on = summary["fusion_fitted_on"][head]
        assert fitted_on.startswith(f"{summary['test'][head]['model']['users']} labelled users"), (head, fitted_on)
    truth = summary["truth"]
    assert set(truth) == set(image_model.IMAGE_HEADS)
    # Judged on users it was not fitted on: far more than it was fitted on (most users state nothing).
    assert all(truth[h]["image"]["users"] > summary["fitting_users"] for h in image_model.IMAGE_HEADS)
    assert all(0 <= truth[h]["image"]["macro_f1"] <= 1 for h in image_model.IMAGE_HEADS)
    assert len(runs) == 1 and runs["metrics.region_test_macro_f1"].notna().all()
