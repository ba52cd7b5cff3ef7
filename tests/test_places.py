"""The stated_location labeller: place texts as people write them -> a country or a reason."""
import pytest

from jobs.places import address_place, bio_place, flag_countries, resolve_place


@pytest.mark.parametrize("text,expected", [
    # Latin script, accents and case as typed
    ("München", "DE"), ("munchen", "DE"), ("São Paulo - SP", "BR"), ("Leipzig, Deutschland", "DE"),
    ("Roma, Italia", "IT"), ("İzmir, Türkiye", "TR"), ("Paris", "FR"), ("Kyiv", "UA"),
    # a qualifier picks the country of a name several carry
    ("Paris, TX", "US"), ("Phoenix, AZ", "US"), ("London, Canada", "CA"),
    # abbreviations the gazetteer lists
    ("NYC", "US"),
    # other scripts: Cyrillic, CJK, Hangul, Arabic, Persian, Greek, Hebrew, Thai
    ("Москва", "RU"), ("東京", "JP"), ("上海", "CN"), ("서울", "KR"), ("القاهرة", "EG"), ("تهران", "IR"),
    ("Αθήνα", "GR"), ("תל אביב", "IL"), ("กรุงเทพมหานคร", "TH"),
    # country names in many languages
    ("Deutschland", "DE"), ("Россия", "RU"), ("ブラジル", "BR"), ("Brasil", "BR"), ("USA", "US"),
    # a flag beside a place the gazetteer lacks; a flag alone
    ("Dornbirn 🇦🇹", "AT"), ("🇵🇹", "PT"),
    # a move: the place moved to
    ("🇧🇷➡️🇵🇹", "PT"), ("Lisboa -> Berlin", "DE"),
])
def test_places_resolve_to_their_country(text, expected):
    assert resolve_place(text) == ("labelled", expected)


@pytest.mark.parametrize("text,reason", [
    ("Valencia", "ambiguous_place"),       # Venezuela's and Spain's, neither five times the other
    ("Mérida", "ambiguous_place"),
    ("Paris | London", "several_countries"),
    ("Berlin 🇫🇷", "several_countries"),
    ("Москва / 東京", "several_countries"),
    ("Zxqwville", "unknown_place"),
    ("Earth 🌍", "not_a_place"), ("worldwide", "not_a_place"), ("DM for collabs", "not_a_place"),
    ("🌍", "not_a_place"), ("", "not_a_place"), (None, "not_a_place"),
])
def test_places_that_give_no_country_say_why(text, reason):
    assert resolve_place(text) == (reason, None)


def test_flags_are_read_as_iso_codes():
    assert flag_countries("love 🇫🇷 and 🇯🇵!") == ["FR", "JP"]
    assert flag_countries("no flag 🌍") == []


def test_address_coordinates_beat_an_ambiguous_name_and_bad_json_says_nothing():
    assert address_place('{"city_name": "Valencia", "latitude": 39.47, "longitude": -0.37}')[:2] == ("labelled", "ES")
    assert address_place('{"city_name": "Valencia"}')[:2] == ("ambiguous_place", None)
    assert address_place('{"city_name": "Valencia", "latitude": 0.0, "longitude": -160.0}')[:2] == (
        "ambiguous_place", None)  # mid-ocean: no city near, the name decides
    assert address_place('{"city_name": "Val')[0] == "no_statement"
    assert address_place('{"city_name": "", "zip_code": "123"}')[0] == "no_statement"


@pytest.mark.parametrize("bio,expected", [
    ("law student | 📍 London, United Kingdom 🇬🇧", ("labelled", "GB")),
    ("designer | 📍 rennes", ("labelled", "FR")),
    ("manhattan based", ("labelled", "US")),
    ("💪 | אילת based", ("labelled", "IL")),
    ("moro em Recife", ("labelled", "BR")),
    ("vivo en Bogotá | 🇨🇴", ("labelled", "CO")),
    ("живу в Москва", ("labelled", "RU")),
    ("🏠 Deutschland", ("labelled", "DE")),
    ("coach | 🇸🇪➡️🇺🇸", ("labelled", "US")),
    ("I love 🇫🇷 and 🇮🇹", ("several_countries", None)),
    ("📍 Paris | 🇬🇧", ("several_countries", None)),
    ("based in Valencia", ("ambiguous_place", None)),
    ("📍 everywhere", ("not_a_place", None)),
])
def test_bio_statements(bio, expected):
    assert bio_place(bio)[:2] == expected


def test_a_bio_that_states_no_place_is_no_outcome():
    # a city named in passing is no statement of where one lives
    assert bio_place("Paris was lovely | photographer")[0] == "no_statement"
    assert bio_place(None)[0] == "no_statement"


def test_location_labeller_maps_outside_countries_to_other_and_prefers_the_address(spark):
    from jobs.labellers.stated_location import location_outcomes
    from jobs.targets import target_def

    rows = [(1, None, '{"city_name": "Lisboa"}'), (2, "📍 Berlin", '{"city_name": "Paris"}'),
            (3, "📍 Berlin", '{"city_name": "worldwide"}'), (4, "just vibes", None), (5, "📍 Valencia", None),
            (6, None, '{"city_name": "Paris | London"}')]
    profiles = spark.createDataFrame(rows, "user_id long, biography string, business_address_json string")
    out = {r["user_id"]: (r["status"], r["label"]) for r in
           location_outcomes(profiles, target_def("country").classes).collect()}
    assert out == {1: ("labelled", "OTHER"), 2: ("labelled", "FR"), 3: ("labelled", "DE"),
                   5: ("ambiguous_place", None), 6: ("several_countries", None)}


@pytest.mark.parametrize("bio,left", [
    ("Mom of 2 | 📍 Lyon | #MomLife", "Mom of 2 | | #MomLife"), ("Berlin based photographer", "photographer"),
    ("coffee 🇧🇷➡️🇵🇹 dreamer", "coffee dreamer"), ("living in Москва • йога", "• йога"),
    ("just vibes 🇩🇪", "just vibes"), ("Paris was lovely", "Paris was lovely"),
])
def test_masked_bios_state_no_place(bio, left):
    from jobs.places import without_statements

    assert without_statements(bio) == left and bio_place(left)[0] == "no_statement"


def test_fitting_texts_mask_the_statements_of_location_targets_only(spark):
    """What produced a country label is not what the country model reads; gender's bios stay."""
    from jobs.targets import target_def
    from jobs.texts import fitting_texts

    texts = spark.createDataFrame([(1, "📍 Berlin | DJ", "A", []), (2, "🇯🇵 sushi", "B", ["#tokyo"]), (3, "📍 Rome", "C", [])],
                                  "user_id long, biography string, full_name string, captions array<string>")
    labelled = spark.createDataFrame([(1, "DE"), (2, "JP")], "user_id long, label string")
    bios = {r["user_id"]: r["biography"] for r in fitting_texts(texts, labelled, target_def("country")).collect()}
    assert bios == {1: "| DJ", 2: "sushi"}
    kept = {r["user_id"]: r["biography"] for r in fitting_texts(texts, labelled, target_def("gender")).collect()}
    assert kept == {1: "📍 Berlin | DJ", 2: "🇯🇵 sushi"}


def test_class_precision_thresholds_are_set_on_one_split_and_hold_on_another():
    import numpy as np

    from jobs.evaluation import NEVER, class_precision_thresholds, per_class_at_thresholds

    rng = np.random.default_rng(0)

    def users(n):  # class 0 is often mistaken for class 1 unless confident; class 2 is rare
        y = rng.choice(3, n, p=[0.6, 0.38, 0.02])
        conf = rng.uniform(0.5, 1.0, n)
        right = rng.random(n) < np.where(y == 0, conf ** 4, 0.97)
        pred = np.where(right, y, (y + 1) % 3)
        probs = np.full((n, 3), 0.0)
        probs[np.arange(n), pred] = conf
        probs[np.arange(n), (pred + 1) % 3] = 1 - conf
        return y, probs

    thresholds = class_precision_thresholds(*users(4000), 0.9)
    assert thresholds[0] < 0.55 < 0.75 < thresholds[1] < 1.0  # class 0's users all kept, class 1's surest only
    held_out = per_class_at_thresholds(*users(20000), thresholds, ["a", "b", "c"])
    for name in ("a", "b"):
        assert held_out[name]["precision"] > 0.87, held_out  # reported on users the thresholds never saw
    few = class_precision_thresholds(np.array([0, 0, 1]), np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]]), 0.9)
    assert list(few) == [NEVER, NEVER]  # too few predictions to vouch for a precision


def test_cross_fitted_probabilities_come_from_models_that_never_saw_the_user():
    import numpy as np

    from jobs.evaluation import cross_fitted_probs, threshold_fold

    ids = np.arange(1000, 1600)
    seen_by = {}

    def fit_and_score(fit, score):  # a "model" that returns which users it was fitted on
        assert not (fit & score).any()
        fitted = set(ids[fit].tolist())
        for i in ids[score]:
            seen_by[int(i)] = fitted
        return np.tile([len(fitted), 0.0], (int(score.sum()), 1))

    probs = cross_fitted_probs(ids, 5, fit_and_score)
    assert set(seen_by) == set(ids.tolist())  # every user scored once
    assert all(i not in fitted for i, fitted in seen_by.items())
    folds = np.bincount(threshold_fold(ids, 5), minlength=5)
    assert folds.min() > 80 and probs[:, 0].max() < len(ids)  # five real folds, none fitted on everyone
    assert np.array_equal(threshold_fold(ids, 5), threshold_fold(ids[::-1], 5)[::-1])  # by id, not by order
