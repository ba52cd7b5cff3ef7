"""Generate a deterministic sample world as landing files.

Layout: <landing>/<run_date>/source=<name>/part-*.txt, one record a line:
  profiles, posts: JSON lines with Instagram's field names
  fb_profiles, follows: CSV lines (a header line opens every chunk, as concatenated exports do)
  _truth: JSON lines of the hidden truth (gender, country, region, is_fake, occupation); evaluations only.
<landing>/<run_date>/media/<xx>/<hash>.png: post images (world.images), named by posts' media_file.

Users are generated in fixed-size chunks, each from its own RNG stream (seed, chunk), so the
world is the same whatever the parallelism. A share of records is deliberately broken; a broken
record is always an extra copy, so every user in the truth has at least one good snapshot.
"""
from __future__ import annotations

import bisect
import datetime as dt
import json
import math
from pathlib import Path

import click
import numpy as np

from jobs import occupations as occ
from jobs.regions import region_of
from world import follows as follow_graph, images, places, vocab as wv
from runtime.config import PipelineConfig, demo_namespace
from runtime.task_summary import echo_summary

CHUNK_USERS = 5000
ID_MULTIPLIER = 2654435761  # odd, so i -> i*M mod 2^32 is a bijection: ids look random, never collide
ID_BASE = 1_000_000_000
FB_ID_BASE = 100_000_000_000_000

SHARES = {
    "fake": 0.08,
    "fb_link": 0.08,         # authentic users whose bio or external_url links their Facebook profile
    "fb_lookalike": 0.02,    # Facebook links that are not personal profiles
    "fb_two_links": 0.05,    # of linked users: a second, different profile link
    "fb_shared": 0.03,       # of linked users: claim the Facebook profile of another linked user
    "location": 0.04,        # of authentic users' bios: a statement of where one lives
    "business": 0.12,        # authentic accounts switched to business profiles
    "business_address": 0.15,  # of business profiles: an address in business_address_json
    "traveller": 0.15,       # authentic users who post from another country
    "private": 0.2,
    # Hard cases for authenticity (real data has them; a model fitted on easy fakes fails on them):
    "dormant": 0.06,          # authentic users with no picture, no posts, few followers
    "digits_username": 0.25,  # authentic users whose username carries digits
}
# Bought accounts come in qualities: low (random name, no picture, spam), mid (some posts and a
# picture), high (a real user's name and bio copied, ordinary counts).
FAKE_QUALITIES = {"low": 0.5, "mid": 0.3, "high": 0.2}
BROKEN_RATE = 0.004  # per kind, per record
STATED_OCCUPATION_RATE = 0.3  # of authentic users' bios
OCCUPATION_TOKEN_RATE = 0.07  # of caption tokens (taken from the generic ones, which say nothing of gender)


def user_id_of(index: np.ndarray | int) -> np.ndarray | int:
    return ID_BASE + (np.asarray(index, dtype=np.uint64) * np.uint64(ID_MULTIPLIER)) % np.uint64(2**32)


def _zipf_pick(rng: np.random.Generator, items: list, size: int | None = None, a: float = 1.1):
    draws = rng.random(size if size is not None else 1).tolist()
    picked = [_pick(items, u, a) for u in draws]
    return picked if size is not None else picked[0]


def _country_table():
    codes = list(wv.COUNTRIES) + ["OTHER"]
    weights = np.array([wv.COUNTRIES[c][4] for c in wv.COUNTRIES] + [wv.OTHER_WEIGHT])
    return codes, weights / weights.sum()


def _locale_of(country: str, rng: np.random.Generator):
    if country == "OTHER":
        loc, lang, cities, flag = wv.OTHER_LOCALES[int(rng.integers(len(wv.OTHER_LOCALES)))]
        return loc, lang, cities, flag
    loc, lang, cities, flag, _ = wv.COUNTRIES[country]
    return loc, lang, cities, flag


def _home_iso(country: str, locale: str) -> str:
    """The ISO code of where the user lives (OTHER users live in their locale's country)."""
    return country if country != "OTHER" else locale.rsplit("_", 1)[1]


def _another_country(rng: np.random.Generator, home: str) -> tuple[str, list[str], str]:
    """(iso, city hashtags, flag) of a country that is not home: a trip's, an origin's."""
    codes = [c for c in wv.COUNTRIES if c != home]
    code = codes[int(rng.integers(len(codes)))]
    return code, wv.COUNTRIES[code][2], wv.COUNTRIES[code][3]


FB_PROFILE_FORMS = [
    "facebook.com/{v}", "https://www.facebook.com/{v}", "https://www.facebook.com/{v}/", "http://facebook.com/{v}",
    "fb.com/{v}", "www.fb.com/{v}", "https://m.facebook.com/{v}?ref=bookmarks", "https://web.facebook.com/{v}#",
    "FaceBook.com/{V}", "mobile.facebook.com/{v}", "https://www.facebook.com/{v}?fref=ts&ref=br_rs",
]
FB_ID_FORMS = [
    "https://www.facebook.com/profile.php?id={i}", "facebook.com/profile.php?id={i}&ref=br_rs",
    "m.facebook.com/profile.php?id={i}", "https://fb.com/profile.php?id={i}#",
]
FB_LOOKALIKES = [
    "facebook.com/pages/{v}-Shop/{i}", "https://www.facebook.com/groups/{v}club/", "facebook.com/events/{i}/",
    "https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2Fexample.com", "https://l.facebook.com/l.php?u=https%3A%2F%2Fshop.example",
    "facebook.com/hashtag/{v}", "https://www.facebook.com/watch/?v={i}", "facebook.com/login.php",
    "https://business.facebook.com/{v}", "facebook.com/photo.php?fbid={i}", "https://www.facebook.com/help/",
    "developers.facebook.com/docs", "facebook.com/story.php?story_fbid={i}&id=1",
]


def _fb_link(rng, vanity: str | None, fb_id: int) -> str:
    if vanity and rng.random() < 0.8:
        form = FB_PROFILE_FORMS[int(rng.integers(len(FB_PROFILE_FORMS)))]
        return form.format(v=vanity, V=vanity.title())
    return FB_ID_FORMS[int(rng.integers(len(FB_ID_FORMS)))].format(i=fb_id)


def _username(rng, first: str, last: str, is_fake: bool) -> str:
    f, l = wv.username_base(first, last)
    if is_fake or not f:
        letters = "abcdefghijklmnopqrstuvwxyz"
        stem = "".join(letters[i] for i in rng.integers(0, 26, int(rng.integers(5, 10))))
        return stem + str(int(rng.integers(100, 99999)))
    pattern = int(rng.integers(6))
    year = str(int(rng.integers(1970, 2010)))
    return [f"{f}.{l}", f"{f}{l}{int(rng.integers(1, 99))}", f"{f}_{l}", f"{l}{f}", f"{f}{year[2:]}",
            f"_{f}.{l[:1]}_"][pattern][:30] or f"user{int(rng.integers(10**6))}"


def _username_with_digits(rng, first: str, last: str) -> str | None:
    """A real person's username with digits: a birth year, a lucky number, a taken name's suffix."""
    f, l = wv.username_base(first, last)
    if not f:
        return None
    digits = [str(int(rng.integers(1970, 2010))), str(int(rng.integers(1, 100))), str(int(rng.integers(100, 10000)))]
    pattern = int(rng.integers(4))
    return [f"{f}{l}{digits[0]}", f"{f}.{l}{digits[1]}", f"{f}_{digits[2]}", f"{f}{digits[1]}{l[:1]}"][pattern][:30]


_ZIPF_CDF: dict[tuple[int, int, float], list[float]] = {}


def _pick(items: list, u: float, a: float) -> str:
    """The item at Zipf quantile u (a uniform draw) of a list ordered by rank."""
    key = (id(items), len(items), a)  # item lists are module constants or cached: ids are stable
    cdf = _ZIPF_CDF.get(key)
    if cdf is None:
        p = np.arange(1, len(items) + 1, dtype=float) ** -a
        cdf = _ZIPF_CDF[key] = np.cumsum(p / p.sum()).tolist()
    return items[min(bisect.bisect_left(cdf, u), len(items) - 1)]


def _caption(rng, gender: str, lang: str, topics: list[str], cities: list[str], flag: str, is_fake: bool,
             occupation: str) -> str:
    words = wv.language_words(lang)
    own, other = (wv.FEMALE_TOKENS, wv.MALE_TOKENS) if gender == "female" else (wv.MALE_TOKENS, wv.FEMALE_TOKENS)
    n = 1 + int(rng.poisson(6))
    draws = rng.random((n, 4)).tolist()
    out = []
    for r, u, v, w in draws:
        if is_fake and r < 0.5:
            tok = _pick(wv.SPAM_TOKENS, u, 1.1)
        elif r < OCCUPATION_TOKEN_RATE:  # work or study talk: mostly one's own occupation
            tok = _pick(wv.OCCUPATION_TOKENS[occupation if v < 0.7 else wv.OCCUPATIONS[int((v - 0.7) / 0.3 * 8) % 8]],
                        u, 0.8)
        elif r < 0.22:
            tok = _pick(wv.GENERIC_TOKENS, u, 1.1)
        elif r < 0.52:
            tok = _pick(words, u, 1.0)
            if v < 0.05:  # a mention, as captions tag friends and places
                tok = "@" + tok
        elif r < 0.76:
            tok = _pick(wv.TOPICS[topics[int(v * len(topics))]][1], u, 0.8)
        elif r < 0.90:
            tok = _pick(own if v < 0.8 else other, u, 0.9)
        else:
            tok = "#" + cities[int(u * len(cities))] if v < 0.8 else flag
        if w < 0.1:
            tok = tok.capitalize() if not tok.startswith("#") else "#" + tok[1:].upper()
        out.append(tok)
    if rng.random() < 0.1:  # a hashtag glued to an emoji, as people type them
        out.append("#" + cities[0] + flag)
    return " ".join(out)


def _occupation_statement(rng, lang: str, occupation: str) -> str:
    """How a user of this occupation states it in a bio: a job title of its class in the user's
    language (English where the language has none), or a study statement for students; a few
    state a title of two classes (ambiguous) or two occupations (several)."""
    def title_of(cls: str) -> str:
        if cls == "student":
            forms_lang = lang if lang in occ.STUDY_FORMS else "en"
            forms, fields = occ.STUDY_FORMS[forms_lang], occ.STUDY_FIELDS[forms_lang]
            return forms[int(rng.integers(len(forms)))].format(field=fields[int(rng.integers(len(fields)))])
        titles = occ.titles_by_class(lang).get(cls) or occ.titles_by_class("en")[cls]
        return titles[int(rng.integers(len(titles)))]

    kind = rng.random()
    if kind < 0.05:
        ambiguous = occ.titles_by_class(lang).get(occ.AMBIGUOUS) or occ.titles_by_class("en")[occ.AMBIGUOUS]
        text = ambiguous[int(rng.integers(len(ambiguous)))]
    elif kind < 0.12:
        other = [c for c in wv.OCCUPATIONS if c != occupation][int(rng.integers(len(wv.OCCUPATIONS) - 1))]
        text = f"{title_of(occupation)} | {title_of(other)}"
    else:
        text = title_of(occupation)
    case = rng.random()
    return text.lower() if case < 0.3 else (text.upper() if case < 0.35 else text)


def _bio(rng, occ_rng, lang, topics, occupation, location: str | None) -> str:
    parts = []
    words = wv.language_words(lang)
    if rng.random() < 0.7:
        parts.append(" ".join(_zipf_pick(rng, words, size=int(rng.integers(1, 6)), a=1.0)))
    if rng.random() < 0.5:
        parts.append(wv.TOPICS[topics[0]][1][-3])  # the topic's emoji
    if rng.random() < STATED_OCCUPATION_RATE:
        parts.append(_occupation_statement(occ_rng, lang, occupation))
    if location:
        parts.append(location)
    return " | ".join(parts)


def _csv_field(value) -> str:
    text = "" if value is None else str(value)
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_line(values) -> str:
    return ",".join(_csv_field(v) for v in values)


def _iso(ts: dt.datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_chunk(seed: int, chunk: int, n_users: int, run_date: dt.date,
                   night_folder: Path | None = None) -> list[tuple[str, str]]:
    """All landing lines of users [chunk*CHUNK_USERS, ...): a list of (source, line). With a
    night folder, the images of the users whose media was fetched are written under it
    (world.images) and their posts name them."""
    rng = np.random.default_rng([seed, chunk])
    occ_rng = np.random.default_rng([seed, chunk, 1])  # its own stream: the rest of the world stays as it was
    loc_rng = np.random.default_rng([seed, chunk, 2])  # locations' own stream, likewise
    hard_rng = np.random.default_rng([seed, chunk, 3])  # authenticity's hard cases, likewise
    pictures = images.UserMedia(seed, chunk, night_folder)  # images draw from a stream of their own
    lo, hi = chunk * CHUNK_USERS, min(n_users, (chunk + 1) * CHUNK_USERS)
    codes, cw = _country_table()
    night = dt.datetime.combine(run_date, dt.time(0, 0))
    n_influencers = follow_graph.influencer_count(n_users)
    influencers = follow_graph.accounts(seed, n_users)  # the same in every chunk: followers need their traits
    topic_names = list(wv.TOPICS)
    out: list[tuple[str, str]] = [("fb_profiles", ",".join(["fb_id", "fb_username", "full_name", "gender", "fetched_at"])),
                                  ("follows", ",".join(["follower_id", "followee_id", "observed_at"]))]
    linked: list[tuple[int, str | None]] = []  # (fb_id, vanity) of earlier linked users, for shared claims
    real_faces: list[tuple[str, str]] = []  # (full name, bio) of earlier authentic users, for fakes to copy

    n = hi - lo
    fake_draw = rng.random(n) < SHARES["fake"]
    country_draw = np.searchsorted(np.cumsum(cw), rng.random(n))
    female_draw = rng.random(n) < 0.52
    skew = np.array([wv.TOPICS[t][0] for t in topic_names])
    topic_p = {"female": np.sqrt(skew) / np.sqrt(skew).sum(), "male": (1 / np.sqrt(skew)) / (1 / np.sqrt(skew)).sum()}
    # Gumbel top-2: two distinct topics drawn with the gender's topic weights, for all users at once.
    gumbel = -np.log(-np.log(rng.random((n, len(topic_names)))))
    topic_draw = {g: np.argsort(-(np.log(topic_p[g])[None, :] + gumbel), axis=1)[:, :2] for g in topic_p}
    for gi in range(lo, min(hi, n_influencers)):  # influencers are who their own stream says
        country_draw[gi - lo] = codes.index(str(influencers.country[gi]))
        female_draw[gi - lo] = bool(influencers.female[gi])
        topic_draw["female" if influencers.female[gi] else "male"][gi - lo] = influencers.topics[gi]
        fake_draw[gi - lo] = False

    for gi in range(lo, hi):
        uid = int(user_id_of(gi))
        is_fake = bool(fake_draw[gi - lo])
        country = codes[min(int(country_draw[gi - lo]), len(codes) - 1)]
        loc, lang, cities, flag = _locale_of(country, rng)
        gender = "female" if female_draw[gi - lo] else "male"
        topics = [topic_names[t] for t in topic_draw[gender][gi - lo]]
        occupation = (wv.TOPIC_OCCUPATION[topics[0]] if rng.random() < 0.6
                      else wv.OCCUPATIONS[int(rng.integers(len(wv.OCCUPATIONS)))])
        female_names, male_names, last_names = wv.locale_names(loc)
        first = (female_names if gender == "female" else male_names)[int(rng.integers(len(female_names if gender == "female" else male_names)))]
        last = last_names[int(rng.integers(len(last_names)))]
        username = _username(rng, first, last, is_fake)
        influencer = gi < n_influencers and not is_fake
        home = _home_iso(country, loc)
        elsewhere, elsewhere_cities, elsewhere_flag = _another_country(loc_rng, home)
        stated = (places.bio_statement(loc_rng, home, lang, flag, elsewhere_flag, wv.LOCATION_EMOJI)
                  if not is_fake and loc_rng.random() < SHARES["location"] else None)
        business = loc_rng.random() < (0.03 if is_fake else SHARES["business"])
        address = (places.business_address(loc_rng, home, lang, elsewhere)
                   if business and not is_fake and loc_rng.random() < SHARES["business_address"] else None)
        if address and loc_rng.random() < BROKEN_RATE * 5:  # a cut export: bad JSON in a good profile
            address = address[: len(address) // 2]
        traveller = not is_fake and loc_rng.random() < SHARES["traveller"]
        dormant = not is_fake and hard_rng.random() < SHARES["dormant"]
        quality = (str(hard_rng.choice(list(FAKE_QUALITIES), p=list(FAKE_QUALITIES.values()))) if is_fake else None)
        if not is_fake and hard_rng.random() < SHARES["digits_username"]:
            username = _username_with_digits(hard_rng, first, last) or username

        if is_fake:
            full_name = "" if rng.random() < 0.5 else username[:6].title()
            bio = "" if rng.random() < 0.7 else " ".join(_zipf_pick(rng, wv.SPAM_TOKENS, size=3))
            followers = int(rng.lognormal(2.5, 1.0))
            following = int(min(7500, rng.lognormal(7.0, 0.5)))
            media = int(rng.integers(0, 6))
            usertags = 0
            anonymous = bool(rng.random() < 0.6)
        else:
            full_name = f"{first} {last}"
            bio = _bio(rng, occ_rng, lang, topics, occupation, stated)
            followers = int(rng.lognormal(5.5, 1.5) * (200 if influencer else 1))
            following = int(rng.lognormal(5.8, 0.8))
            media = int(rng.lognormal(3.5, 1.2))
            usertags = int(rng.lognormal(1.5, 1.2))
            anonymous = bool(rng.random() < 0.05)
        if dormant:  # signed up, never posted: looks like a cheap fake
            bio = "" if hard_rng.random() < 0.8 else bio
            followers, following = int(hard_rng.lognormal(2.0, 1.0)), int(hard_rng.lognormal(4.5, 1.0))
            media, usertags, anonymous = 0, 0, bool(hard_rng.random() < 0.7)
        elif quality == "mid":
            media = int(hard_rng.lognormal(2.0, 0.8))
            followers = int(hard_rng.lognormal(4.0, 1.0))
            following = int(min(7500, hard_rng.lognormal(6.3, 0.7)))
            anonymous = bool(hard_rng.random() < 0.2)
        elif quality == "high":
            face_name, face_bio = (real_faces[int(hard_rng.integers(len(real_faces)))] if real_faces
                                   else (f"{first} {last}", ""))
            full_name, bio = face_name, face_bio
            if " " in face_name:  # a name-like username, as its copied face would have
                username = _username_with_digits(hard_rng, *face_name.split(" ", 1)) or username
            followers = int(hard_rng.lognormal(5.0, 1.0))
            following = int(hard_rng.lognormal(6.0, 0.6))
            media = int(hard_rng.lognormal(2.8, 0.8))
            usertags = int(hard_rng.lognormal(0.5, 1.0))
            anonymous = False
        elif not is_fake and not dormant and full_name and bio and len(real_faces) < 500:
            real_faces.append((full_name, bio))
        region = region_of(home)
        pictures.start_user(region, occupation, gender)
        external_url = None
        if not is_fake and rng.random() < 0.15:
            external_url = [f"https://linktr.ee/{username}", f"https://{username.strip('_.')}.com",
                            f"https://www.youtube.com/@{username}"][int(rng.integers(3))]

        if not is_fake and rng.random() < SHARES["fb_link"]:
            if linked and rng.random() < SHARES["fb_shared"]:
                fb_id, vanity = linked[int(rng.integers(len(linked)))]
            else:
                fb_id = FB_ID_BASE + gi
                f_ascii, l_ascii = wv.username_base(first, last)
                vanity = (f"{f_ascii}.{l_ascii}.{gi}" if f_ascii and l_ascii else f"{username.strip('_.')}.{gi}"
                          ) if rng.random() < 0.7 else None
                g = rng.random()
                fb_gender = gender if g < 0.88 else ("custom" if g < 0.90 else None)
                out.append(("fb_profiles", _csv_line([fb_id, vanity, full_name, fb_gender, _iso(night - dt.timedelta(days=3))])))
                linked.append((fb_id, vanity))
            link = _fb_link(rng, vanity, fb_id)
            if rng.random() < 0.3:
                external_url = ("https://" + link) if not link.startswith("http") else link
            else:
                bio = f"{bio} {link}".strip()
            if rng.random() < SHARES["fb_two_links"]:
                bio = f"{bio} fb.com/profile.php?id={FB_ID_BASE + n_users + gi}"
        elif not is_fake and rng.random() < SHARES["fb_lookalike"]:
            form = FB_LOOKALIKES[int(rng.integers(len(FB_LOOKALIKES)))]
            bio = f"{bio} {form.format(v=wv.username_base(first, last)[0] or 'shop', i=int(rng.integers(10**9)))}".strip()

        fetched = night - dt.timedelta(seconds=int(rng.integers(0, 3 * 86400)))
        profile = {
            "id": uid, "username": username, "full_name": full_name, "biography": bio, "external_url": external_url,
            "follower_count": followers, "following_count": following, "media_count": media,
            "usertags_count": usertags, "is_private": bool(rng.random() < (0.1 if is_fake else SHARES["private"])),
            "is_verified": bool(influencer and rng.random() < 0.3), "has_anonymous_profile_picture": anonymous,
            "reel_auto_archive": ["on", "off", "unset"][int(rng.integers(3))], "fetched_at": _iso(fetched),
        }
        if business:  # Instagram exports carry these fields on business profiles only
            profile.update(is_business_account=True, business_address_json=address,
                           business_category_name=places.BUSINESS_CATEGORIES[int(loc_rng.integers(len(places.BUSINESS_CATEGORIES)))])
        line = json.dumps(profile, ensure_ascii=False)
        out.append(("profiles", line))
        out.extend(_broken_profile_copies(rng, profile, line))
        out.append(("_truth", json.dumps({"user_id": uid, "gender": gender, "country": country, "home": home, "language": lang,
                                          "is_fake": is_fake, "occupation": occupation, "interests": topics,
                                          "fake_quality": quality, "dormant": dormant, "region": region},
                                         ensure_ascii=False)))

        n_posts = 0 if profile["is_private"] else (int(rng.poisson(1)) if is_fake else min(12, int(rng.poisson(7))))
        for j in range(n_posts):
            on_trip = traveller and loc_rng.random() < 0.3  # a post from the trip: its places, its flag
            caption = _caption(rng, gender, lang, topics, elsewhere_cities if on_trip else cities,
                               elsewhere_flag if on_trip else flag, is_fake, occupation)
            post = {"id": uid * 100 + j, "user_id": uid,
                    "taken_at": _iso(fetched - dt.timedelta(hours=float(rng.exponential(24 * 20)))),
                    "caption": caption, "like_count": int(rng.lognormal(3, 1.5)),
                    "comment_count": int(rng.lognormal(1, 1.2)), "fetched_at": _iso(fetched)}
            if rng.random() < BROKEN_RATE / 4:  # an enormous caption: a good post, kept cut to the limit
                post["caption"] = (caption + " ") * (60000 // (len(caption) + 1) + 1)
            media_file = None if dormant else pictures.post_media()
            if media_file:
                post["media_file"] = media_file
            pline = json.dumps(post, ensure_ascii=False)
            # A dormant user's posts are drawn all the same (the rest of the world stays as it was), never written.
            posts = [pline]
            if rng.random() < BROKEN_RATE:
                posts.append(pline[: len(pline) // 2])
            if rng.random() < BROKEN_RATE:
                posts.append(json.dumps({k: v for k, v in post.items() if k != "user_id"}, ensure_ascii=False))
            if not dormant:
                out.extend(("posts", line) for line in posts)

        # Power-law follow graph: followees concentrate on low indices (the influencers); the draws
        # landing on influencers are redrawn among them by topic, country and language
        # (world.follows), and fakes follow the accounts that buy them.
        if is_fake:
            rng.integers(0, n_influencers, int(rng.integers(1, 6)))  # the old draw, so the stream stays
            followees = set(follow_graph.bought_influencers(hard_rng, influencers, n_users, SHARES["fake"]).tolist())
        else:
            k = int(min(200, rng.lognormal(2.0, 1.0)))
            picks = (n_users * rng.random(k) ** 3).astype(np.int64)
            chosen = follow_graph.followed_influencers(hard_rng, influencers, [topic_names.index(t) for t in topics],
                                                       home, lang, int((picks < n_influencers).sum()))
            followees = set(picks[picks >= n_influencers].tolist()) | set(chosen.tolist())
        followees.discard(gi)
        observed = _iso(fetched)
        for fo in user_id_of(np.array(sorted(followees), dtype=np.int64)).tolist():
            out.append(("follows", f"{uid},{fo},{observed}"))
        if rng.random() < BROKEN_RATE:
            out.append(("follows", _csv_line([uid, "", _iso(fetched)])))
        if rng.random() < BROKEN_RATE:
            out.append(("fb_profiles", _csv_line([f"fb-{gi}", "someone", "Some One", "female", _iso(night)])))
    return out


def _broken_profile_copies(rng, profile: dict, line: str) -> list[tuple[str, str]]:
    """Extra, broken or stale copies of a good snapshot; the good one is always kept."""
    extra = []
    if rng.random() < BROKEN_RATE:
        extra.append(("profiles", line[: max(1, len(line) // 2)]))  # malformed JSON
    if rng.random() < BROKEN_RATE:
        extra.append(("profiles", json.dumps({k: v for k, v in profile.items() if k != "id"}, ensure_ascii=False)))
    if rng.random() < BROKEN_RATE:
        extra.append(("profiles", json.dumps({**profile, "follower_count": "12.5k"}, ensure_ascii=False)))
    if rng.random() < BROKEN_RATE:
        extra.append(("profiles", json.dumps({**profile, "media_count": -int(rng.integers(1, 50))}, ensure_ascii=False)))
    if rng.random() < BROKEN_RATE:
        extra.append(("profiles", line))  # an exact duplicate snapshot
    if rng.random() < BROKEN_RATE:  # an older snapshot arriving late: must never overwrite the newer one
        old = dt.datetime.strptime(profile["fetched_at"], "%Y-%m-%dT%H:%M:%SZ") - dt.timedelta(days=30)
        extra.append(("profiles", json.dumps({**profile, "biography": "stale snapshot", "fetched_at": _iso(old)},
                                             ensure_ascii=False)))
    return extra


INVALID_UTF8_LINES = [
    b'{"id": 42, "username": "bad\xff\xfeutf", "biography": "caf\xe9 au lait", "fetched_at": "2020-01-01T00:00:00Z"}\n',
    b'{"id": 43, "username": "broken\xc3", "fetched_at": "2020-01-01T00:00:00Z"}\n',
]


def world_meta() -> dict:
    """What the generator made gender-dependent, for evaluations (precision@k of MI rankings)."""
    skew = {t: w for t, (w, _) in wv.TOPICS.items()}
    gendered_topics = [t for t, w in skew.items() if w >= 2.5 or w <= 0.4]
    topic_tokens = sorted({tok for t in gendered_topics for tok in wv.TOPICS[t][1]})
    return {
        "female_tokens": wv.FEMALE_TOKENS,
        "male_tokens": wv.MALE_TOKENS,
        "gendered_topic_tokens": topic_tokens,
        "spam_tokens": wv.SPAM_TOKENS,
        "chunk_users": CHUNK_USERS,
    }


def run(spark, config: PipelineConfig, users: int = 100_000, seed: int = 7) -> dict:
    """Write the landing files of one night; overwrites that night's landing folder."""
    from pyspark.sql.types import StringType, StructField, StructType

    n_chunks = math.ceil(users / CHUNK_USERS)
    run_date = config.run_date
    out_schema = StructType([StructField("source", StringType()), StructField("value", StringType())])
    root = Path(config.landing) / run_date.isoformat()
    night_folder = root  # the overwrite below empties it before any task writes an image

    def gen(batches):
        import pandas as pd

        for batch in batches:
            for chunk in batch["chunk"]:
                rows = generate_chunk(seed, int(chunk), users, run_date, night_folder)
                yield pd.DataFrame(rows, columns=["source", "value"])

    n_parts = min(n_chunks, spark.sparkContext.defaultParallelism * 4)
    chunks = spark.range(0, n_chunks, 1, n_parts).withColumnRenamed("id", "chunk")
    (chunks.mapInPandas(gen, out_schema)
     .write.mode("overwrite").partitionBy("source").option("compression", "none").text(str(root)))
    broken = root / "source=profiles" / "part-broken-utf8.txt"
    broken.write_bytes(b"".join(INVALID_UTF8_LINES))
    (root / "world_meta.json").write_text(json.dumps({**world_meta(), "users": users, "seed": seed}, ensure_ascii=False, indent=1))
    return {"users": users, "chunks": n_chunks, "landing": str(root)}


@click.command()
@click.option("--users", default=100_000, show_default=True, help="Number of users in the world.")
@click.option("--seed", default=7, show_default=True)
@click.option("--run-date", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Night to generate (default: today).")
@click.option("--landing", default=None, help="Landing root (default: $DEMOGRAPHICS_LANDING or ./landing).")
def main(users, seed, run_date, landing):
    """Refuses to write into the real landing root: a generated world goes to its own namespace."""
    import os

    from runtime.spark_session import start_spark

    if not landing and not os.environ.get("DEMOGRAPHICS_NAMESPACE"):
        raise click.UsageError(f"a generated world never goes beside real landing files: set "
                               f"DEMOGRAPHICS_NAMESPACE={demo_namespace(users)} for this and the jobs that read it "
                               "(as make run-jobs and the DAG do), or give --landing")
    cfg = PipelineConfig()
    if run_date:
        cfg = cfg.with_(run_date=run_date.date())
    if landing:
        cfg = cfg.with_(landing=landing)
    spark = start_spark("generate_world")
    summary = run(spark, cfg, users=users, seed=seed)
    echo_summary(cfg, "generate_world", summary)


if __name__ == "__main__":
    main()
