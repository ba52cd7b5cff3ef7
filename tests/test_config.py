import datetime as dt
import os
import shutil
import subprocess

import pytest

from runtime.config import PipelineConfig, config_from_cli


def test_cli_overrides_only_what_was_given(monkeypatch):
    monkeypatch.setenv("DEMOGRAPHICS_WAREHOUSE", "/data/wh")
    cfg = config_from_cli(run_date=dt.datetime(2026, 1, 2), warehouse=None, shards=8)
    assert cfg.run_date == dt.date(2026, 1, 2) and cfg.warehouse == "/data/wh" and cfg.shards == 8
    assert cfg.table_path("profiles") == "/data/wh/profiles"


def test_bad_shard_count_is_refused():
    with pytest.raises(ValueError):
        PipelineConfig(shards=0)


def test_relative_folders_become_absolute_and_uris_stay(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = PipelineConfig(warehouse="var/wh", landing="s3://bucket/landing")
    assert cfg.warehouse == str(tmp_path / "var" / "wh") and cfg.table_path("profiles") == str(tmp_path / "var/wh/profiles")
    assert cfg.landing == "s3://bucket/landing"
    assert cfg.with_(warehouse="s3://bucket/wh/").table_path("labels") == "s3://bucket/wh/labels"


def test_driver_java_options_add_the_class_archive_only_when_it_exists(tmp_path, monkeypatch):
    import runtime.config as config

    archive = tmp_path / "spark-driver.jsa"
    monkeypatch.setattr(config, "CLASS_ARCHIVE", archive)
    monkeypatch.setenv("DEMOGRAPHICS_JIT_DIRECTIVES", "off")
    monkeypatch.setenv("DEMOGRAPHICS_DRIVER_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1")
    assert config.driver_java_options() == "-XX:TieredStopAtLevel=1"
    archive.write_bytes(b"x")
    assert config.driver_java_options() == f"-XX:TieredStopAtLevel=1 -XX:SharedArchiveFile={archive} -Xshare:auto"
    monkeypatch.setenv("DEMOGRAPHICS_CLASS_ARCHIVE", "off")
    monkeypatch.delenv("DEMOGRAPHICS_DRIVER_JAVA_OPTIONS")
    assert config.driver_java_options() == ""


def test_driver_java_options_add_the_jit_directives_unless_turned_off(tmp_path, monkeypatch):
    import runtime.config as config

    monkeypatch.setattr(config, "CLASS_ARCHIVE", tmp_path / "absent.jsa")
    monkeypatch.delenv("DEMOGRAPHICS_DRIVER_JAVA_OPTIONS", raising=False)
    monkeypatch.delenv("DEMOGRAPHICS_JIT_DIRECTIVES", raising=False)
    assert config.driver_java_options() == \
        f"-XX:+UnlockDiagnosticVMOptions -XX:CompilerDirectivesFile={config.JIT_DIRECTIVES}"
    monkeypatch.setenv("DEMOGRAPHICS_JIT_DIRECTIVES", "off")
    assert config.driver_java_options() == ""


def _java() -> str:
    """The java that Spark's launcher starts: $JAVA_HOME's, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    return os.path.join(home, "bin", "java") if home else shutil.which("java")


def test_this_jdk_reads_every_jit_directive_as_a_c2_exclusion():
    """A directives file HotSpot cannot parse stops every JVM from starting; one it reads wrongly
    would silently change nothing. Ask the JDK itself to print what it read."""
    import json
    import re

    from runtime.config import JIT_DIRECTIVES

    declared = json.loads(re.sub(r"(\w+):", r'"\1":', JIT_DIRECTIVES.read_text()))  # HotSpot's keys are unquoted
    patterns = [p for directive in declared for p in directive["match"]]
    out = subprocess.run([_java(), "-XX:+UnlockDiagnosticVMOptions", f"-XX:CompilerDirectivesFile={JIT_DIRECTIVES}",
                          "-XX:+CompilerDirectivesPrint", "-version"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    printed = out.stdout.split("Directive: (default)")[0]
    matching = re.search(r"matching: (.*)", printed).group(1).split(", ")
    assert sorted(matching) == sorted(patterns) and len(patterns) >= 10
    c1, c2 = printed.split(" c2 directives:")
    assert "Exclude:true" in c2 and "Exclude:true" not in c1  # C1 still compiles these methods


def test_the_session_jvm_starts_with_the_class_archive_set_up_recorded(spark):
    from runtime.config import CLASS_ARCHIVE, JIT_DIRECTIVES, driver_java_options

    runtime = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    arguments = list(runtime.getInputArguments())
    assert (f"-XX:SharedArchiveFile={CLASS_ARCHIVE}" in arguments) == ("SharedArchiveFile" in driver_java_options())
    assert (f"-XX:CompilerDirectivesFile={JIT_DIRECTIVES}" in arguments) == ("CompilerDirectivesFile" in driver_java_options())
    # make setup records it (unless told not to): without it every job's JVM starts ~10 s slower.
    assert CLASS_ARCHIVE.exists() or os.environ.get("DEMOGRAPHICS_CLASS_ARCHIVE") == "off"


def test_the_mlflow_store_moves_with_its_root_and_keeps_demo_namespaces_apart(tmp_path, monkeypatch):
    from jobs.registry import mlflow_folder

    monkeypatch.setenv("DEMOGRAPHICS_MLFLOW", str(tmp_path / "mlflow"))
    assert mlflow_folder("") == tmp_path / "mlflow"
    assert mlflow_folder("demo/5-users") == tmp_path / "mlflow" / "demo" / "5-users"


def test_train_tasks_opening_a_new_mlflow_store_at_once_both_get_it(tmp_path):
    # Two targets' train tasks create the store together (seen in the browser check: one failed
    # inside MLflow's SQLite migrations). Each process: set_experiment, then log a run.
    import sys

    code = ("import sys, mlflow; from jobs.registry import set_experiment; "
            "set_experiment(sys.argv[1], None); mlflow.start_run(); mlflow.log_param('t', sys.argv[1]); mlflow.end_run()")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(DEMOGRAPHICS_MLFLOW=str(tmp_path / "mlflow"), DEMOGRAPHICS_NAMESPACE="")
    procs = [subprocess.Popen([sys.executable, "-c", code, t], env=env, stderr=subprocess.PIPE, text=True)
             for t in ("gender", "country", "occupation")]
    errors = [p.communicate()[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    import mlflow
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}")
    assert sorted(e.name for e in client.search_experiments() if e.name != "Default") == [
        "demographics-country", "demographics-gender", "demographics-occupation"]
