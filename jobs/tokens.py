"""Feature tokens of users, all inside Spark (JVM regexes, no Python per row).

Families: from recent captions `hashtag`, `word`, `char3` (character 3-grams of words), `emoji`;
from the profile `bio_word` (bio words and hashtags) and `name_word`. Text is lower-cased
(Unicode-aware), emoji variation selectors dropped; a user has each (family, token) once.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

# Letters, marks and digits of any script: #café, #東京, #москва are single hashtags; a hashtag
# glued to an emoji (#paris🇫🇷) ends where the emoji starts.
_WORDCHARS = r"\p{L}\p{M}\p{N}_"
HASHTAG = rf"(#[{_WORDCHARS}]+)"
WORD = rf"(?<![#@{_WORDCHARS}])([{_WORDCHARS}']{{2,}})"
EMOJI = r"([\x{1F1E6}-\x{1F1FF}]{2}|[\x{1F300}-\x{1FAFF}\x{2600}-\x{27BF}\x{2B50}\x{2B55}\x{1F004}\x{1F0CF}])"
CAPTION_FAMILIES = ("hashtag", "word", "char3", "emoji")
PROFILE_FAMILIES = ("bio_word", "name_word")


def normalise(text: Column) -> Column:
    return F.regexp_replace(F.lower(F.coalesce(text, F.lit(""))), "\ufe0f", "")


def _extract(text: Column, pattern: str) -> Column:
    return F.regexp_extract_all(text, F.lit(pattern), 1)


def char_ngrams(words: Column, n: int = 3) -> Column:
    """Character n-grams of each word (words shorter than n give themselves)."""
    grams = F.transform(words, lambda w: F.when(F.length(w) <= n, F.array(w)).otherwise(
        F.transform(F.sequence(F.lit(1), F.length(w) - n + 1), lambda i: F.substring(w, i, n))))
    return F.flatten(grams)


def _tagged(family: str, tokens: Column) -> Column:
    return F.transform(tokens, lambda t: F.struct(F.lit(family).alias("family"), t.alias("token")))


def caption_token_arrays(posts: DataFrame, families=CAPTION_FAMILIES) -> DataFrame:
    """(user_id, tokens array<struct<family, token>>) from all of a user's posts, distinct."""
    text = normalise(F.col("caption"))
    words = _extract(text, WORD)
    parts = {"hashtag": _extract(text, HASHTAG), "word": words, "emoji": _extract(text, EMOJI),
             "char3": char_ngrams(words)}
    per_post = posts.select("user_id", F.concat(*[_tagged(f, parts[f]) for f in families]).alias("t"))
    return per_post.groupBy("user_id").agg(F.array_distinct(F.flatten(F.collect_list("t"))).alias("tokens"))


def profile_token_arrays(profiles: DataFrame, families=PROFILE_FAMILIES, keep: tuple[str, ...] = ()) -> DataFrame:
    bio = normalise(F.col("biography"))
    parts = {"bio_word": F.concat(_extract(bio, HASHTAG), _extract(bio, WORD), _extract(bio, EMOJI)),
             "name_word": _extract(normalise(F.col("full_name")), WORD)}
    return profiles.select("user_id", *keep,
                           F.array_distinct(F.concat(*[_tagged(f, parts[f]) for f in families])).alias("tokens"))


def user_token_arrays(profiles: DataFrame, posts: DataFrame, families, keep: tuple[str, ...] = ()) -> DataFrame:
    """(user_id, *keep, tokens) for every profile, captions and profile families together."""
    cap = [f for f in families if f in CAPTION_FAMILIES]
    prof = [f for f in families if f in PROFILE_FAMILIES]
    unknown = set(families) - set(CAPTION_FAMILIES) - set(PROFILE_FAMILIES)
    if unknown:
        raise ValueError(f"unknown token families {sorted(unknown)}")
    empty = F.array().cast("array<struct<family:string,token:string>>")
    if prof:
        base = profile_token_arrays(profiles, prof, keep)
    else:
        base = profiles.select("user_id", *keep, empty.alias("tokens"))
    if cap:
        captions = caption_token_arrays(posts, cap).withColumnRenamed("tokens", "cap")
        base = (base.join(captions, "user_id", "left")
                .select("user_id", *keep, F.concat("tokens", F.coalesce("cap", empty)).alias("tokens")))
    return base


def user_tokens(profiles: DataFrame, posts: DataFrame, families) -> DataFrame:
    """(user_id, family, token): one row per user and token."""
    return (user_token_arrays(profiles, posts, families)
            .select("user_id", F.explode("tokens").alias("t")).select("user_id", "t.family", "t.token"))


FEATURE_SEP = "\t"  # a feature string is "<family>\t<token>" (udfs.model.TOKEN_SEP)


def feature_strings(tokens: Column) -> Column:
    return F.transform(tokens, lambda t: F.concat_ws(FEATURE_SEP, t["family"], t["token"]))


def with_vocab_indices(arrays: DataFrame, vocab: DataFrame) -> DataFrame:
    """Adds `indices`: sorted positions of the user's tokens in the vocab (unknown tokens dropped).

    Tokens meet the vocab (at most tens of thousands of rows) in a broadcast hash join; a map
    column lookup would scan the whole vocab for every token."""
    positions = F.broadcast(vocab.select("family", "token", F.col("index").cast("int").alias("index")))
    found = (arrays.select("user_id", F.explode("tokens").alias("t"))
             .select("user_id", "t.family", "t.token").join(positions, ["family", "token"])
             .groupBy("user_id").agg(F.array_sort(F.collect_list("index")).alias("indices")))
    return (arrays.join(found, "user_id", "left")
            .withColumn("indices", F.coalesce("indices", F.array().cast("array<int>"))))
