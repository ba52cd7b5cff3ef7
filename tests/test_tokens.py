"""Token families: Unicode, case folding, emoji, one presence per user; the numba tokeniser
against the same rules written as Spark regexes on a generated world."""
import pytest

from jobs.tokens import FAMILIES, user_texts, user_tokens
from tests.spark_regex_tokens import regex_user_tokens


def _tokens(spark, captions, bio="", name=""):
    profiles = spark.createDataFrame([(1, bio, name)], "user_id long, biography string, full_name string")
    posts = spark.createDataFrame([(1, c) for c in captions], "user_id long, caption string")
    rows = user_tokens(user_texts(profiles, posts), FAMILIES).collect()
    out = {}
    for r in rows:
        out.setdefault(r["family"], []).append(r["token"])
    return {k: sorted(v) for k, v in out.items()}


def test_unicode_hashtags_case_folding_and_glued_emoji(spark):
    got = _tokens(spark, ["Café time #Café #東京 #Москва", "#paris🇫🇷 back in #PARIS ❤️ 😍😍"])
    assert got["hashtag"] == sorted(["#café", "#paris", "#東京", "#москва"])
    assert got["emoji"] == sorted(["🇫🇷", "❤", "😍"])
    assert got["word"] == sorted(["café", "time", "back", "in"])  # hashtags are not words


def test_each_token_once_per_user_and_char_ngrams(spark):
    got = _tokens(spark, ["gym gym #gym", "gym #GYM"])
    assert got["hashtag"] == ["#gym"] and got["word"] == ["gym"]
    got = _tokens(spark, ["hello"])
    assert got["char3"] == sorted(["hel", "ell", "llo"])
    assert got["char"] == sorted(["he", "el", "ll", "lo", "hel", "ell", "llo", "hell", "ello"])
    got = _tokens(spark, ["ok abc"], bio="Élo", name="Jo Anne")
    assert got["char"] == sorted(["ok", "ab", "bc", "abc"])  # a word is its own last gram
    assert got["bio_char"] == sorted(["él", "lo", "élo"]) and got["name_char"] == sorted(["jo", "an", "nn", "ne", "ann", "nne", "anne"])


def test_words_apostrophes_mentions_and_lone_flags(spark):
    got = _tokens(spark, ["l'amour @anna #'ab x 'ok 🇫 a"])
    assert got["word"] == sorted(["l'amour", "ab", "'ok"])  # @anna is a mention; 'x', 'a' too short
    assert got["mention"] == ["@anna"]
    assert "emoji" not in got  # a lone regional indicator is not a flag


def test_bio_and_name_are_families_of_their_own(spark):
    got = _tokens(spark, [], bio="Mom of 2 📍 Lyon #MomLife", name="Élodie Martin")
    assert {"mom", "lyon", "#momlife", "📍"} <= set(got["bio_word"])
    assert got["name_word"] == sorted(["élodie", "martin"])
    assert "hashtag" not in got


def test_numba_tokens_equal_the_spark_regex_rules_on_a_generated_world(spark, world):
    """Every token of every user, every family (the oracle folds Java's lower-cased 'İ')."""
    cfg, _ = world
    profiles = spark.read.format("delta").load(cfg.table_path("profiles"))
    posts = spark.read.format("delta").load(cfg.table_path("posts"))
    ours = user_tokens(user_texts(profiles, posts), FAMILIES)
    theirs = regex_user_tokens(profiles, posts)
    n = ours.count()
    assert n > 100_000 and ours.distinct().count() == n
    assert ours.select("family").distinct().count() == len(FAMILIES)
    assert ours.exceptAll(theirs).count() == 0
    assert theirs.distinct().exceptAll(ours).count() == 0


def test_text_columns_are_the_ones_each_family_reads():
    from jobs.tokens import text_columns

    assert text_columns(("hashtag",)) == ("captions",)
    assert text_columns(("char3", "name_word")) == ("full_name", "captions")
    assert text_columns(("bio_word",)) == ("biography",)
    assert text_columns(FAMILIES) == ("biography", "full_name", "captions")
    assert text_columns(("mention", "name_char")) == ("full_name", "captions")
    assert text_columns(("bio_char",)) == ("biography",)
    with pytest.raises(ValueError):
        text_columns(("nope",))
