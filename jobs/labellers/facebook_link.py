"""The `facebook_link` labeller: Facebook profile links in bios -> fb_links; their public gender -> labels.

Rules (each case is counted in the job summary):
- not_found: no linked key matches a row of fb_profiles -> no label.
- shared_profile: a Facebook profile claimed by more than one Instagram user gives no label to
  any of them; we cannot tell the owner from a fan, a partner or a shop.
- conflicting_links: a user linking profiles with different public genders -> no label. Two
  links to profiles of the same gender give that label.
- no_public_gender / custom_gender: the profile hides its gender or uses a custom one -> no
  label (only the target's classes are labels).
The fb_links table is rebuilt from scratch each run, so a rerun gives the same table.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from runtime import delta_io
from runtime.config import PipelineConfig
from jobs.fb_links import extract_links


def fb_key_lookup(fb_profiles: DataFrame) -> DataFrame:
    """(fb_key, fb_id, gender): each Facebook profile under both its numeric and its vanity key."""
    by_id = fb_profiles.select(F.concat(F.lit("id:"), F.col("fb_id").cast("string")).alias("fb_key"), "fb_id", "gender")
    by_name = (fb_profiles.where(F.col("fb_username").isNotNull())
               .select(F.concat(F.lit("u:"), F.lower("fb_username")).alias("fb_key"), "fb_id", "gender"))
    return by_id.unionByName(by_name).dropDuplicates(["fb_key"])


def resolve_links(links: DataFrame, fb_profiles: DataFrame, classes=("female", "male")) -> DataFrame:
    """Per user: its distinct keys and what they resolve to -> (user_id, status, label, evidence).
    A public gender outside the target's classes is no label."""
    links = links.where(F.col("fb_key").isNotNull()).select("user_id", "fb_key").distinct()
    # `exists` tells a missing profile from a profile whose gender is hidden (null).
    lookup = fb_key_lookup(fb_profiles).withColumn("exists", F.lit(True))
    resolved = (links.join(lookup, "fb_key", "left")
                # One profile written two ways (vanity name, numeric id) is one profile.
                .withColumn("profile", F.coalesce(F.col("fb_id").cast("string"), F.col("fb_key"))))
    claims = resolved.groupBy("profile").agg(F.countDistinct("user_id").alias("claimants"))
    resolved = resolved.join(claims, "profile")
    per_user = resolved.groupBy("user_id").agg(
        F.max(F.col("claimants") > 1).alias("shared"),
        F.max(F.coalesce("exists", F.lit(False))).alias("any_found"),
        F.array_sort(F.collect_set(F.when(F.col("gender").isin(*classes), F.col("gender")))).alias("genders"),
        F.max(F.col("gender") == "custom").alias("any_custom"),
        F.array_join(F.array_sort(F.collect_set("fb_key")), ",").alias("evidence"),
    )
    status = (F.when(F.col("shared"), "shared_profile")
              .when(~F.col("any_found"), "not_found")
              .when(F.size("genders") > 1, "conflicting_links")
              .when(F.size("genders") == 1, "labelled")
              .when(F.coalesce("any_custom", F.lit(False)), "custom_gender")
              .otherwise("no_public_gender"))
    return per_user.select("user_id", status.alias("status"),
                           F.when(status == "labelled", F.col("genders")[0]).alias("label"), "evidence")


def fb_links_rows(links: DataFrame, run_date) -> DataFrame:
    """One row per user with a profile link: its smallest key (stable), and how many it had."""
    good = links.where(F.col("fb_key").isNotNull())
    return (good.groupBy("user_id").agg(
        F.min(F.struct("fb_key", "url", "found_in")).alias("first"),
        F.countDistinct("fb_key").cast("int").alias("n_distinct_keys"))
        .select("user_id", "first.fb_key", "first.url", "first.found_in", "n_distinct_keys",
                F.lit(run_date).cast("date").alias("run_date")))


def label(spark: SparkSession, config: PipelineConfig, tdef) -> tuple[DataFrame, dict]:
    """(user_id, status, label, evidence) of every user with a profile link; writes fb_links."""
    profiles = delta_io.read_table(spark, config, "profiles")
    fb_profiles = delta_io.read_table(spark, config, "fb_profiles")
    links = extract_links(profiles).cache()
    summary = {"link_candidates": links.count(), "rejected_not_profile": links.where(F.col("fb_key").isNull()).count()}
    delta_io.replace_where(config, "fb_links", fb_links_rows(links, config.run_date), "true")
    # Materialised: the caller counts and writes it after `links` is released.
    outcome = resolve_links(links, fb_profiles, tdef.classes).localCheckpoint()
    links.unpersist()
    summary["users_with_profile_links"] = outcome.count()
    return outcome, summary
