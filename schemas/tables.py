"""Delta table definitions.

A column is declared here and nowhere else; jobs select `spec.columns` when they write so a
table never drifts from its spec.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    DateType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)


def _f(name: str, dtype, nullable: bool = True, doc: str = "") -> StructField:
    return StructField(name, dtype, nullable, metadata={"comment": doc} if doc else {})


@dataclass(frozen=True)
class TableSpec:
    name: str
    schema: StructType
    key: tuple[str, ...]
    partition_by: tuple[str, ...] = ()
    description: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    # Columns Delta keeps min/max statistics for (file skipping): the key and what analysts filter
    # on. Statistics on every column (Delta's default: the first 32) cost more to write than the
    # text columns' min/max could ever save.
    stats_columns: tuple[str, ...] = ()
    # Nullable columns only some writers fill (a manual label's labeller): the others get null.
    optional_columns: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.schema.fields]

    @property
    def delta_properties(self) -> dict[str, str]:
        stats = [c for c in (*self.key, *self.stats_columns) if c not in self.partition_by]
        return {"delta.dataSkippingStatsColumns": ",".join(dict.fromkeys(stats)), **self.properties}


PROFILES = TableSpec(
    name="profiles",
    description="Latest snapshot of every profile; the newest fetched_at wins.",
    key=("user_id",),
    partition_by=("shard",),
    stats_columns=("fetched_at", "ingest_run"),
    schema=StructType([
        _f("user_id", LongType(), False, "Instagram numeric id"),
        _f("shard", IntegerType(), False, "pmod(xxhash64(user_id), shards)"),
        _f("username", StringType(), False),
        _f("full_name", StringType()),
        _f("biography", StringType()),
        _f("external_url", StringType()),
        _f("follower_count", LongType()),
        _f("following_count", LongType()),
        _f("media_count", LongType()),
        _f("usertags_count", LongType()),
        _f("is_private", BooleanType()),
        _f("is_verified", BooleanType()),
        _f("has_anonymous_profile_picture", BooleanType()),
        _f("reel_auto_archive", StringType(), doc="on / off / unset"),
        _f("is_business_account", BooleanType(), doc="null when the export does not say"),
        _f("business_category_name", StringType()),
        _f("business_address_json", StringType(), doc="the raw JSON text as exported (city_name, street_address, "
                                                      "zip_code, latitude, longitude); null when it was not JSON"),
        _f("fetched_at", TimestampType(), False),
        _f("record_hash", LongType(), False, "xxhash64 of the snapshot's content, breaks fetched_at ties"),
        _f("source_file", StringType()),
        _f("ingest_run", DateType(), False),
    ]),
)

POSTS = TableSpec(
    name="posts",
    description="Recent posts with captions; newest fetch of a post wins.",
    key=("post_id",),
    stats_columns=("user_id", "taken_at", "ingest_run"),
    schema=StructType([
        _f("post_id", LongType(), False),
        _f("user_id", LongType(), False),
        _f("taken_at", TimestampType()),
        _f("caption", StringType(), doc="cut to 2,200 characters, Instagram's limit"),
        _f("caption_truncated", BooleanType(), False),
        _f("like_count", LongType()),
        _f("comment_count", LongType()),
        _f("media_file", StringType(), doc="the post's downloaded image, relative to the night's landing folder "
                                           "(null: not fetched); decoded in `images`"),
        _f("fetched_at", TimestampType(), False),
        _f("record_hash", LongType(), False, "xxhash64 of the content"),
        _f("source_file", StringType()),
        _f("ingest_run", DateType(), False),
    ]),
)

IMAGES = TableSpec(
    name="images",
    description="Post images decoded from the landing's media files (jobs.media), resized to one size; "
                "posts.media_file names each. A file that cannot be read is quarantined (source 'media').",
    key=("media_file",),
    stats_columns=("media_file", "content_hash"),
    schema=StructType([
        _f("media_file", StringType(), False, "path relative to the night's landing folder, as posts name it"),
        _f("content_hash", StringType(), False, "sha256 of the file: one picture posted by many users shares it"),
        _f("width", IntegerType(), False, "of the file, before resizing"),
        _f("height", IntegerType(), False),
        _f("pixels", BinaryType(), False, "RGB bytes, row-major, IMAGE_SIZE x IMAGE_SIZE x 3 (jobs.media)"),
        _f("ingest_run", DateType(), False),
    ]),
)

FB_PROFILES = TableSpec(
    name="fb_profiles",
    description="Facebook profiles with their public gender.",
    key=("fb_id",),
    schema=StructType([
        _f("fb_id", LongType(), False, "numeric Facebook id (profile.php?id=)"),
        _f("fb_username", StringType(), doc="vanity name, lower case; null when the profile has none"),
        _f("full_name", StringType()),
        _f("gender", StringType(), doc="male / female / custom / null when not public"),
        _f("fetched_at", TimestampType(), False),
        _f("record_hash", LongType(), False, "xxhash64 of the content"),
        _f("source_file", StringType()),
        _f("ingest_run", DateType(), False),
    ]),
)

FOLLOWS = TableSpec(
    name="follows",
    description="Follow edges.",
    key=("follower_id", "followee_id"),
    stats_columns=("ingest_run",),
    schema=StructType([
        _f("follower_id", LongType(), False),
        _f("followee_id", LongType(), False),
        _f("observed_at", TimestampType(), False),
        _f("source_file", StringType()),
        _f("ingest_run", DateType(), False),
    ]),
)

QUARANTINE = TableSpec(
    name="quarantine",
    description="Every rejected input record with the reason; raw text kept (cut to 64 KiB).",
    key=("source", "record_hash", "reason"),
    partition_by=("source",),
    schema=StructType([
        _f("source", StringType(), False, "profiles / posts / media / fb_profiles / follows / labels"),
        _f("source_file", StringType()),
        _f("raw", StringType(), doc="the line as delivered; for a JSON record that parsed but failed a value "
                                    "check (missing or negative field), the record re-serialised from its declared fields"),
        _f("reason", StringType(), False),
        _f("record_hash", StringType(), False, "sha2 of the raw record: makes reruns idempotent"),
        _f("run_date", DateType(), False),
    ]),
)

USER_TEXTS = TableSpec(
    name="user_texts",
    description="Each profile's texts as the tokeniser reads them: bio, name and its posts' captions. "
                "Rebuilt by ingest whenever profiles or posts change; read by token_mi, train and score.",
    key=("user_id",),
    partition_by=("shard",),
    schema=StructType([
        _f("user_id", LongType(), False),
        _f("shard", IntegerType(), False, "the profile's shard"),
        _f("biography", StringType()),
        _f("full_name", StringType()),
        _f("captions", ArrayType(StringType()), False, "captions of the user's posts in the posts table (empty if none)"),
        _f("built_run", DateType(), False, "the night the row was built"),
    ]),
)

FB_LINKS = TableSpec(
    name="fb_links",
    description="Instagram user -> canonical Facebook profile key, with the URL it came from.",
    key=("user_id",),
    schema=StructType([
        _f("user_id", LongType(), False),
        _f("fb_key", StringType(), False, "'id:<number>' or 'u:<vanity name>'"),
        _f("url", StringType(), False, "the link as written"),
        _f("found_in", StringType(), False, "biography / external_url"),
        _f("n_distinct_keys", IntegerType(), False, "distinct profile keys found for this user"),
        _f("run_date", DateType(), False),
    ]),
)

LABELS = TableSpec(
    name="labels",
    description="Known labels of users, one row per (user, target).",
    key=("user_id", "target"),
    schema=StructType([
        _f("user_id", LongType(), False),
        _f("target", StringType(), False),
        _f("label", StringType(), False),
        _f("source", StringType(), False, "facebook_link / stated_location / manual / import"),
        _f("evidence", StringType(), doc="e.g. the Facebook key the label came from"),
        _f("run_date", DateType(), False),
        _f("labeller", StringType(), doc="manual labels: who labelled (jobs.hand_labels)"),
        _f("labelled_at", TimestampType(), doc="manual labels: when the key was pressed"),
    ]),
    optional_columns=("labeller", "labelled_at"),
)

TOKEN_MI = TableSpec(
    name="token_mi",
    description="Per target, family and token: class user counts, mutual information (nats), P(class|token).",
    key=("target", "family", "token", "run_date"),
    partition_by=("target",),
    schema=StructType([
        _f("target", StringType(), False),
        _f("family", StringType(), False),
        _f("token", StringType(), False),
        _f("n_users", LongType(), False, "labeled users having the token"),
        _f("class_counts", MapType(StringType(), LongType()), False),
        _f("p_class_given_token", MapType(StringType(), DoubleType()), False),
        _f("mi_nats", DoubleType(), False, "mutual information, natural log"),
        _f("rank", IntegerType(), False, "1 = highest MI within (target, family)"),
        _f("run_date", DateType(), False),
    ]),
)

VOCAB = TableSpec(
    name="vocab",
    description="Selected tokens defining a model's input vector.",
    key=("target", "version", "index"),
    partition_by=("target",),
    schema=StructType([
        _f("target", StringType(), False),
        _f("version", StringType(), False, "<run_date>-<family>-<size>"),
        _f("index", IntegerType(), False),
        _f("family", StringType(), False),
        _f("token", StringType(), False),
        _f("mi_nats", DoubleType(), False),
        _f("run_date", DateType(), False),
    ]),
)

_SHARE_DOC = "share of the counted members in this class by {m}: {what}"
AUDIENCE_DEMOGRAPHICS = TableSpec(
    name="audience_demographics",
    description="Per account (its followers) or hashtag (its recent contributors), target, class and night: "
                "counts, classify-and-count and error-corrected shares with 95% intervals, reliability tier "
                "(jobs.audience).",
    key=("run_date", "target", "group_kind", "group_id", "class"),
    partition_by=("run_date", "target"),
    stats_columns=("group_kind", "group_id", "tier"),
    schema=StructType([
        _f("group_kind", StringType(), False, "account / hashtag"),
        _f("group_id", StringType(), False, "the followee's user id, or the hashtag without #"),
        _f("target", StringType(), False),
        _f("class", StringType(), False),
        _f("members", LongType(), False, "followers, or users who posted the hashtag in the window"),
        _f("scored", LongType(), False, "members with a prediction for the target tonight"),
        _f("predicted_authentic", LongType(), False, "members the authenticity model calls authentic"),
        _f("uncertain", LongType(), False, "counted members the target's model left uncertain (still counted "
                                           "by their posteriors)"),
        _f("counted", LongType(), False, "members the shares are of: scored and predicted authentic (authenticity: "
                                         "every scored member); with method pacc_fakes_first the shares are estimated "
                                         "from every member both models scored, fakes the authenticity model let "
                                         "through corrected away (jobs.quantification.fakes_first)"),
        *[_f(f"{m}_{x}", DoubleType(), doc=(_SHARE_DOC.format(m=m.upper(), what=w) if x == "share"
                                             else f"{'lower' if x == 'low' else 'upper'} end of its 95% interval"))
          for m, w in (("cc", "most probable class counted"), ("acc", "adjusted by the confusion matrix"),
                       ("pacc", "adjusted by the mean-posterior matrix")) for x in ("share", "low", "high")],
        _f("share", DoubleType(), doc="the published share (method column); null when suppressed"),
        _f("low", DoubleType(), doc="its 95% interval, lower end"),
        _f("high", DoubleType(), doc="its 95% interval, upper end"),
        _f("method", StringType(), False, "the method of share/low/high: pacc, or pacc_fakes_first (acc_* and "
                                          "cc_* then fakes first alike)"),
        _f("model_version", StringType(), doc="the counted model's version; 'several' if the night mixed versions"),
        _f("model_name", StringType(), doc="the registered model whose predictions were counted: the target's own, or "
                                           "its definition's audience_from (jobs.targets)"),
        _f("tier", StringType(), False, "high / medium / suppressed"),
        _f("reason", StringType(), doc="why suppressed"),
        _f("run_date", DateType(), False),
    ]),
)

PREDICTIONS = TableSpec(
    name="predictions",
    description="Model outputs per user, target and run.",
    key=("user_id", "target", "run_date"),
    partition_by=("run_date", "target"),
    stats_columns=("shard", "label"),
    schema=StructType([
        _f("user_id", LongType(), False),
        _f("shard", IntegerType(), False),
        _f("target", StringType(), False),
        _f("label", StringType(), False, "a class, or 'uncertain'"),
        _f("probabilities", MapType(StringType(), FloatType()), False),
        _f("confidence", FloatType(), False),
        _f("model_name", StringType(), False),
        _f("model_version", StringType(), False),
        _f("run_date", DateType(), False),
    ]),
)

IMAGE_PREDICTIONS = TableSpec(
    name="image_predictions",
    description="The image model's outputs per user with pictures, head and run, and their late fusion with "
                "the night's text prediction of the same target (jobs.image_score).",
    key=("user_id", "head", "run_date"),
    partition_by=("run_date", "head"),
    stats_columns=("label",),
    schema=StructType([
        _f("user_id", LongType(), False),
        _f("head", StringType(), False, "the target the head predicts: gender / region / occupation"),
        _f("n_images", IntegerType(), False, "pictures in the user's group (at most 11; the rest padding)"),
        _f("label", StringType(), False, "the image model's most probable class"),
        _f("probabilities", MapType(StringType(), FloatType()), False, "the image model's posterior"),
        _f("confidence", FloatType(), False),
        _f("fused_label", StringType(), doc="most probable class of the fusion; null without a text prediction"),
        _f("fused_probabilities", MapType(StringType(), FloatType()),
           doc="p_text x (p_image / prior) ** image_weight, normalised (jobs.image_model.fused)"),
        _f("image_weight", FloatType(), False, "the head's calibration weight of the image's evidence"),
        _f("text_model_version", StringType(), doc="the text model version fused with; null without one"),
        _f("image_run_id", StringType(), False, "the MLflow run of the image model scored"),
        _f("run_date", DateType(), False),
    ]),
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (PROFILES, POSTS, IMAGES, USER_TEXTS, FB_PROFILES, FOLLOWS, QUARANTINE, FB_LINKS, LABELS, TOKEN_MI, VOCAB, PREDICTIONS,
              AUDIENCE_DEMOGRAPHICS, IMAGE_PREDICTIONS)
}


def table_spec(name: str) -> TableSpec:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known: {sorted(TABLES)}") from None
