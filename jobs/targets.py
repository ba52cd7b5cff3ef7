"""Targets are configuration: classes, label sources (by priority) and feature families.

Adding a target means adding a TargetDef here, not writing a pipeline.
"""
from __future__ import annotations

from dataclasses import dataclass

from jobs import world_vocab

# Higher wins when a user has labels from several sources for one target.
SOURCE_PRIORITY = {"manual": 4, "import": 3, "facebook_link": 2, "stated_location": 1}

# char3 is left out: its 3-grams are all in char, and counting them twice measurably hurt.
TEXT_FAMILIES = ("hashtag", "mention", "word", "char", "emoji", "bio_word", "bio_char", "name_word", "name_char")


@dataclass(frozen=True)
class TargetDef:
    name: str
    classes: tuple[str, ...]
    label_sources: tuple[str, ...]
    families: tuple[str, ...]
    model_family: str = "mlp"

    def __post_init__(self):
        unknown = set(self.label_sources) - set(SOURCE_PRIORITY)
        if unknown:
            raise ValueError(f"{self.name}: unknown label sources {sorted(unknown)}")


TARGETS: dict[str, TargetDef] = {
    t.name: t for t in (
        TargetDef("gender", ("female", "male"), ("facebook_link", "import", "manual"), TEXT_FAMILIES),
        TargetDef("country", tuple(world_vocab.COUNTRIES) + ("OTHER",), ("stated_location", "import", "manual"),
                  TEXT_FAMILIES),
        TargetDef("authenticity", ("authentic", "fake"), ("import", "manual"), ("hashtag", "word", "bio_word")),
        TargetDef("occupation", tuple(world_vocab.OCCUPATIONS), ("import", "manual"), TEXT_FAMILIES),
    )
}


def target_def(name: str) -> TargetDef:
    try:
        return TARGETS[name]
    except KeyError:
        raise KeyError(f"unknown target {name!r}; known: {sorted(TARGETS)}") from None
