# Two entry points: `make dev` runs Vigie on the embedded stack, `make test` runs every check
# (`make faults` adds the slow fault-injection cases: outages, kills, many generated inputs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock

.PHONY: setup dev test faults lint lock clean

# Every install takes its versions from $(LOCK), the versions the tests passed with.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

dev: $(STAMP)
	$(BIN)/vigie dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

# The fault-injection suite in full (tests/faults): server restart, worker kill, mail and
# Opsgenie outages, and many more generated bad inputs than `make test` tries. Prints the
# figures of the run and writes them to $(FAULTS_REPORT).
FAULTS_REPORT ?= .vigie/faults-report.json
faults: $(STAMP)
	VIGIE_FAULTS=full VIGIE_FAULTS_REPORT=$(FAULTS_REPORT) $(BIN)/pytest -q -m "" tests/faults

# Re-lock after changing dependencies in pyproject.toml; pins already in $(LOCK) are kept.
# The lock also pins the optional `browser` extra; `make setup` does not install it.
# Upgrading one package: make lock UPGRADE=httpx (UPGRADE="a b" for several).
# Upgrading temporalio: make lock UPGRADE=temporalio, then make setup, then before
# anything else replay the stored histories on the new SDK:
#     $(BIN)/pytest tests/test_replay.py
# A failure there means running workflows would not replay on the new version:
# keep the old pin until the workflow code is fixed (behind workflow.patched).
lock: $(STAMP)
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --extra dev --extra browser --strip-extras \
	  --no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
	  --unsafe-package vigie --unsafe-package pip --unsafe-package setuptools \
	  $(foreach p,$(UPGRADE),--upgrade-package $(p)) -o $(LOCK) pyproject.toml

clean:
	rm -rf $(VENV) .vigie .pytest_cache .mypy_cache .ruff_cache
