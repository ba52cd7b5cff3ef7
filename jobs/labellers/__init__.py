"""Labellers by label source: each turns one kind of evidence into a target's labels.

A labeller is `label(spark, config, tdef) -> (outcome, summary)`: outcome has one row per user it
judged (user_id, status, label, evidence), `status == "labelled"` rows carrying a class of the
target. `jobs.labels --target T` runs the labellers of T's label sources; sources without one
(import, manual) arrive through ingest.
"""
from __future__ import annotations

import importlib

LABELLERS = {"facebook_link": "jobs.labellers.facebook_link", "stated_occupation": "jobs.labellers.stated_occupation",
             "stated_location": "jobs.labellers.stated_location"}


def labeller(source: str):
    """The source's label function, or None for sources that arrive through ingest."""
    module = LABELLERS.get(source)
    return importlib.import_module(module).label if module else None
