"""A user's group of images: the pictures of their newest posts, as one volume p x h x w x 3.

MEX-A3T 2019 (reference 004) reads a user's 11 images at once with a 3D CNN, so that one picture
(a repost many users share) does not decide. The paper drops users with fewer than 11; here a
user with n < p images gets the first n slots filled, the rest zero, and a mask saying which are
real, so every user with at least one picture is scored.
"""
from __future__ import annotations

import numpy as np
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.media import IMAGE_SIZE

GROUP_SIZE = 11  # images per user, as in the paper


def user_image_groups(posts: DataFrame, images: DataFrame, group_size: int = GROUP_SIZE) -> DataFrame:
    """(user_id, n_images, pixels: array of RGB bytes, newest first) of every user with a decoded
    picture; at most group_size, the newest posts' (ties by post_id, so reruns agree)."""
    with_pixels = (posts.where(F.col("media_file").isNotNull()).select("user_id", "post_id", "taken_at", "media_file")
                   .join(images.select("media_file", "pixels"), "media_file"))
    newest = Window.partitionBy("user_id").orderBy(F.col("taken_at").desc_nulls_last(), F.col("post_id").desc())
    kept = with_pixels.withColumn("_rank", F.row_number().over(newest)).where(F.col("_rank") <= group_size)
    return (kept.groupBy("user_id")
            .agg(F.sort_array(F.collect_list(F.struct("_rank", "pixels"))).alias("_ranked"))
            .select("user_id", F.size("_ranked").alias("n_images"), F.col("_ranked.pixels").alias("pixels")))


def group_arrays(pixel_lists, group_size: int = GROUP_SIZE, size: int = IMAGE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(volumes uint8 [users, group_size, size, size, 3], mask float32 [users, group_size]) from
    each user's list of RGB byte strings; missing slots are zeros with mask 0."""
    volumes = np.zeros((len(pixel_lists), group_size, size, size, 3), np.uint8)
    mask = np.zeros((len(pixel_lists), group_size), np.float32)
    for i, pictures in enumerate(pixel_lists):
        for j, raw in enumerate(list(pictures)[:group_size]):
            volumes[i, j] = np.frombuffer(raw, np.uint8).reshape(size, size, 3)
            mask[i, j] = 1.0
    return volumes, mask
