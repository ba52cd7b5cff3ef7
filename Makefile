# Everything the project needs is installed by these targets; nothing by hand.
SHELL := /bin/bash
PY := .venv/bin/python
UV_VERSION := 0.13.8
UV := .cache/uv/bin/uv
USERS ?= 100000
SEED ?= 7
VOCAB_SIZE ?= 10000
RUN_DATE ?= $(shell date -u +%F)
export DEMOGRAPHICS_WAREHOUSE ?= $(CURDIR)/warehouse
export DEMOGRAPHICS_LANDING ?= $(CURDIR)/landing
export DEMOGRAPHICS_RUN_DATE := $(RUN_DATE)

.PHONY: setup run test bench query-example clean
setup: .venv/.synced .cache/jars/.fetched

$(UV):
	python3 -m pip install --quiet --disable-pip-version-check --target .cache/uv uv==$(UV_VERSION)

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

# Delta Lake JARs from Maven Central, cached so no job resolves packages at run time.
.cache/jars/.fetched: build/delta-jars.pom.xml
	mvn -q -f build/delta-jars.pom.xml dependency:copy-dependencies \
	    -DincludeGroupIds=io.delta,io.unitycatalog -DoutputDirectory=$(CURDIR)/.cache/jars
	touch $@

run: setup
	$(PY) -m jobs.generate_world --users $(USERS) --seed $(SEED)
	$(PY) -m jobs.ingest
	$(PY) -m jobs.labels
	$(PY) -m jobs.token_mi --target gender --vocab-size $(VOCAB_SIZE)
	$(PY) -m jobs.query duckdb "select source, reason, count(*) as n from quarantine group by all order by all"

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) -m bench.run

clean:
	rm -rf warehouse landing var .pytest_cache
