"""The demo round, run once for the flow tests (the Prefect harness is ``tests/support/prefect.py``'s)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_phases() -> list[str]:
    """The lines the demo round reported, one per phase (filled by ``demo_run``)."""
    return []


@pytest.fixture(scope="session")
def demo_run(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory, demo_phases: list[str]) -> object:
    """The demo round, run once through the real flows (2 scoring processes)."""
    from flows.demo import run_demo

    out: Path = tmp_path_factory.mktemp("demo")
    return run_demo(out, workers=2, progress=demo_phases.append)
