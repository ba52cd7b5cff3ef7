"""The generator without Spark: determinism, realism and the broken records it must contain."""
import collections
import datetime as dt
import json

from world import vocab as wv
from world.generate import CHUNK_USERS, generate_chunk, user_id_of

NIGHT = dt.date(2026, 11, 22)


def _chunk(seed=7, chunk=0, users=CHUNK_USERS):
    return generate_chunk(seed, chunk, users, NIGHT)


def test_same_seed_same_world_other_seed_other_world():
    assert _chunk() == _chunk()
    assert _chunk(seed=8) != _chunk()


def test_user_ids_are_unique_across_chunks():
    ids = user_id_of(list(range(0, 3 * CHUNK_USERS)))
    assert len(set(ids.tolist())) == 3 * CHUNK_USERS


def test_every_truth_user_has_a_good_snapshot_and_names_come_from_locale_lists():
    rows = _chunk()
    truth = [json.loads(v) for s, v in rows if s == "_truth"]
    good = {}
    for s, v in rows:
        if s == "profiles":
            try:
                rec = json.loads(v)
            except json.JSONDecodeError:
                continue
            if "id" in rec and isinstance(rec.get("follower_count"), int) and rec.get("media_count", 0) >= 0:
                good[rec["id"]] = rec
    assert {t["user_id"] for t in truth} <= set(good)
    # An authentic user's first name is a real first name of their locale and gender.
    checked = 0
    for t in truth:
        if t["is_fake"] or t["country"] == "OTHER":
            continue
        locale = wv.COUNTRIES[t["country"]][0]
        female, male, _ = wv.locale_names(locale)
        full_name = good[t["user_id"]]["full_name"]
        assert any(full_name.startswith(n + " ") for n in (female if t["gender"] == "female" else male)), full_name
        checked += 1
    assert checked > 1000


def test_world_has_the_mix_the_pipeline_needs():
    rows = _chunk()
    by_source = collections.Counter(s for s, _ in rows)
    assert by_source["posts"] > 3 * CHUNK_USERS
    assert by_source["follows"] > 3 * CHUNK_USERS
    bios = [json.loads(v).get("biography") or "" for s, v in rows if s == "profiles" and v.startswith("{") and v.endswith("}")]
    fb = [b for b in bios if "facebook.com" in b.lower() or "fb.com" in b.lower()]
    assert 0.02 < len(fb) / len(bios) < 0.15
    assert any("profile.php?id=" in b for b in fb) and any("groups/" in b or "sharer" in b or "events/" in b for b in fb)
    assert any(e in b for b in bios for e in wv.LOCATION_EMOJI)
    truth = [json.loads(v) for s, v in rows if s == "_truth"]
    fake_share = sum(t["is_fake"] for t in truth) / len(truth)
    assert 0.05 < fake_share < 0.12
    assert len({t["country"] for t in truth}) >= 30


def test_broken_records_of_every_kind_are_present():
    rows = _chunk(users=2 * CHUNK_USERS) + _chunk(chunk=1, users=2 * CHUNK_USERS)
    kinds = collections.Counter()
    seen = set()
    for s, v in rows:
        if s not in ("profiles", "posts"):
            continue
        try:
            rec = json.loads(v)
        except json.JSONDecodeError:
            kinds["malformed"] += 1
            continue
        if s == "profiles":
            if "id" not in rec:
                kinds["missing_id"] += 1
            elif isinstance(rec["follower_count"], str):
                kinds["wrong_type"] += 1
            elif rec["media_count"] < 0:
                kinds["negative"] += 1
            elif rec["biography"] == "stale snapshot":
                kinds["out_of_order"] += 1
            elif v in seen:
                kinds["duplicate"] += 1
            seen.add(v)
        elif len(rec.get("caption") or "") > 10_000:
            kinds["enormous_caption"] += 1
    assert set(kinds) == {"malformed", "missing_id", "wrong_type", "negative", "out_of_order", "duplicate",
                          "enormous_caption"}, kinds


def test_the_cli_refuses_to_put_a_world_beside_real_landing_files(monkeypatch):
    from click.testing import CliRunner

    from world.generate import main

    monkeypatch.delenv("DEMOGRAPHICS_NAMESPACE", raising=False)
    result = CliRunner().invoke(main, ["--users", "10"])
    assert result.exit_code == 2 and "DEMOGRAPHICS_NAMESPACE=demo/10-users" in result.output


def test_locations_are_stated_by_a_few_as_people_write_them_and_truth_stays_home():
    from jobs.labellers.stated_location import stated_country

    rows = _chunk()
    truth = {t["user_id"]: t for t in (json.loads(v) for s, v in rows if s == "_truth")}
    profiles = {}
    for s, v in rows:
        if s == "profiles":
            try:
                rec = json.loads(v)
            except json.JSONDecodeError:
                continue
            if "id" in rec and rec.get("biography") != "stale snapshot":
                profiles[rec["id"]] = rec
    addresses = {u: p["business_address_json"] for u, p in profiles.items() if p.get("business_address_json")}
    assert 0.004 < len(addresses) / len(truth) < 0.03  # a dedicated field: a small share of profiles
    assert all(profiles[u].get("is_business_account") and profiles[u].get("business_category_name") for u in addresses)
    written = [json.loads(a)["city_name"] for a in addresses.values() if a.endswith("}")]
    assert any(not c.isascii() for c in written)  # local scripts and accents
    assert any("," in c for c in written)  # "City, State" / "City, Country"
    outcomes = collections.Counter()
    right = wrong = 0
    for u, p in profiles.items():
        status, iso, _ = stated_country(p.get("business_address_json"), p.get("biography"))
        outcomes[status] += 1
        if status == "labelled":
            right, wrong = right + (iso == truth[u]["home"]), wrong + (iso != truth[u]["home"])
    for reason in ("not_a_place", "several_countries", "ambiguous_place"):
        assert outcomes[reason] > 0, outcomes
    assert 0.02 < (right + wrong) / len(truth) < 0.1, outcomes
    assert right / (right + wrong) > 0.9  # the labeller's mistakes are the world's look-alike names
    # Travellers post other countries' flags: captions are evidence, never the truth.
    from jobs.places import flag_countries

    foreign = set()
    for s, v in rows:
        if s == "posts" and v.endswith("}"):
            post = json.loads(v)
            t = truth.get(post.get("user_id"))
            if t and not t["is_fake"] and set(flag_countries(post["caption"])) - {t["home"]}:
                foreign.add(post["user_id"])
    assert 0.03 < len(foreign) / len(truth) < 0.2
