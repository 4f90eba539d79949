# qc — the README's two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120

.PHONY: install test test-labelstudio lint demo bench drills clean

PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
UV := $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python
INSTALL_LOG := $(VENV)/install.log

# The packages are installed by uv (pip-installed into the venv first): 9-18 s here where pip
# took 70 s of CPU; pip does it if uv cannot. Their output goes to $(INSTALL_LOG), shown only
# when the install fails.
$(BIN)/python:
	@echo "creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)
	@$(PIP) uv > $(INSTALL_LOG) 2>&1 || $(PIP) --upgrade pip >> $(INSTALL_LOG) 2>&1 || { cat $(INSTALL_LOG); exit 1; }

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "installing qc and its dependencies into $(VENV) (a minute the first time; log: $(INSTALL_LOG))"
	@{ [ -x $(BIN)/uv ] && $(UV) -e '.[dev]' >> $(INSTALL_LOG) 2>&1; } || $(PIP) -e '.[dev]' >> $(INSTALL_LOG) 2>&1 \
		|| { tail -n 40 $(INSTALL_LOG); echo "install failed: see $(INSTALL_LOG)"; exit 1; }
	@$(BIN)/python -m compileall -q -j 0 qc flows reports bench >> $(INSTALL_LOG) 2>&1 || true
	@touch $@

# A venv installed before uv was asked for bytecode (--compile-bytecode above) has none, and uv
# compiles only what it installs: with PYTHONDONTWRITEBYTECODE=1 (as in the sessions on this
# workplace) every command then compiled each module it imported from source (~1 s of CPU of
# `qc round status`, 1.5-2 s of a flow command; issue 15). This compiles what is missing, once
# (a no-op check of a few seconds on a venv uv compiled). The whenever package ships one
# Python-3.12-only file (never imported here) that cannot compile.
$(VENV)/.compiled: $(VENV)/.installed
	@$(BIN)/python -m compileall -q -j 0 -x '_typing_312\.py$$' $(VENV)/lib >> $(INSTALL_LOG) 2>&1 \
		|| { tail -n 20 $(INSTALL_LOG); echo "compiling the bytecode failed: see $(INSTALL_LOG)"; exit 1; }
	@touch $@

install: $(VENV)/.installed $(VENV)/.compiled

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Each test process reads compiled bytecode: the packages' and qc's are compiled at install, the
# tests' (with pytest's assertion rewriting) are written on the first run even where the
# environment sets PYTHONDONTWRITEBYTECODE (compiling from source cost every process 2-3 s of CPU).
test: export PYTHONDONTWRITEBYTECODE :=
# One xdist worker more than there are cores: many tests wait on servers, subprocesses and the
# browser, and a third worker fills those waits (2 cores: 3:00-3:37 with 3 workers, 4:04 with 2).
TEST_WORKERS ?= $(shell $(PYTHON) -c "import os; print(len(os.sched_getaffinity(0)) + 1)" 2>/dev/null || echo 3)
# mypy runs as a test (tests/test_typing.py), on a worker beside the others, instead of before them
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

# the Label Studio connector against a real server (builds ~/.cache/qc-test/labelstudio-venv once: minutes)
test-labelstudio: install
	$(BIN)/pytest -q -m labelstudio tests/connect

demo: install
	@$(BIN)/qc demo

bench: install
	$(BIN)/python -m bench.metrics
	$(BIN)/python -m bench.checks
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.ingest_png
	$(BIN)/python -m bench.round
	$(BIN)/python -m bench.interop
	$(BIN)/python -m bench.review
	$(BIN)/python -m bench.report
	$(BIN)/python -m bench.cli

# scale-out and crash drills (minutes; the PostgreSQL restart drill restarts the local server)
drills: install
	$(BIN)/python -m bench.dask
	$(BIN)/python -m bench.drills all
	$(BIN)/python -m bench.load

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
