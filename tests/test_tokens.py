"""Token families on tiny frames: Unicode, case folding, emoji, one presence per user."""
from jobs.tokens import user_tokens


def _tokens(spark, captions, bio="", name=""):
    profiles = spark.createDataFrame([(1, bio, name)], "user_id long, biography string, full_name string")
    posts = spark.createDataFrame([(1, c) for c in captions], "user_id long, caption string")
    rows = user_tokens(profiles, posts, ("hashtag", "word", "char3", "emoji", "bio_word", "name_word")).collect()
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


def test_bio_and_name_are_families_of_their_own(spark):
    got = _tokens(spark, [], bio="Mom of 2 📍 Lyon #MomLife", name="Élodie Martin")
    assert {"mom", "lyon", "#momlife", "📍"} <= set(got["bio_word"])
    assert got["name_word"] == sorted(["élodie", "martin"])
    assert "hashtag" not in got
