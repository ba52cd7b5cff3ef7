"""Data-quality checks on a night's predictions (no JVM: delta-rs writes the tiny tables)."""
import datetime as dt

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from runtime.config import PipelineConfig
from jobs.quality import QualityError, check_predictions, publish_marker

NIGHT = "2026-11-22"


def _tables(tmp_path, rows):
    cfg = PipelineConfig(warehouse=str(tmp_path / "warehouse"))
    write_deltalake(cfg.table_path("profiles"), pa.table({"user_id": pa.array(range(10), pa.int64()),
                                                          "shard": pa.array([i % 2 for i in range(10)], pa.int32())}))
    probs = pa.map_(pa.string(), pa.float32())
    write_deltalake(cfg.table_path("predictions"), pa.table({
        "user_id": pa.array([r[0] for r in rows], pa.int64()),
        "shard": pa.array([r[0] % 2 for r in rows], pa.int32()),
        "target": ["gender"] * len(rows),
        "label": [r[1] for r in rows],
        "probabilities": pa.array([list(r[2].items()) for r in rows], probs),
        "run_date": pa.array([dt.date.fromisoformat(NIGHT)] * len(rows), pa.date32()),
    }))
    return cfg


GOOD = [(i, "female" if i % 2 else "male", {"female": 0.8 if i % 2 else 0.2, "male": 0.2 if i % 2 else 0.8})
        for i in range(10)]


def test_a_good_night_passes_and_is_published(tmp_path):
    cfg = _tables(tmp_path, GOOD)
    report = check_predictions(NIGHT, "gender", cfg)
    assert report["predictions"] == 10 and report["labels"] == {"female": 5, "male": 5}
    path = publish_marker(NIGHT, report, cfg)
    assert path.endswith(f"_published/gender/{NIGHT}.json")


@pytest.mark.parametrize("rows,why", [
    (GOOD + [GOOD[0]], "duplicated users"),
    (GOOD[:-1] + [(9, "other", {"female": 0.5, "male": 0.5})], "unknown labels"),
    (GOOD[:-1] + [(9, "male", {"female": 0.5, "male": 0.9})], "do not sum to 1"),
    ([(i, "uncertain", {"female": 0.5, "male": 0.5}) for i in range(10)], "uncertain"),
    (GOOD + [(i, "male", {"female": 0.1, "male": 0.9}) for i in range(10, 15)], "more predictions"),
])
def test_each_broken_night_fails_with_its_reason(tmp_path, rows, why):
    cfg = _tables(tmp_path, rows)
    with pytest.raises(QualityError, match=why):
        check_predictions(NIGHT, "gender", cfg)


def test_only_the_scored_shards_are_counted(tmp_path):
    odd = [r for r in GOOD if r[0] % 2]
    cfg = _tables(tmp_path, odd)  # shard 1 scored, shard 0 not
    report = check_predictions(NIGHT, "gender", cfg, shards=[1])
    assert (report["predictions"], report["profiles"], report["shards"]) == (5, 5, [1])
    with pytest.raises(QualityError, match="5 of 10 profiles have no prediction"):
        check_predictions(NIGHT, "gender", cfg)
    with pytest.raises(QualityError, match="no predictions"):
        check_predictions(NIGHT, "gender", cfg, shards=[0])


def test_a_night_without_predictions_fails(tmp_path):
    cfg = _tables(tmp_path, GOOD)
    with pytest.raises(QualityError, match="no predictions"):
        check_predictions("2026-11-23", "gender", cfg)
    with pytest.raises(QualityError, match="no table"):
        check_predictions(NIGHT, "gender", PipelineConfig(warehouse=str(tmp_path / "empty")))
