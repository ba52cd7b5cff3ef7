"""Target definitions refuse what they cannot train."""
import pytest

from jobs.targets import TARGETS, TargetDef


def test_twin_is_offered_to_binary_targets_only():
    assert "twin" in TARGETS["gender"].model_families
    assert "twin" not in TARGETS["occupation"].model_families
    assert "mlp1" in TARGETS["occupation"].model_families
    with pytest.raises(ValueError, match="twin"):
        TargetDef("colour", ("red", "green", "blue"), ("manual",), ("word",), model_family="twin")


def test_unknown_sources_and_families_are_refused():
    with pytest.raises(ValueError, match="label sources"):
        TargetDef("colour", ("red", "blue"), ("rumour",), ("word",))
    with pytest.raises(ValueError, match="model family"):
        TargetDef("colour", ("red", "blue"), ("manual",), ("word",), model_family="forest")
