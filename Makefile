# Everything the project needs is installed by these targets; nothing by hand.
SHELL := /bin/bash
PY := .venv/bin/python
UV_VERSION := 0.13.8
UV := .cache/uv/bin/uv
USERS ?= 100000
SEED ?= 7
VOCAB_SIZE ?= 10000
MODELS ?=
MODEL ?= mlp1
IMAGE_EPOCHS ?= 8
MLFLOW_PORT ?= 5000
RUN_DATE ?= $(shell date -u +%F)
# make run generates its world: its landing files, tables and models live in this namespace
# (runtime.config.demo_namespace), never beside real data.
DEMO := demo/$(USERS)-users
export DEMOGRAPHICS_WAREHOUSE ?= $(CURDIR)/warehouse
export DEMOGRAPHICS_LANDING ?= $(CURDIR)/landing
export DEMOGRAPHICS_RUN_DATE := $(RUN_DATE)

.PHONY: setup run run-jobs test bench mlflow-ui airflow-ui ui-check clean
setup: .venv/.synced-bytecode .cache/jars/.fetched .cache/numba/.warm .cache/jvm/spark-driver.jsa

$(UV):
	python3 -m pip install --quiet --disable-pip-version-check --target .cache/uv uv==$(UV_VERSION)

# Bytecode compiled once here: without it (uv's default, and PYTHONDONTWRITEBYTECODE set) every
# driver, Spark Python worker and Airflow task recompiles pyspark/mlflow/airflow from source.
.venv/.synced-bytecode: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet --compile-bytecode
	touch $@

# Delta Lake JARs from Maven Central, cached so no job resolves packages at run time.
.cache/jars/.fetched: build/delta-jars.pom.xml
	mvn -q -f build/delta-jars.pom.xml dependency:copy-dependencies \
	    -DincludeGroupIds=io.delta,io.unitycatalog -DoutputDirectory=$(CURDIR)/.cache/jars
	touch $@

# numba kernels compiled once into the cache every process shares (udfs/__init__.py).
.cache/numba/.warm: .venv/.synced-bytecode udfs/__init__.py udfs/kernels.py udfs/tokenizer.py udfs/warm.py udfs/trees.py udfs/image_cnn.py
	$(PY) -m udfs.warm
	touch $@

# The driver JVM's class archive (runtime/jvm_archive.py): every job's JVM starts without loading
# Spark's and Delta's classes one by one. It belongs to this JDK and these JARs.
.cache/jvm/spark-driver.jsa: runtime/jvm_archive.py .venv/.synced-bytecode .cache/jars/.fetched | .cache/numba/.warm
	$(PY) -m runtime.jvm_archive

# One run of the nightly DAG through Airflow itself (dag.test, project-local AIRFLOW_HOME in var/airflow):
# generate a sample world -> ingest -> per target (gender, gender_name, country, authenticity, occupation): labels -> token_mi -> train -> score
# (mapped) -> checks -> publish -> audience; the image model trained and scored, fused with the text
# predictions. One line per task as it ends; Airflow's and Spark's output in var/logs/.
run: setup
	$(PY) -m runtime.run_nightly --run-date $(RUN_DATE) --report var/run-report.json --log var/logs/run-$(RUN_DATE).log \
	    --conf '{"world_users": $(USERS), "gender_vocab_size": $(VOCAB_SIZE), "gender_model_family": "$(MODEL)", "image_epochs": $(IMAGE_EPOCHS)}'
	DEMOGRAPHICS_NAMESPACE=$(DEMO) $(PY) -m jobs.query duckdb "select source, reason, count(*) as n from quarantine group by all order by all"
	DEMOGRAPHICS_NAMESPACE=$(DEMO) $(PY) -m jobs.query duckdb "select target, label, count(*) as users, round(avg(confidence), 3) as mean_confidence from predictions where run_date = DATE '$(RUN_DATE)' group by all order by all"
	DEMOGRAPHICS_NAMESPACE=$(DEMO) $(PY) -m jobs.query duckdb "select head, label, count(*) as users, count(fused_label) as fused, round(avg(confidence), 3) as mean_confidence from image_predictions where run_date = DATE '$(RUN_DATE)' group by all order by all"
	DEMOGRAPHICS_NAMESPACE=$(DEMO) $(PY) -m jobs.audience show --top-account

# The same steps without Airflow, each job called directly, for every target the nightly DAG runs
# (MODELS=all trains every family).
TARGETS ?= authenticity gender gender_name country occupation
run-jobs: export DEMOGRAPHICS_NAMESPACE = $(DEMO)
run-jobs: setup
	$(PY) -m world.generate --users $(USERS) --seed $(SEED)
	$(PY) -m jobs.ingest
	for t in $(TARGETS); do \
	    $(PY) -m jobs.labels --target $$t && \
	    $(PY) -m jobs.token_mi --target $$t --vocab-size $(VOCAB_SIZE) && \
	    $(PY) -m jobs.train --target $$t $(if $(filter all,$(MODELS)),--models all,) && \
	    $(PY) -m jobs.score --target $$t || exit 1; \
	done
	$(PY) -m jobs.audience
	$(PY) -m jobs.image_model --epochs $(IMAGE_EPOCHS)
	$(PY) -m jobs.image_score
	$(PY) -m jobs.audience show --top-account

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) -m bench.run

# The Airflow UI in a real browser (headless Debian chromium + playwright-core from npm), outside the
# suite: two real DAG runs on 20,000-user worlds, ~35 min on 2 cores. Screenshots and report in var/ui-check/.
ui-check: setup
	$(PY) -m checks.ui_check

# Airflow standalone (scheduler, API server, UI) on http://127.0.0.1:8080, project-local home (var/airflow).
airflow-ui: setup
	$(PY) -m runtime.airflow_ui

# The MLflow UI on the project's own store (var/mlflow; NAMESPACE=demo/100000-users for make run's), localhost only.
NAMESPACE ?=
mlflow-ui: setup
	mkdir -p var/mlflow/$(NAMESPACE)
	$(PY) -m mlflow ui --backend-store-uri sqlite:///$(CURDIR)/var/mlflow/$(NAMESPACE)/mlflow.db --host 127.0.0.1 --port $(MLFLOW_PORT)

clean:
	rm -rf warehouse landing var .pytest_cache
