"""Shapes of the landing files, as sources deliver them.

Each source is a list of (field, type, required). Ingest validates against these; the generator
writes them. Types are Spark SQL type names used with try_variant_get.
"""
from __future__ import annotations

PROFILE_FIELDS: list[tuple[str, str, bool]] = [
    ("id", "bigint", True),
    ("username", "string", True),
    ("full_name", "string", False),
    ("biography", "string", False),
    ("external_url", "string", False),
    ("follower_count", "bigint", False),
    ("following_count", "bigint", False),
    ("media_count", "bigint", False),
    ("usertags_count", "bigint", False),
    ("is_private", "boolean", False),
    ("is_verified", "boolean", False),
    ("has_anonymous_profile_picture", "boolean", False),
    ("reel_auto_archive", "string", False),
    ("is_business_account", "boolean", False),
    ("business_category_name", "string", False),
    ("business_address_json", "string", False),
    ("fetched_at", "timestamp", True),
]
# String fields whose text is itself JSON (Instagram exports the business address so). Bad JSON
# in one quarantines that field (reason malformed_json:<field>); the profile is kept without it.
JSON_TEXT_FIELDS = ("business_address_json",)

POST_FIELDS: list[tuple[str, str, bool]] = [
    ("id", "bigint", True),
    ("user_id", "bigint", True),
    ("taken_at", "timestamp", False),
    ("caption", "string", False),
    ("like_count", "bigint", False),
    ("comment_count", "bigint", False),
    ("media_file", "string", False),
    ("fetched_at", "timestamp", True),
]

# Labels a user brings (source=labels, JSON lines): who (user_id or username), what (a target
# and one of its classes) and why (evidence). They land in `labels` as source 'import'.
LABEL_FIELDS: list[tuple[str, str, bool]] = [
    ("user_id", "bigint", False),
    ("username", "string", False),
    ("target", "string", True),
    ("label", "string", True),
    ("evidence", "string", False),
]

# CSV sources: column names in header order.
FB_PROFILE_COLUMNS = ["fb_id", "fb_username", "full_name", "gender", "fetched_at"]
FOLLOW_COLUMNS = ["follower_id", "followee_id", "observed_at"]

COUNT_FIELDS = ("follower_count", "following_count", "media_count", "usertags_count", "like_count", "comment_count")
CAPTION_LIMIT = 2200  # Instagram's own caption limit
RAW_KEEP_CHARS = 65536  # quarantine keeps at most this much of a raw record
