"""Pipeline configuration shared by every job: where tables live, which night, how many shards."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The driver JVM's class-data archive, recorded at set-up (runtime/jvm_archive.py).
CLASS_ARCHIVE = PROJECT_ROOT / ".cache" / "jvm" / "spark-driver.jsa"
# HotSpot compiler directives for the driver JVM: code that only runs while Spark plans and
# compiles a query stays with the quick C1 compiler (see jit_directives_wanted).
JIT_DIRECTIVES = PROJECT_ROOT / "runtime" / "jit_directives.json"


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def demo_namespace(world_users: int) -> str:
    """The namespace of a run that generates a world of this many users ('' for real data): its
    landing files and tables live apart, so a demo never mixes with real nights or another demo."""
    return f"demo/{int(world_users)}-users" if world_users and int(world_users) > 0 else ""


def current_namespace(namespace: str | None = None) -> str:
    """`namespace`, or $DEMOGRAPHICS_NAMESPACE when None ('' = real data)."""
    return (os.environ.get("DEMOGRAPHICS_NAMESPACE", "") if namespace is None else namespace).strip("/")


def rooted(variable: str, default: Path, namespace: str | None = None) -> str:
    """A root folder from the environment, inside the namespace (default: $DEMOGRAPHICS_NAMESPACE)."""
    base = _env(variable, str(default))
    namespace = current_namespace(namespace)
    return f"{base.rstrip('/')}/{namespace}" if namespace else base


def namespaced(namespace: str) -> "PipelineConfig":
    """The environment's config with its landing and warehouse roots inside `namespace` ('' = none)."""
    return PipelineConfig(warehouse=rooted("DEMOGRAPHICS_WAREHOUSE", PROJECT_ROOT / "warehouse", namespace),
                          landing=rooted("DEMOGRAPHICS_LANDING", PROJECT_ROOT / "landing", namespace))


def spark_local_ip() -> str:
    """The address local Spark JVMs bind and serve on (UI included): loopback unless
    DEMOGRAPHICS_SPARK_LOCAL_IP says otherwise (a driver whose executors run on other machines
    must be reachable from them)."""
    return os.environ.get("DEMOGRAPHICS_SPARK_LOCAL_IP", "127.0.0.1")


@dataclass(frozen=True)
class PipelineConfig:
    warehouse: str = field(default_factory=lambda: rooted("DEMOGRAPHICS_WAREHOUSE", PROJECT_ROOT / "warehouse"))
    landing: str = field(default_factory=lambda: rooted("DEMOGRAPHICS_LANDING", PROJECT_ROOT / "landing"))
    run_date: dt.date = field(default_factory=lambda: dt.date.fromisoformat(_env("DEMOGRAPHICS_RUN_DATE", dt.date.today().isoformat())))
    shards: int = field(default_factory=lambda: int(_env("DEMOGRAPHICS_SHARDS", "16")))

    def __post_init__(self):
        # Local folders become absolute (Delta's table builder rejects relative locations);
        # URIs (s3://, abfss://, file:/...) are kept as given.
        for name in ("warehouse", "landing"):
            value = getattr(self, name)
            if ":/" not in value:
                object.__setattr__(self, name, str(Path(value).absolute()))
        if self.shards < 1:
            raise ValueError(f"shards must be >= 1, got {self.shards}")

    def table_path(self, name: str) -> str:
        return f"{self.warehouse.rstrip('/')}/{name}"

    def landing_path(self, source: str) -> str:
        """Landing files of one source for this night: <landing>/<run_date>/<source>/."""
        return str(Path(self.landing) / self.run_date.isoformat() / source)

    def with_(self, **changes) -> "PipelineConfig":
        return replace(self, **changes)


def _switched_on(name: str) -> bool:
    """An on/off setting of the environment: on unless set to `off`."""
    return os.environ.get(name, "on") != "off"


def class_archive_wanted() -> bool:
    """False when DEMOGRAPHICS_CLASS_ARCHIVE=off: neither recorded nor used."""
    return _switched_on("DEMOGRAPHICS_CLASS_ARCHIVE")


def jit_directives_wanted() -> bool:
    """False when DEMOGRAPHICS_JIT_DIRECTIVES=off.

    Every job runs in a fresh JVM that meets each code path about once, so compiling is a large
    share of a run: in a 1M-user ingest (`make bench`) the JIT compilers took 136 of the JVM's 361
    CPU seconds. Part of that compiled Janino, Catalyst's planner and code generator and Java
    serialisation, which run per query or per task, not per row; the directives leave those to
    C1, and the same ingest's compilers took 116 of 341 CPU seconds.
    """
    return _switched_on("DEMOGRAPHICS_JIT_DIRECTIVES")


def driver_java_options() -> str:
    """Options for a driver JVM this project starts: $DEMOGRAPHICS_DRIVER_JAVA_OPTIONS, the JIT
    directives (DEMOGRAPHICS_JIT_DIRECTIVES=off leaves them out), and the class archive when
    set-up recorded one (DEMOGRAPHICS_CLASS_ARCHIVE=off leaves it out)."""
    options = [os.environ.get("DEMOGRAPHICS_DRIVER_JAVA_OPTIONS", "")]
    if jit_directives_wanted():
        options.append(f"-XX:+UnlockDiagnosticVMOptions -XX:CompilerDirectivesFile={JIT_DIRECTIVES}")
    if class_archive_wanted() and CLASS_ARCHIVE.exists():
        # -Xshare:auto: a JVM that cannot map the archive (another JDK or class path) runs without it.
        options.append(f"-XX:SharedArchiveFile={CLASS_ARCHIVE} -Xshare:auto")
    return " ".join(o for o in options if o)


JARS_DIR = Path(os.environ.get("DEMOGRAPHICS_JARS_DIR", PROJECT_ROOT / ".cache" / "jars"))


def delta_jars() -> list[str]:
    """Delta's JARs cached at set-up; none where the cluster provides Delta (DEMOGRAPHICS_DELTA_JARS=cluster)."""
    if os.environ.get("DEMOGRAPHICS_DELTA_JARS") == "cluster":
        return []
    jars = sorted(str(p) for p in JARS_DIR.glob("*.jar"))
    if not any("delta-spark" in Path(j).name for j in jars):
        raise RuntimeError(
            f"Delta Lake JARs not found in {JARS_DIR}; run `make setup` (or set "
            "DEMOGRAPHICS_DELTA_JARS=cluster where the cluster provides Delta)"
        )
    return jars


def spark_submit_settings() -> dict:
    """SparkSubmitOperator arguments every job of the DAG shares: under spark-submit the driver JVM
    starts before the job's code runs, so its JARs, memory and JVM options go on the command line;
    driver and workers run this interpreter (the project's .venv)."""
    import sys

    options = driver_java_options()
    address = spark_local_ip()
    conf = {"spark.driver.host": address, "spark.driver.bindAddress": address}
    if options:
        conf["spark.driver.extraJavaOptions"] = options
    return {
        "jars": ",".join(delta_jars()) or None,
        "driver_memory": os.environ.get("DEMOGRAPHICS_DRIVER_MEMORY", "6g"),
        "conf": conf,
        "env_vars": {"PYTHONPATH": str(PROJECT_ROOT), "PYSPARK_PYTHON": sys.executable,
                     "PYSPARK_DRIVER_PYTHON": sys.executable, "SPARK_LOCAL_IP": address},
    }


def config_from_cli(**overrides) -> PipelineConfig:
    """The environment's config with the CLI options that were given (None = not given)."""
    given = {k: (v.date() if isinstance(v, dt.datetime) else v) for k, v in overrides.items() if v is not None}
    return PipelineConfig().with_(**given)
