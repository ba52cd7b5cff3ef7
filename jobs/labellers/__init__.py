"""Labellers by label source: each turns one kind of evidence into a target's labels.

A labeller is `label(spark, config, tdef) -> (outcome, summary)`: outcome has one row per user it
judged (user_id, status, label, evidence), `status == "labelled"` rows carrying a class of the
target. `jobs.labels --target T` runs the labellers of T's label sources; sources without one
(import, manual) arrive through ingest. A labeller that reads the bio also offers
`mask_bio(bio) -> bio`: the bio without what produced its labels, which is all that a model
fitted on its users may read of the bio (jobs.texts.fitting_texts).
"""
from __future__ import annotations

import importlib

LABELLERS = {"facebook_link": "jobs.labellers.facebook_link", "stated_occupation": "jobs.labellers.stated_occupation",
             "stated_location": "jobs.labellers.stated_location", "stated_region": "jobs.labellers.stated_region",
             "stand_in_annotator": "jobs.labellers.stand_in_annotator",
             "stand_in_panel": "jobs.labellers.stand_in_panel"}


def labeller(source: str):
    """The source's label function, or None for sources that arrive through ingest."""
    module = LABELLERS.get(source)
    return importlib.import_module(module).label if module else None


def bio_mask(tdef):
    """One function applying the bio masks of the target's label sources, or None when none has one."""
    masks = [m for m in (getattr(importlib.import_module(LABELLERS[s]), "mask_bio", None)
                         for s in tdef.label_sources if s in LABELLERS) if m is not None]
    if not masks:
        return None

    def masked(bio):
        for mask in masks:
            bio = mask(bio)
        return bio
    return masked
