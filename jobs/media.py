"""Post images: the media files a night's posts reference, decoded into `images` (a step of ingest).

A crawler's export lands one file per downloaded picture under the night's `media/` folder and
names it in the post record (`media_file`, relative to the night's folder), as world.images does.
Files rather than bytes inside the JSON lines: a record stays small and readable, a picture
reposted by many users is one file (its name is a hash of its content), and a file that failed to
download or arrived cut short is one quarantine row, not a post lost with it.

Every referenced file not yet in `images` is read (Spark's binaryFile source), decoded with
Pillow, converted to RGB and resized to IMAGE_SIZE x IMAGE_SIZE. A reference whose file is not
there is quarantined as `media_missing`; a file Pillow cannot decode as `media_unreadable`. The
post itself is kept either way. Rerunning a night reads only what `images` lacks.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType, IntegerType, StringType, StructField, StructType

from runtime import delta_io
from runtime.config import PipelineConfig

IMAGE_SIZE = 32
MEDIA_FOLDER = "media"
MISSING, UNREADABLE = "media_missing", "media_unreadable"

DECODED = StructType([
    StructField("media_file", StringType(), False),
    StructField("content_hash", StringType(), True),
    StructField("width", IntegerType(), True),
    StructField("height", IntegerType(), True),
    StructField("pixels", BinaryType(), True),
    StructField("source_file", StringType(), True),
    StructField("reason", StringType(), True),
])


def decode(content: bytes, size: int = IMAGE_SIZE) -> tuple[int, int, bytes]:
    """(width, height, RGB bytes of the picture resized to size x size); raises on a file that is
    not a whole picture."""
    from PIL import Image

    with Image.open(io.BytesIO(content)) as img:
        img.load()  # a truncated file fails here, not at open
        width, height = img.size
        rgb = img.convert("RGB")
        if rgb.size != (size, size):
            rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)
        return width, height, rgb.tobytes()


def _decode_batches(batches):
    import pandas as pd

    for batch in batches:
        rows = []
        for media_file, path, content in zip(batch["media_file"], batch["path"], batch["content"]):
            if content is None:
                rows.append((media_file, None, None, None, None, None, MISSING))
                continue
            try:
                width, height, pixels = decode(content)
            except Exception:  # Pillow raises several types for a damaged file; each means the same here
                rows.append((media_file, None, None, None, None, path, UNREADABLE))
                continue
            rows.append((media_file, hashlib.sha256(content).hexdigest(), width, height, pixels, path, None))
        yield pd.DataFrame(rows, columns=DECODED.fieldNames())


def media_files(spark: SparkSession, media_folder: str) -> DataFrame:
    """The night's media files: (media_file relative to the night's folder, path, content)."""
    files = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(media_folder)
    return files.select(F.regexp_extract("path", rf"/({MEDIA_FOLDER}/.+)$", 1).alias("media_file"), "path", "content")


def decoded_media(referenced: DataFrame, files: DataFrame) -> DataFrame:
    """Every referenced media_file decoded, or with the reason it could not be (DECODED's columns)."""
    wanted = referenced.select("media_file").distinct()
    return (wanted.join(files, "media_file", "left")
            .select("media_file", "path", "content")
            .mapInPandas(_decode_batches, DECODED))


def quarantine_rows(decoded: DataFrame, run_date) -> DataFrame:
    return (decoded.where(F.col("reason").isNotNull())
            .select(F.lit("media").alias("source"), "source_file", F.col("media_file").alias("raw"), "reason",
                    F.sha2("media_file", 256).alias("record_hash"), F.lit(run_date).cast("date").alias("run_date")))


def image_rows(decoded: DataFrame, run_date) -> DataFrame:
    return (decoded.where(F.col("reason").isNull())
            .select("media_file", "content_hash", "width", "height", "pixels",
                    F.lit(run_date).cast("date").alias("ingest_run")))


def ingest_night(spark: SparkSession, config: PipelineConfig, referenced: DataFrame) -> tuple[dict, DataFrame]:
    """Decode the night's referenced media files `images` lacks; returns (summary, quarantine rows,
    cached: the caller writes and unpersists them)."""
    referenced = referenced.where(F.col("media_file").isNotNull())
    if delta_io.table_exists(spark, config, "images"):
        known = delta_io.read_table(spark, config, "images").select("media_file")
        referenced = referenced.join(known, "media_file", "left_anti")
    folder = config.landing_path(MEDIA_FOLDER)
    if Path(folder).exists():
        files = media_files(spark, folder)
    else:  # no media this night: every reference is missing
        files = spark.createDataFrame([], "media_file string, path string, content binary")
    decoded = decoded_media(referenced, files).cache()
    counts = delta_io.insert_missing(spark, config, "images", image_rows(decoded, config.run_date), unique=True)
    rejected = quarantine_rows(decoded, config.run_date).cache()
    bad = dict(sorted((r["reason"], r["count"]) for r in rejected.groupBy("reason").count().collect()))
    decoded.unpersist()
    return {"decoded": counts["inserted"], "quarantined": bad}, rejected
