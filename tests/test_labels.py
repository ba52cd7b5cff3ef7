"""Label rules on tiny frames, and Facebook labels on a generated world against its hidden truth."""

from pyspark.sql import functions as F

from jobs import labels
from jobs.labellers import facebook_link
from jobs.targets import target_def
from tests.conftest import NIGHT, world_copy

FB = [(1, "ann.smith", "female"), (2, "bob.jones", "male"), (3, None, "male"), (4, "kim.lee1", "custom"),
      (5, "sam.hide", None), (6, "zoe.roe1", "female"), (7, "max.payne", "male"),
      (8, "eve.adams", "female"), (9, "tom.brown", "male")]


def _resolve(spark, links, existing=()):
    fb = spark.createDataFrame(FB, "fb_id long, fb_username string, gender string")
    lk = spark.createDataFrame(links, "user_id long, fb_key string")
    ex = spark.createDataFrame(list(existing), "user_id long, target string, label string, source string")
    tdef = target_def("gender")
    rows, outcome = labels.source_labels(facebook_link.resolve_links(lk, fb, tdef.classes), ex, tdef,
                                         "facebook_link", NIGHT)
    return ({r["user_id"]: r["status"] for r in outcome.collect()},
            {r["user_id"]: r["label"] for r in rows.collect()})


def test_each_rule(spark):
    status, got = _resolve(spark, [
        (10, "u:ann.smith"),                       # labelled by vanity name
        (11, "id:3"),                              # labelled by numeric id
        (12, "u:bob.jones"), (13, "u:bob.jones"),  # one profile, two claimants
        (14, "id:8"), (14, "id:9"),                # two links, different genders
        (15, "u:ann.smith"), (15, "id:6"),         # ann.smith is also claimed by user 10...
        (16, "id:6"), (16, "u:zoe.roe1"),          # profile 6 by id and by name; also claimed by 15
        (17, "u:kim.lee1"), (18, "u:sam.hide"), (19, "u:nobody.here"), (20, None),
        (21, "id:7"), (22, "u:max.payne"),         # one profile written two ways by two users
    ])
    assert status[10] == status[15] == "shared_profile"  # ann.smith claimed by 10 and 15
    assert status[11] == "labelled" and got[11] == "male"
    assert status[12] == status[13] == "shared_profile"
    assert status[14] == "conflicting_links"
    assert status[17] == "custom_gender" and status[18] == "no_public_gender" and status[19] == "not_found"
    assert 20 not in status
    assert status[16] == "shared_profile"
    assert status[21] == status[22] == "shared_profile"
    assert set(got) == {11}


def test_two_links_with_the_same_gender_label_the_user(spark):
    status, got = _resolve(spark, [(30, "id:1"), (30, "id:6")])
    assert status[30] == "labelled" and got[30] == "female"


def test_higher_priority_labels_are_kept(spark):
    status, got = _resolve(spark, [(40, "id:2"), (41, "id:3")],
                           existing=[(40, "gender", "female", "manual"), (41, "gender", "male", "stated_location")])
    assert status[40] == "kept_higher_priority" and 40 not in got
    assert got[41] == "male"


def test_facebook_labels_on_a_generated_world_match_the_truth(spark, world, tmp_path):
    cfg = world_copy(world[0], tmp_path)  # its labels and links are written to a copy, not the shared world
    summary = labels.run(spark, cfg, "gender")
    again = labels.run(spark, cfg, "gender")
    assert summary["labels_by_class"] == again["labels_by_class"]  # idempotent
    lab = spark.read.format("delta").load(cfg.table_path("labels")).where("source = 'facebook_link'")
    assert lab.count() == sum(summary["labels_by_class"].values()) > 150
    truth = spark.read.json(f"{cfg.landing}/{NIGHT}/source=_truth")
    agree = lab.join(truth, "user_id").select(F.avg((F.col("label") == F.col("gender")).cast("double"))).first()[0]
    assert agree == 1.0
    found = summary["sources"]["facebook_link"]
    assert found["outcomes"]["shared_profile"] > 0 and found["outcomes"]["no_public_gender"] > 0
    assert found["rejected_not_profile"] > 0
    links = spark.read.format("delta").load(cfg.table_path("fb_links"))
    assert links.count() == links.select("user_id").distinct().count() >= lab.count()


def test_stated_occupations_fold_case_and_accents_across_languages():
    from jobs.occupations import bio_label

    assert bio_label("ipsum | FARMACÉUTICO | 📍 Madrid") == ("labelled", "health", "farmaceutico")
    assert bio_label("Хирург 🇷🇺")[:2] == ("labelled", "health")
    assert bio_label("Krankenschwester")[:2] == ("labelled", "health")
    assert bio_label("Étudiante en Droit 🇫🇷")[:2] == ("labelled", "student")
    assert bio_label("informatik studentin")[:2] == ("labelled", "student")
    assert bio_label("Chartered accountant")[:2] == ("labelled", "administrative")
    assert bio_label("graphic designer")[:2] == ("labelled", "arts")
    assert bio_label("Airline pilot")[:2] == ("labelled", "others")
    assert bio_label("Sports therapist")[0] == "ambiguous"
    assert bio_label("Nurse, adult | student of law")[0] == "several"
    assert bio_label("love my dog 🐶 | travel")[0] == "no_statement"
    assert bio_label(None)[0] == "no_statement"


def test_stated_occupation_labeller_counts_its_rejections_and_keeps_stronger_sources(spark):
    from jobs.labellers import stated_occupation
    from schemas.tables import TABLES

    bios = [(1, "Nurse, adult"), (2, "Sports therapist"), (3, "Nurse, adult | student of law"), (4, "just vibes"),
            (5, "Graphic designer"), (6, None)]
    profiles = spark.createDataFrame(bios, "user_id long, biography string")
    existing = spark.createDataFrame([(5, "occupation", "others", "manual")],
                                     "user_id long, target string, label string, source string")
    tdef = target_def("occupation")
    rows, outcome = labels.source_labels(stated_occupation.bio_outcomes(profiles, tdef.classes), existing, tdef,
                                         "stated_occupation", NIGHT)
    status = {r["user_id"]: r["status"] for r in outcome.collect()}
    assert status == {1: "labelled", 2: "ambiguous", 3: "several", 5: "kept_higher_priority"}
    assert {r["user_id"]: r["label"] for r in rows.collect()} == {1: "health"}
    assert set(rows.columns) == set(TABLES["labels"].schema.fieldNames()) - set(TABLES["labels"].optional_columns)
