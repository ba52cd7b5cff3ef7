"""Bring your own data: profiles, posts and a labels file delivered as landing files pass through
ingest like any night -- bad label records quarantined with their reason, labels by username
resolved, higher-priority labels kept, reruns unchanged, a file in another encoding refused."""
import datetime as dt
import json

import pytest
from pyspark.sql import functions as F

from jobs import ingest
from runtime import delta_io
from runtime.config import PipelineConfig

NIGHT = dt.date(2026, 11, 23)


def _write(folder, name, lines, encoding="utf-8"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(("\n".join(lines) + "\n").encode(encoding))


def _profile(uid, username, bio="", name=""):
    return json.dumps({"id": uid, "username": username, "full_name": name, "biography": bio,
                       "fetched_at": "2026-11-23T10:00:00Z"}, ensure_ascii=False)


@pytest.fixture()
def own_night(tmp_path):
    cfg = PipelineConfig(warehouse=str(tmp_path / "wh"), landing=str(tmp_path / "landing"), run_date=NIGHT, shards=2)
    night = tmp_path / "landing" / str(NIGHT)
    _write(night / "source=profiles", "part-0.json",
           [_profile(1, "ana", "Mamá de dos ☕", "Ana"), _profile(2, "Bob_1"), _profile(3, "cleo"), _profile(4, "dan")])
    _write(night / "source=posts", "part-0.json",
           [json.dumps({"id": 10, "user_id": 1, "caption": "café #lisboa", "fetched_at": "2026-11-23T10:00:00Z"})])
    labels = [
        {"user_id": 1, "target": "gender", "label": "female", "evidence": "survey 2026"},
        {"username": "BOB_1", "target": "gender", "label": "male"},           # by username, any case
        {"user_id": 3, "target": "gender", "label": "robot"},                 # not a class of gender
        {"user_id": 3, "target": "shoe_size", "label": "42"},                 # no such target
        {"target": "gender", "label": "male"},                                # nobody
        {"username": "nobody_here", "target": "gender", "label": "male"},     # no such profile
        {"user_id": 4, "target": "gender", "label": "male"},                  # two answers for one user
        {"user_id": 4, "target": "gender", "label": "female"},
        {"user_id": 1, "target": "gender", "label": "female", "evidence": "survey 2026"},  # an exact repeat
    ]
    _write(night / "source=labels", "labels.json", [json.dumps(r) for r in labels])
    return cfg


def test_imported_labels_land_with_reasons_for_the_rest(spark, own_night):
    cfg = own_night
    summary = ingest.run(spark, cfg)
    labels = {(r["user_id"], r["label"], r["source"], r["evidence"])
              for r in delta_io.read_table(spark, cfg, "labels").collect()}
    assert labels == {(1, "female", "import", "survey 2026"), (2, "male", "import", "import:labels.json")}
    assert summary["labels"]["inserted"] == 2
    assert summary["labels"]["quarantined"] == {"conflicting_labels": 2, "invalid:label": 1, "invalid:target": 1,
                                                "missing:user_id_or_username": 1, "unknown_user": 1}
    quarantine = delta_io.read_table(spark, cfg, "quarantine").where(F.col("source") == "labels")
    assert quarantine.count() == 6 and quarantine.where(F.col("raw").contains("robot")).count() == 1
    # A profile's text arrives intact (UTF-8 end to end).
    texts = delta_io.read_table(spark, cfg, "user_texts").where("user_id = 1").first()
    assert texts["biography"] == "Mamá de dos ☕" and texts["captions"] == ["café #lisboa"]
    # Rerun: the same tables.
    again = ingest.run(spark, cfg)
    assert again["labels"]["unchanged"] == 2 and again["labels"]["inserted"] == again["labels"]["updated"] == 0
    assert delta_io.read_table(spark, cfg, "labels").count() == 2
    assert delta_io.read_table(spark, cfg, "quarantine").where(F.col("source") == "labels").count() == 6


def test_a_manual_label_outranks_an_import_and_an_import_outranks_facebook(spark, own_night):
    cfg = own_night
    existing = spark.createDataFrame(
        [(1, "gender", "male", "manual", "checked by hand", NIGHT), (2, "gender", "female", "facebook_link", "id:9", NIGHT)],
        "user_id long, target string, label string, source string, evidence string, run_date date")
    delta_io.replace_where(cfg, "labels", existing, "true")
    summary = ingest.run(spark, cfg)
    got = {r["user_id"]: (r["label"], r["source"]) for r in delta_io.read_table(spark, cfg, "labels").collect()}
    assert got == {1: ("male", "manual"), 2: ("male", "import")}
    assert summary["labels"]["kept_higher_priority"] == 1 and summary["labels"]["updated"] == 1


def test_a_file_in_another_encoding_is_refused_with_a_clear_error(spark, tmp_path):
    cfg = PipelineConfig(warehouse=str(tmp_path / "wh"), landing=str(tmp_path / "landing"), run_date=NIGHT, shards=2)
    night = tmp_path / "landing" / str(NIGHT)
    names = ["José", "Zoë", "François", "Müller", "Ångström", "Łukasz"]
    _write(night / "source=profiles", "latin1.json",
           [_profile(i + 1, f"u{i}", f"{n} é", n) for i, n in enumerate(names[:5])], encoding="latin-1")
    with pytest.raises(ValueError, match="latin1.json is not UTF-8"):
        ingest.run(spark, cfg)


def test_crowdflower_rows_become_landing_records_in_utf8(tmp_path):
    """The converter decodes the latin-1 CSV and writes UTF-8 landing lines; only male/female
    judged with confidence 1 become labels."""
    from jobs import crowdflower

    csv = tmp_path / "cf.csv"
    rows = ["_unit_id,gender,gender:confidence,description,text,name",
            "1,female,1,Mamá café,hola #día,zoë",
            "2,male,0.6,,hi,bob",
            "3,brand,1,shop,buy,acme",
            "4,male,1,,yo,josé"]
    csv.write_bytes("\r\n".join(rows).encode("latin-1"))
    records = crowdflower.landing_records(crowdflower.read_csv(csv), NIGHT)
    assert records["labels"][["user_id", "label"]].values.tolist() == [
        [crowdflower.ID_BASE + 1, "female"], [crowdflower.ID_BASE + 4, "male"]]
    cfg = PipelineConfig(warehouse=str(tmp_path / "wh"), landing=str(tmp_path / "landing"), run_date=NIGHT)
    paths = crowdflower.write_landing(records, cfg)
    profiles = [json.loads(line) for line in open(paths[0], encoding="utf-8")]
    assert [p["full_name"] for p in profiles] == ["zoë", "bob", "acme", "josé"] and profiles[0]["biography"] == "Mamá café"
    assert set(profiles[0]) == {"id", "username", "full_name", "biography", "fetched_at"}
