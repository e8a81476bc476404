# voiceclone: `make` lists the targets.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_QUIET := --quiet --disable-pip-version-check
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# pip's failures still fail the build; only its noise about absent local indexes is dropped, and
# setuptools' build warnings (editable-install advice) are silenced for the install alone.
FILTER := { grep -v '^WARNING: Location' || true; }

.PHONY: help setup browser-deps test-deps run test unit integration infra browser lint typecheck format benchmark soak mutation samples rhythm tables clean
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_QUIET) --upgrade pip 2>&1 | $(FILTER)
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install $(PIP_QUIET) -e '.[dev]' 2>&1 | $(FILTER)
	$(BIN)/python -c "import voiceclone, voiceclone_local, voiceclone_cli, infra, aws_cdk, moto, playwright"
	touch $(STAMP)

setup: $(STAMP) browser-deps test-deps ## create .venv and install everything (runtime, local stack, dev tools, chromium)

# The browser tests (tests/browser) drive Debian's chromium; a CJK font makes the screenshots of Chinese
# sentences readable. Installed with apt-get when missing (as root: CI, the dev container); elsewhere
# this says what to install, and the browser tests skip (they fail under CI=true).
BROWSER_PACKAGES := chromium fonts-noto-cjk
browser-deps:
	@if ! dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing $(BROWSER_PACKAGES) (Debian packages) for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; \
	  else \
	    echo "the browser tests need Debian's $(BROWSER_PACKAGES): sudo apt-get install $(BROWSER_PACKAGES)"; \
	  fi; \
	fi

# Tools the tests run: iproute2's ss reads a sandbox's listen backlog (tests/integration/test_sandbox_base.py).
# Installed like the browser's packages; under CI=true a test fails, not skips, without them.
TEST_PACKAGES := iproute2
test-deps:
	@if ! dpkg -s $(TEST_PACKAGES) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing $(TEST_PACKAGES) (Debian packages) for the tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TEST_PACKAGES) >/dev/null; \
	  else \
	    echo "the tests need Debian's $(TEST_PACKAGES): sudo apt-get install $(TEST_PACKAGES)"; \
	  fi; \
	fi

# The demo needs no browser: it sets up the Python side only (the studio URL it prints opens in yours).
run: $(STAMP) ## clone a voice end to end on the embedded local stack with the vendor sandbox
	$(BIN)/voiceclone local demo --vendor tencent_vrs --name demo-voice

test: setup lint typecheck ## lint, type-check and run every test suite
	$(BIN)/pytest -n 2 --dist loadgroup --durations=25 tests

unit: setup ## unit tests only
	$(BIN)/pytest tests/unit

integration: setup ## moto-backed functions, the sandboxes and the local stack end to end
	$(BIN)/pytest tests/integration

infra: setup ## assertions on the synthesized template, cfn-lint, cdk-nag
	$(BIN)/pytest tests/infra

browser: setup ## the studio in headless chromium on a local stack (screenshots in .artifacts/studio)
	$(BIN)/pytest tests/browser

lint: setup ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup ## mypy (strict) on the service, local stack, CLI and infra
	$(BIN)/mypy

format: setup ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

benchmark: setup ## each function's package size, cold start per handler vs bare boto3, one local 20-sentence job stage by stage, speech and its labels, streaming speech's first audio per vendor, the facts per cloned voice at every vendor, a load run of JOBS (50) at once
	$(BIN)/python benchmarks/run.py --jobs $(or $(JOBS),50)

# Not part of `make test`: about 10 minutes of work and a drain (docs/soak.md); exits 1 when a must fails.
soak: setup ## JOBS (50) clones and SPEECHES (200) speeches over MINUTES (10) on one local stack while every vendor sandbox fails at random (SEED=123 replays a run's dice)
	$(BIN)/python benchmarks/soak.py --jobs $(or $(JOBS),50) --speeches $(or $(SPEECHES),200) \
	  --minutes $(or $(MINUTES),10) $(if $(SEED),--seed $(SEED))

# Not part of `make test`: mutmut over the core with its fast unit tests (docs/mutation.md); exits 1
# when a module scores under 85 % or a hand-made constant mutant survives. JOBS mutants at once.
mutation: setup ## mutation testing of the core: the score per module and the surviving mutants
	$(BIN)/python scripts/mutation.py --jobs $(or $(JOBS),2)

samples: ## regenerate samples/ with espeak-ng and sox (Debian packages)
	$(BIN)/python scripts/make_sample_audio.py

rhythm: setup ## re-encode the explicit label's MP3 frames (functions/voiceclone/provenance/assets) with PyAV
	PYTHONPATH=functions:local $(BIN)/python scripts/make_rhythm_mp3.py

# The vendor tables of README.md and docs/ are written from the vendors' declarations (adapters and
# sandboxes); tests/unit/test_vendor_tables.py fails while a committed table is stale.
tables: $(STAMP) ## regenerate the docs' vendor tables from the vendor registry and the sandboxes
	PYTHONPATH=functions:local $(BIN)/python -m voiceclone_local.vendor_tables

clean: ## remove the virtualenv and build output
	rm -rf $(VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache
