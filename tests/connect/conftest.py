"""The Label Studio server of the connector's tests (one per session; see :mod:`tests.support.labelstudio`)."""

from __future__ import annotations

import pytest

from tests.support.labelstudio import TIMINGS, labelstudio

__all__ = ["labelstudio"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How long the Label Studio venv and server took, when this session started one."""
    if TIMINGS:
        installed = f"installed in {TIMINGS['install_s']:.0f} s" if TIMINGS["install_s"] else "reused"
        terminalreporter.write_line(f"Label Studio: venv {installed}; server up in {TIMINGS['start_s']:.0f} s")
