# qc — the README's two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120

.PHONY: install test lint demo bench drills clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

demo: install
	$(BIN)/qc demo

bench: install
	$(BIN)/python bench/metrics.py
	$(BIN)/python bench/checks.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/round.py
	$(BIN)/python bench/interop.py
	$(BIN)/python bench/review.py
	$(BIN)/python bench/report.py

# scale-out and crash drills (minutes; the PostgreSQL restart drill restarts the local server)
drills: install
	$(BIN)/python bench/dask.py
	$(BIN)/python bench/drills.py all
	$(BIN)/python bench/load.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
