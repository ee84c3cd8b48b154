# Every target creates .venv on first use and installs the pinned stack into it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.dev-installed
SIZE ?= small

export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export PYTHONPATH := $(CURDIR)/plugins:$(PYTHONPATH)
# Root installs system packages directly (CI); anyone else through sudo.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: venv demo test lint bench airflow airflow-celery redis clean

venv: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $(DEV_STAMP)

demo: $(STAMP)
	$(BIN)/recsys demo

# The Celery test needs redis-server (the Debian package); `make redis` installs it.
test: lint redis
	$(BIN)/python -m pytest

# ruff (lint and format) and mypy over the code; `make test` runs them first.
lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m recsys_bench.run --size $(SIZE)

# Airflow's UI and scheduler (LocalExecutor) on the warehouse until Ctrl-C.
airflow: $(STAMP)
	$(BIN)/recsys airflow

# The same with the CeleryExecutor: a local Redis broker and two Celery workers.
airflow-celery: $(STAMP) redis
	$(BIN)/recsys airflow --celery

redis:
	@command -v redis-server >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server)

# The BI tool (Apache Superset 6) in a virtualenv of its own: it pins pandas 2.1, numpy 1.26
# and SQLAlchemy 1.4, which the pipeline's stack cannot share (docs/operations.md).
BI_VENV := .venv-bi
BI_STAMP := $(BI_VENV)/.installed
SUDO ?= $(if $(filter 0,$(shell id -u)),,sudo)
.PHONY: bi bi-venv chromium clean-bi

bi-venv: $(BI_STAMP)

$(BI_STAMP): requirements-bi.txt constraints-bi.txt
	test -x $(BI_VENV)/bin/python || $(PYTHON) -m venv $(BI_VENV)
	$(BI_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BI_VENV)/bin/python -m pip install --quiet -r requirements-bi.txt -c constraints-bi.txt
	touch $(BI_STAMP)

# Headless Chromium and its driver (Debian packages), for the dashboards' browser test.
# Where they cannot be installed (no root, no network) the browser tests skip, except under CI.
chromium:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null \
	  || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver) \
	  || echo "chromium could not be installed: the browser tests will skip (they fail under CI)" >&2

# Superset with the dashboards on http://localhost:8088 (after make demo), connected as the
# read-only BI role over the embedded server's TCP listener (port 55432 unless set).
bi: $(STAMP) $(BI_STAMP)
	RECSYS_WAREHOUSE_TCP_PORT=$${RECSYS_WAREHOUSE_TCP_PORT:-55432} $(BIN)/recsys bi serve

# The dashboards' browser test needs both.
test: $(BI_STAMP) chromium

clean: clean-bi

clean-bi:
	rm -rf $(BI_VENV) .superset

clean:
	-$(BIN)/recsys warehouse stop
	rm -rf $(VENV) .airflow .data artifacts dbt/target dbt/logs expectations/gx/uncommitted
	rm -rf .warehouse
