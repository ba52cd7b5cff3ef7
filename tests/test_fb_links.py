"""Facebook link normalisation: a table of real-world forms, positive and negative."""
import pytest

from jobs.fb_links import canonical_fb_key

CASES = [
    # personal profiles, every way people write them
    ("facebook.com/john.smith", "u:john.smith"),
    ("https://www.facebook.com/john.smith", "u:john.smith"),
    ("https://www.facebook.com/john.smith/", "u:john.smith"),
    ("http://facebook.com/john.smith", "u:john.smith"),
    ("www.facebook.com/John.Smith", "u:john.smith"),
    ("FaceBook.com/JOHN.SMITH", "u:john.smith"),
    ("HTTPS://WWW.FACEBOOK.COM/john.smith", "u:john.smith"),
    ("fb.com/john.smith", "u:john.smith"),
    ("www.fb.com/john.smith", "u:john.smith"),
    ("https://m.facebook.com/john.smith?ref=bookmarks", "u:john.smith"),
    ("mobile.facebook.com/john.smith", "u:john.smith"),
    ("https://web.facebook.com/john.smith#", "u:john.smith"),
    ("https://web.facebook.com/john.smith#about", "u:john.smith"),
    ("https://touch.facebook.com/john.smith", "u:john.smith"),
    ("https://mbasic.facebook.com/john.smith", "u:john.smith"),
    ("https://www.facebook.com/john.smith?fref=ts&ref=br_rs", "u:john.smith"),
    ("https://www.facebook.com/john.smith/about", "u:john.smith"),
    ("facebook.com/john.smith/photos/", "u:john.smith"),
    ("facebook.com/john.smith.", "u:john.smith"),
    ("facebook.com/johnsmith1987)", "u:johnsmith1987"),
    ("https://www.facebook.com/profile.php?id=100004123456789", "id:100004123456789"),
    ("facebook.com/profile.php?id=123456&ref=br_rs", "id:123456"),
    ("m.facebook.com/profile.php?id=123456", "id:123456"),
    ("https://fb.com/profile.php?id=987654321#", "id:987654321"),
    ("https://www.facebook.com/profile.php?ref=bookmarks&id=555666777", "id:555666777"),
    ("https://www.facebook.com/people/John-Smith/100012345678901/", "id:100012345678901"),
    ("https://www.facebook.com/100012345678901", "id:100012345678901"),
    # not personal profiles
    ("facebook.com/pages/Joes-Shop/123456789", None),
    ("https://www.facebook.com/groups/runningclub/", None),
    ("facebook.com/events/123456789/", None),
    ("https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2Fexample.com", None),
    ("https://www.facebook.com/sharer.php?u=x", None),
    ("https://l.facebook.com/l.php?u=https%3A%2F%2Fshop.example", None),
    ("https://lm.facebook.com/l.php?u=https%3A%2F%2Fshop.example", None),
    ("facebook.com/hashtag/love", None),
    ("https://www.facebook.com/watch/?v=123", None),
    ("facebook.com/login.php", None),
    ("https://www.facebook.com/help/", None),
    ("https://business.facebook.com/johnsshop", None),
    ("developers.facebook.com/docs", None),
    ("facebook.com/photo.php?fbid=123", None),
    ("facebook.com/story.php?story_fbid=1&id=2", None),
    ("https://www.facebook.com/profile.php", None),
    ("https://www.facebook.com/profile.php?id=abc", None),
    ("https://www.facebook.com/marketplace/item/1", None),
    ("https://www.facebook.com/", None),
    ("facebook.com", None),
    ("https://www.facebook.com/abc", None),  # too short to be a username
    ("https://www.facebook.com/john.smith/posts/123456", "u:john.smith"),
    ("https://www.facebook.com/john.smith/videos/vb.1/2", "u:john.smith"),
    ("https://www.facebook.com/john.smith/reviews", None),
    ("https://notfacebook.com/john.smith", None),
    ("https://facebook.com.evil.example/john.smith", None),
    ("fb.me/john.smith", None),
    ("https://www.facebook.com/reel/123456", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize("url,key", CASES)
def test_canonical_key(url, key):
    assert canonical_fb_key(url) == key


def test_the_table_is_big_enough():
    assert len(CASES) >= 40
    assert sum(k is None for _, k in CASES) >= 20 and sum(k is not None for _, k in CASES) >= 20


def test_links_are_found_inside_free_text(spark):
    from jobs.fb_links import extract_links

    profiles = spark.createDataFrame([
        (1, "🎸 | artist 📍 Paris https://m.facebook.com/john.smith?ref=bookmarks", None),
        (2, "shop: facebook.com/pages/Shop/123 | me: fb.com/profile.php?id=42", "https://linktr.ee/x"),
        (3, "no links here", "https://www.facebook.com/jane.doe.7/"),
        (4, "Find me on FaceBook.com/Mary.Jones, thanks", None),
    ], "user_id long, biography string, external_url string")
    got = sorted(((r["user_id"], r["found_in"], r["fb_key"]) for r in extract_links(profiles).collect()), key=str)
    assert got == [(1, "biography", "u:john.smith"), (2, "biography", "id:42"), (2, "biography", None),
                   (3, "external_url", "u:jane.doe.7"), (4, "biography", "u:mary.jones")]
