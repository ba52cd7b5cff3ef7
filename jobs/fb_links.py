"""Facebook profile links in bios and external URLs, normalised to one canonical key.

Key forms: 'id:<digits>' (profile.php?id=, people/<name>/<id>) and 'u:<vanity>' (lower case).
Everything that is not a personal profile (pages, groups, events, sharer, l.facebook.com
redirects, hashtags, reserved paths, other subdomains) gives None.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

# Hosts people use for a profile; other subdomains (l., lm., business., developers.) are not profiles.
PROFILE_HOSTS = {"facebook.com", "www.facebook.com", "m.facebook.com", "mobile.facebook.com", "web.facebook.com",
                 "touch.facebook.com", "mbasic.facebook.com", "fb.com", "www.fb.com", "m.fb.com"}
RESERVED = {
    "pages", "pg", "groups", "events", "sharer", "sharer.php", "share", "share.php", "hashtag", "watch", "login",
    "login.php", "help", "photo.php", "photos", "story.php", "permalink.php", "home.php", "marketplace", "gaming",
    "policies", "privacy", "settings", "messages", "notifications", "friends", "search", "ads", "business", "l.php",
    "dialog", "plugins", "media", "reel", "reels", "stories", "live", "fundraisers", "jobs", "places", "bookmarks",
    "saved", "memories", "profile.php", "people", "public", "pages_reaction_units", "video.php", "videos", "notes",
    "events.php", "recover", "checkpoint", "terms", "about", "legal", "careers", "directory", "find-friends", "lite",
    "messenger", "watchparty", "donate", "campaign", "media_set", "note.php", "signup", "r.php", "reg", "index.php",
}
PROFILE_SUBPAGES = {"about", "photos", "friends", "posts", "videos", "timeline", "info"}
VANITY = re.compile(r"^[a-z0-9.]{5,50}$")  # Facebook usernames: letters, digits, periods; at least 5
# What a link looks like inside free text (a cheap pre-filter runs before this in Spark).
LINK_IN_TEXT = r"(?i)((?:https?://)?(?:[a-z0-9-]+\.)*(?:facebook|fb)\.com(?:/[^\s|,;<>\"'()]*)?)"


def canonical_fb_key(url: str | None) -> str | None:
    """The canonical key of a personal Facebook profile link, or None."""
    if not url:
        return None
    text = url.strip().rstrip(".,;:!)")
    if not re.match(r"(?i)^[a-z][a-z0-9+.-]*://", text):
        text = "https://" + text
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if host not in PROFILE_HOSTS:
        return None
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if not segments:
        return None
    first = segments[0].lower()
    if first == "profile.php":
        ids = parse_qs(parts.query).get("id", [])
        return f"id:{int(ids[0])}" if ids and ids[0].isdigit() else None
    if first == "people" and len(segments) >= 3 and segments[2].isdigit():
        return f"id:{int(segments[2])}"
    if first in RESERVED or first.endswith(".php"):
        return None
    if len(segments) > 1 and segments[1].lower() not in PROFILE_SUBPAGES:
        return None
    if first.isdigit():
        return f"id:{int(first)}"
    return f"u:{first}" if VANITY.match(first) else None


def _canonical_keys(urls: pd.Series) -> pd.Series:
    return urls.map(canonical_fb_key)


def canonical_key_column(url: Column) -> Column:
    """canonical_fb_key as a vectorised (pandas) UDF; built lazily, a session must exist."""
    return F.pandas_udf(_canonical_keys, "string")(url)


def extract_links(profiles: DataFrame) -> DataFrame:
    """(user_id, url, found_in, fb_key) for every Facebook link candidate in bio or external_url."""
    texts = F.array(F.struct(F.lit("biography").alias("found_in"), F.col("biography").alias("text")),
                    F.struct(F.lit("external_url").alias("found_in"), F.col("external_url").alias("text")))
    candidates = (profiles.select("user_id", F.explode(texts).alias("t"))
                  .select("user_id", "t.found_in", "t.text")
                  .where(F.lower("text").rlike(r"(facebook|fb)\.com"))  # cheap filter: few bios mention Facebook
                  .select("user_id", "found_in", F.explode(F.regexp_extract_all("text", F.lit(LINK_IN_TEXT), 1)).alias("url")))
    return candidates.withColumn("fb_key", canonical_key_column(F.col("url")))
