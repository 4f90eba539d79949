"""The code type-checks: mypy, as configured in pyproject.toml, run as one test.

``make test`` runs it among the other tests (on one xdist worker while the others run theirs),
rather than before them: a cold mypy takes about 25 s of CPU on a fresh clone.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mypy_finds_no_type_errors() -> None:
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Success: no issues found")
