"""The token rules written as Spark JVM regexes: an independent oracle for the numba tokeniser
(udfs.tokenizer), which replaced this code in the jobs because it is ~10x faster."""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

_WORDCHARS = r"\p{L}\p{M}\p{N}_"
HASHTAG = rf"(#[{_WORDCHARS}]+)"
MENTION = rf"(@[{_WORDCHARS}]+)"
WORD = rf"(?<![#@{_WORDCHARS}])([{_WORDCHARS}']{{2,}})"
EMOJI = r"([\x{1F1E6}-\x{1F1FF}]{2}|[\x{1F300}-\x{1FAFF}\x{2600}-\x{27BF}\x{2B50}\x{2B55}\x{1F004}\x{1F0CF}])"


def _normalise(text: Column) -> Column:
    """Lower-cased as Arrow does: Java turns 'İ' into 'i' + U+0307 where Arrow gives 'i' (Turkish
    names), so the oracle maps 'İ' itself first; an 'i' + U+0307 already in the text stays."""
    dotless = F.regexp_replace(F.coalesce(text, F.lit("")), "\u0130", "i")
    return F.regexp_replace(F.lower(dotless), "\ufe0f", "")


def _extract(text: Column, pattern: str) -> Column:
    return F.regexp_extract_all(text, F.lit(pattern), 1)


def _char3(words: Column) -> Column:
    return F.flatten(F.transform(words, lambda w: F.when(F.length(w) <= 3, F.array(w)).otherwise(
        F.transform(F.sequence(F.lit(1), F.length(w) - 2), lambda i: F.substring(w, i, 3)))))


def _char_grams(words: Column) -> Column:
    """n = 2, 3, 4: a word's n-grams while it is longer than n, then the word itself once."""
    def grams(w, g):
        whole = F.when(F.length(w) == g, F.array(w)) if g > 2 else F.when(F.length(w) <= g, F.array(w))
        return whole.when(F.length(w) > g, F.transform(F.sequence(F.lit(1), F.length(w) - g + 1),
                                                         lambda i: F.substring(w, i, g))).otherwise(F.array())
    return F.flatten(F.transform(words, lambda w: F.concat(grams(w, 2), grams(w, 3), grams(w, 4))))


def _tagged(family: str, tokens: Column) -> Column:
    return F.transform(tokens, lambda t: F.struct(F.lit(family).alias("family"), t.alias("token")))


def regex_user_tokens(profiles: DataFrame, posts: DataFrame) -> DataFrame:
    """(user_id, family, token) of every family, distinct per user."""
    text = _normalise(F.col("caption"))
    words = _extract(text, WORD)
    per_post = posts.select("user_id", F.concat(
        _tagged("hashtag", _extract(text, HASHTAG)), _tagged("mention", _extract(text, MENTION)),
        _tagged("word", words), _tagged("char3", _char3(words)), _tagged("char", _char_grams(words)),
        _tagged("emoji", _extract(text, EMOJI))).alias("t"))
    bio = _normalise(F.col("biography"))
    bio_words, name_words = _extract(bio, WORD), _extract(_normalise(F.col("full_name")), WORD)
    per_profile = profiles.select("user_id", F.concat(
        _tagged("bio_word", F.concat(_extract(bio, HASHTAG), _extract(bio, MENTION), bio_words, _extract(bio, EMOJI))),
        _tagged("bio_char", _char_grams(bio_words)), _tagged("name_word", name_words),
        _tagged("name_char", _char_grams(name_words))).alias("t"))
    return (per_post.unionByName(per_profile).select("user_id", F.explode("t").alias("t"))
            .select("user_id", "t.family", "t.token").distinct())
