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
	$(BIN)/pytest -q -n auto --dist loadfile

demo: install
	$(BIN)/qc demo

bench: install
	$(BIN)/python -m bench.metrics
	$(BIN)/python -m bench.checks
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.ingest_png
	$(BIN)/python -m bench.round
	$(BIN)/python -m bench.interop
	$(BIN)/python -m bench.review
	$(BIN)/python -m bench.report

# scale-out and crash drills (minutes; the PostgreSQL restart drill restarts the local server)
drills: install
	$(BIN)/python -m bench.dask
	$(BIN)/python -m bench.drills all
	$(BIN)/python -m bench.load

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
