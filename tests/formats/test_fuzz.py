"""Every reader fuzzed with hostile documents (tests/formats/fuzz_readers.py), each run in a child process.

A reader that crashes the interpreter (SIGSEGV, as 1e12 coordinates once did) or allocates
past the child's 1.5 GB ceiling fails its test here with the child's output, instead of
ending the whole test run. Hypothesis prints the falsifying example in that output.
"""

from __future__ import annotations

import pytest

from tests.formats._isolated import run_child
from tests.formats.fuzz_readers import EXAMPLES


def test_at_least_2000_documents_in_all() -> None:
    assert sum(EXAMPLES.values()) >= 2000


@pytest.mark.slow
@pytest.mark.parametrize("reader", sorted(EXAMPLES))
def test_fuzz_reader_in_a_child(reader: str) -> None:
    child = run_child(
        f"""
        from tests.formats.fuzz_readers import fuzz_{reader}
        fuzz_{reader}()
        print("{{}}")
        """,
        timeout=900,
    )
    assert child.code == 0, f"fuzz_{reader} failed in its child (exit {child.code}):\n{child.err[-6000:]}"
    assert child.peak_mb < 1000, f"fuzz_{reader} peaked at {child.peak_mb:.0f} MB"
