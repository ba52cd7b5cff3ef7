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


def test_an_audience_source_must_count_the_same_classes_itself():
    from jobs.targets import _check_audience_sources, audience_counters

    two = ("female", "male")
    fine = {"g": TargetDef("g", two, ("manual",), ("word",), audience_from="n"),
            "n": TargetDef("n", two, ("manual",), ("name_word",))}
    _check_audience_sources(fine)
    for source in (TargetDef("n", ("a", "b"), ("manual",), ("name_word",)),  # other classes
                   TargetDef("n", two, ("manual",), ("name_word",), audience_from="g")):  # a chain
        with pytest.raises(ValueError, match="audience_from"):
            _check_audience_sources({**fine, "n": source})
    with pytest.raises(ValueError, match="audience_from"):
        _check_audience_sources({"g": fine["g"]})  # a source that is not a target
    assert audience_counters() == {"gender_name"}
    # gender's counting model reads the name alone, none of the follow-topic families
    assert set(TARGETS["gender_name"].families) == {"name_word", "name_char"}
