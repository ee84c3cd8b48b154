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
export AIRFLOW__CORE__PARALLELISM := 4
export PYTHONPATH := $(CURDIR)/plugins:$(PYTHONPATH)

.PHONY: venv demo test lint bench airflow clean

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

test: lint
	$(BIN)/python -m pytest

# ruff (lint and format) and mypy over the code; `make test` runs them first.
lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m recsys_bench.run --size $(SIZE)

airflow: $(STAMP)
	$(BIN)/recsys airflow-standalone

clean:
	-$(BIN)/recsys warehouse stop
	rm -rf $(VENV) .airflow .data artifacts dbt/target dbt/logs expectations/gx/uncommitted
	rm -rf .warehouse
