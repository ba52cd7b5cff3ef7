"""Profile metadata as numbers: the authenticity target's features, as Spark column functions.

The seed's factors (reference 002) -- username type and words, full-name and bio lengths,
follower and following counts and their ratio, media and usertag counts, private, verified,
anonymous picture, reel auto-archive -- and what the anchors found useful (InstaFake's digits in
the username and its length; BotometerLite's following/posts ratio, name matching the
username; an external URL). Every column is a double; a field the source lacks gives null (the
feature is missing, not zero), so a model that handles missing values sees the difference.

`base_features` reads a profile's own fields; `derived_features` computes ratios from base
features only, so a dataset that ships counts but no raw profile (InstaFake) gets the same
ratios from the same code.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from udfs.feature_sets import PROFILE_BASE_FEATURES, PROFILE_DERIVED_FEATURES

# Username shapes, as integers (the seed's username type): checked in this order on the
# lower-cased username.
USERNAME_TYPES = {
    "name_like": (0, r"^[a-z]+([._]+[a-z]+)*[._]*$"),          # anna.k, john_smith
    "name_then_digits": (1, r"^[a-z]+([._]+[a-z]+)*[._]*[0-9]{1,4}$"),  # anna_k92
    "digits_only": (2, r"^[0-9._]+$"),
    "long_digit_run": (3, r"[0-9]{5,}"),                        # user84756201
    "letters_and_digits_mixed": (4, r"."),                      # a8x_k3, anything else
}

BASE_FEATURES, DERIVED_FEATURES = PROFILE_BASE_FEATURES, PROFILE_DERIVED_FEATURES
FEATURES = BASE_FEATURES + DERIVED_FEATURES


def _double(column: Column) -> Column:
    return column.cast("double")


def username_type(username: Column) -> Column:
    lower = F.lower(username)
    shape = None
    for _, (code, pattern) in USERNAME_TYPES.items():
        shape = (F.when(lower.rlike(pattern), F.lit(code)) if shape is None
                 else shape.when(lower.rlike(pattern), F.lit(code)))
    return _double(F.when(username.isNull(), None).otherwise(shape))


def word_count(text: Column, separators: str) -> Column:
    """Words of a text split on `separators` (a regex class), empty pieces not counted."""
    return _double(F.size(F.filter(F.split(F.trim(text), separators), lambda w: w != "")))


def digit_count(text: Column) -> Column:
    return _double(F.length(F.regexp_replace(text, r"[^0-9]", "")))


def vowel_share(text: Column) -> Column:
    """Vowels among the letters: random letter strings have few."""
    letters = F.regexp_replace(F.lower(text), r"[^a-z]", "")
    vowels = F.length(F.regexp_replace(letters, r"[^aeiouy]", ""))
    return F.when(F.length(letters) > 0, vowels / F.length(letters))


def non_ascii_count(text: Column) -> Column:
    """Characters outside ASCII: accents, other scripts, emoji, fancy Unicode fonts."""
    return _double(F.length(F.regexp_replace(text, r"[\x00-\x7F]", "")))


def name_matches_username(full_name: Column, username: Column) -> Column:
    """1 when a word of the full name (3+ letters) is in the username, 0 when none is; null without a name."""
    words = F.filter(F.split(F.lower(full_name), r"[^\p{L}]+"), lambda w: F.length(w) >= 3)
    found = F.exists(words, lambda w: F.instr(F.lower(username), w) > 0)
    return F.when(full_name.isNull() | (F.size(words) == 0), None).otherwise(_double(found))


def flag(column: Column) -> Column:
    return _double(column.cast("boolean"))


def reel_auto_archive(column: Column) -> Column:
    """on 1, off 0, unset or absent null."""
    lower = F.lower(column)
    return F.when(lower == "on", 1.0).when(lower == "off", 0.0)


def base_features(profiles: DataFrame) -> dict[str, Column]:
    """The base feature columns of a frame with the `profiles` table's columns."""
    username, name, bio = F.col("username"), F.col("full_name"), F.col("biography")
    return {
        "username_type": username_type(username),
        "username_words": word_count(username, r"[._]+"),
        "username_length": _double(F.length(username)),
        "username_digits": digit_count(username),
        "username_vowel_share": vowel_share(username),
        "full_name_length": _double(F.length(name)),
        "full_name_words": word_count(name, r"\s+"),
        "full_name_non_ascii": non_ascii_count(name),
        "name_matches_username": name_matches_username(name, username),
        "bio_length": _double(F.length(bio)),
        "bio_words": word_count(bio, r"\s+"),
        "follower_count": _double(F.col("follower_count")),
        "following_count": _double(F.col("following_count")),
        "media_count": _double(F.col("media_count")),
        "usertags_count": _double(F.col("usertags_count")),
        "is_private": flag(F.col("is_private")),
        "is_verified": flag(F.col("is_verified")),
        "anonymous_picture": flag(F.col("has_anonymous_profile_picture")),
        "reel_auto_archive": reel_auto_archive(F.col("reel_auto_archive")),
        "has_external_url": F.when(F.col("external_url").isNull(), None).otherwise(
            _double(F.length(F.trim(F.col("external_url"))) > 0)),
        "is_business": flag(F.col("is_business_account")),
    }


def derived_features() -> dict[str, Column]:
    """Ratios of base feature columns (already present in the frame)."""
    followers, following, media = (F.log1p(F.col(c)) for c in ("follower_count", "following_count", "media_count"))
    return {"log_followers": followers, "log_following": following, "log_media": media,
            "log_followers_per_following": followers - following, "log_following_per_media": following - media}


def with_features(profiles: DataFrame, keep: tuple[str, ...] = ("user_id", "shard")) -> DataFrame:
    """`keep` columns of profiles plus every feature (FEATURES), as doubles."""
    columns = base_features(profiles)
    assert tuple(columns) == BASE_FEATURES
    base = profiles.select(*keep, *[columns[n].alias(n) for n in BASE_FEATURES])
    return with_derived(base)


def with_derived(frame: DataFrame) -> DataFrame:
    """A frame of base features (any of them may be null) with the derived ones added."""
    return frame.withColumns(derived_features())
