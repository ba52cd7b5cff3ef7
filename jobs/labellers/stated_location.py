"""The `stated_location` labeller: where a profile says it lives (jobs.places) -> a country label.

Evidence, strongest first: the business profile's `business_address_json` (its coordinates,
then its city name), then explicit bio statements (📍 City, "based in …", flags, "🇧🇷➡️🇵🇹").
A country outside the target's classes is OTHER. Outcomes counted in the job summary: labelled,
ambiguous_place, several_countries, unknown_place, not_a_place; profiles stating nothing are
not outcomes. The reason given for an unlabelled user is its address's when it has one.
"""
from __future__ import annotations

from typing import Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from runtime import delta_io
from runtime.config import PipelineConfig

OUTCOME_SCHEMA = "user_id long, status string, label string, evidence string"


def stated_country(address_json: str | None, bio: str | None) -> tuple[str, str | None, str]:
    """(status, iso, evidence) from the address, else the bio."""
    from jobs.places import address_place, bio_place

    address = address_place(address_json)
    if address[0] == "labelled":
        return address
    bio = bio_place(bio)
    if bio[0] == "labelled" or address[0] == "no_statement":
        return bio
    return address


def mask_bio(bio: str | None) -> str | None:
    """The bio without its place statements (a model fitted on stating users learns what speaks
    for users who state nothing, and its thresholds are set on bios like theirs)."""
    from jobs.places import without_statements

    return without_statements(bio)


def country_class(classes) -> Callable[[str], str | None]:
    """ISO country -> itself when a class, else OTHER when the target has it, else None."""
    classes = set(classes)
    other = "OTHER" if "OTHER" in classes else None
    return lambda iso: iso if iso in classes else other


def _label_batches(batches, class_of):
    import pandas as pd

    for batch in batches:
        out = [stated_country(a, b) for a, b in zip(batch["business_address_json"], batch["biography"])]
        labels = [None if iso is None else class_of(iso) for _, iso, _ in out]
        yield pd.DataFrame({"user_id": batch["user_id"].to_numpy(), "status": [o[0] for o in out],
                            "label": labels,
                            "evidence": [f"{ev} -> {iso}" if iso else ev for _, iso, ev in out]})


def location_outcomes(profiles: DataFrame, classes, class_of=None) -> DataFrame:
    """(user_id, status, label, evidence) of every profile stating a place; the stated ISO
    country becomes the class `class_of` gives (default country_class(classes)), a country it
    gives none for is `not_a_class`."""
    class_of = class_of or country_class(classes)
    stating = (profiles.where((F.length("biography") > 0) | F.col("business_address_json").isNotNull())
               .select("user_id", "biography", "business_address_json"))
    out = (stating.mapInPandas(lambda it: _label_batches(it, class_of), OUTCOME_SCHEMA)
           .where(F.col("status") != "no_statement"))
    return out.withColumn("status", F.when((F.col("status") == "labelled") & F.col("label").isNull(), "not_a_class")
                          .otherwise(F.col("status")))


def label(spark: SparkSession, config: PipelineConfig, tdef) -> tuple[DataFrame, dict]:
    profiles = delta_io.read_table(spark, config, "profiles")
    outcome = location_outcomes(profiles, tdef.classes).localCheckpoint()
    return outcome, {"users_stating_a_place": outcome.count()}
