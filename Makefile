# ons.timestream_influxdb — everything a machine needs, from a fresh Debian 12 with Python 3.11.
#   make run    venv + sandbox + `ansible-playbook site.yml -i inventories/local` (sandbox left running)
#   make test   venv + every gate (lint, sanity, pytest, molecule), sandbox started and stopped
#   make stop   stop the sandbox that `make run` / `make sandbox` left running
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= $(CURDIR)/.venv
BIN := $(VENV)/bin
SANDBOX_PORT ?= 4566
SANDBOX_STATE_DIR ?= $(CURDIR)/.sandbox

export ANSIBLE_HOME := $(CURDIR)/.ansible
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections
export SANDBOX_PORT SANDBOX_STATE_DIR
export PATH := $(BIN):$(PATH)

.PHONY: help system-deps venv sandbox stop run test lint sanity unit pytest molecule build changelog clean

help:
	@sed -n '2,5p' Makefile

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

sandbox: venv
	$(BIN)/python -m sandbox start --port $(SANDBOX_PORT) --state-dir $(SANDBOX_STATE_DIR)

stop: venv
	$(BIN)/python -m sandbox stop --state-dir $(SANDBOX_STATE_DIR)

run: venv sandbox
	$(BIN)/ansible-playbook site.yml -i inventories/local

test: venv system-deps
	scripts/test.sh

system-deps:
	scripts/system-deps.sh

lint: venv
	$(BIN)/ansible-lint --profile production

sanity: venv
	scripts/sanity.sh

unit: venv
	$(BIN)/pytest tests/unit

molecule: venv
	scripts/test.sh molecule

.PHONY: integration
integration: venv ## ansible-test integration targets (tests/integration/targets/) against a sandbox of their own
	scripts/integration.sh

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path build/

changelog: venv
	$(BIN)/antsibull-changelog lint

clean:
	rm -rf build .pytest_cache .ruff_cache .cache

bench: venv ## migration benchmarks: converter vs influxdb-client Point (1M rows), UNLOAD files -> HTTP sink (rows/s, peak RSS)
	$(BIN)/python bench/timestream_migrate.py
