# ons.timestream_influxdb — everything a machine needs, from a fresh Debian 12 with Python 3.11.
#   make run    venv + sandbox + `ansible-playbook site.yml -i inventories/local` (sandbox left running)
#   make test   venv + every gate (lint, sanity, pytest, molecule), sandbox started and stopped
#   make plan / apply / output / destroy ENV=dev   the Terraform-style workflow (ENV defaults to local)
#   make help   every target, one line each
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= $(CURDIR)/.venv
BIN := $(VENV)/bin
SANDBOX_PORT ?= 4566
SANDBOX_STATE_DIR ?= $(CURDIR)/.sandbox
# The inventory the plan/apply/output/destroy targets use (inventories/$(ENV)); local = the sandbox.
ENV ?= local
# Extra ansible-playbook arguments, e.g. ARGS=--ask-vault-pass or ARGS='--tags network'.
ARGS ?=
# destroy: the environment_name to confirm with (asked when not given); KEEP_FINAL_BACKUP=false
# deletes the data too.
CONFIRM ?=
KEEP_FINAL_BACKUP ?= true
# bench: seconds the sandbox takes to create a Timestream for InfluxDB instance (AWS: 10-20 minutes).
CREATE_DELAY ?= 60

export ANSIBLE_HOME := $(CURDIR)/.ansible
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections
export SANDBOX_PORT SANDBOX_STATE_DIR
export PATH := $(BIN):$(PATH)

PLAYBOOK := $(BIN)/ansible-playbook -i inventories/$(ENV) $(ARGS)
# The local inventory needs the sandbox running; started when it is not.
ENV_DEPS := venv $(if $(filter local,$(ENV)),sandbox)

.PHONY: help system-deps venv sandbox stop run plan apply output destroy test lint sanity unit pytest molecule build changelog clean integration bench

help: ## List every target with what it does
	@awk -F':.*## ' '/^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  (ENV=local|dev|prod for plan/apply/output/destroy, default local; ARGS= extra ansible-playbook options)"

venv: $(VENV)/.installed ## Create .venv from requirements-test.txt (once; again when the requirements change)

$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

sandbox: venv ## Start the local AWS + InfluxDB sandbox on 127.0.0.1:SANDBOX_PORT (4566) unless it runs
	$(BIN)/python -m sandbox start --port $(SANDBOX_PORT) --state-dir $(SANDBOX_STATE_DIR)

stop: venv ## Stop the sandbox that make run / make sandbox left running
	$(BIN)/python -m sandbox stop --state-dir $(SANDBOX_STATE_DIR)

run: venv sandbox ## Build the whole platform in the sandbox (site.yml -i inventories/local)
	$(BIN)/ansible-playbook site.yml -i inventories/local

plan: $(ENV_DEPS) ## Show what apply would change, changing nothing (site.yml --check --diff)
	$(PLAYBOOK) site.yml --check --diff

apply: $(ENV_DEPS) ## Build or update the platform of ENV (site.yml --diff) and print the outputs
	$(PLAYBOOK) site.yml --diff

output: $(ENV_DEPS) ## Print the outputs of ENV and write outputs/<environment_name>.json
	$(PLAYBOOK) playbooks/outputs.yml

destroy: $(ENV_DEPS) ## Remove everything of ENV (asks for its environment_name; CONFIRM=<name> to skip)
	@confirm='$(CONFIRM)'; \
	if [ -z "$$confirm" ] && [ -t 0 ]; then \
	  read -r -p "Destroy every resource of inventories/$(ENV)? Type its environment_name to confirm: " confirm; \
	fi; \
	$(PLAYBOOK) playbooks/teardown.yml --diff -e "confirm_teardown=$$confirm" \
	  -e '{"teardown_keep_final_backup": $(KEEP_FINAL_BACKUP)}'

test: venv system-deps ## Every gate (lint, changelog, sanity, molecule, pytest, integration) with its own sandbox
	scripts/test.sh

system-deps: ## Debian packages the tests need (influxdb 1.6.7, shellcheck), when run as root
	scripts/system-deps.sh

lint: venv ## ansible-lint --profile production
	$(BIN)/ansible-lint --profile production

sanity: venv ## ansible-test sanity on the collection
	scripts/sanity.sh

unit: venv ## The unit tests (tests/unit)
	$(BIN)/pytest tests/unit

pytest: venv ## Every pytest test (unit, integration, sandbox) with its own sandbox
	scripts/test.sh pytest

molecule: venv ## Every molecule scenario with its own sandbox
	scripts/test.sh molecule

integration: venv ## ansible-test integration targets (tests/integration/targets/) against a sandbox of their own
	scripts/integration.sh

build: venv ## Build the collection artifact into build/
	$(BIN)/ansible-galaxy collection build --force --output-path build/

changelog: venv ## Lint the changelog fragments
	$(BIN)/antsibull-changelog lint

clean: ## Remove build output and caches
	rm -rf build .pytest_cache .ruff_cache .cache

bench: venv ## Benchmarks (not in make test): site.yml twice on a fresh sandbox (CREATE_DELAY=60 s) + migration; bench/results.json
	$(BIN)/python bench/run.py --create-delay $(CREATE_DELAY)
