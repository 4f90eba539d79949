"""Run Python code in a child process with a memory ceiling, and measure its peak memory.

Hostile inputs may crash the interpreter (SIGSEGV in a C extension), allocate gigabytes or
spin: in a child, a crash is a failed test rather than a lost test run, and the address-space
and CPU limits (``RLIMIT_AS``, ``RLIMIT_CPU``) stop a bomb long before it hurts the machine. The peak resident
memory comes from ``resource.getrusage(RUSAGE_CHILDREN)`` in an intermediate process that
has that one child, so other children of the test process do not count.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_RUNNER = """
import json, resource, subprocess, sys
limit, cpu = int(sys.argv[1]), int(sys.argv[3])
def ceiling():
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
done = subprocess.run([sys.executable, "-c", sys.argv[2]], preexec_fn=ceiling, capture_output=True, text=True)
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": done.returncode, "out": done.stdout, "err": done.stderr, "peak_kb": peak_kb}))
"""


@dataclass(frozen=True)
class Child:
    """How the child ended: exit code (negative: killed by that signal), its output, its peak memory in MB."""

    code: int
    out: str
    err: str
    peak_mb: float

    def json(self) -> object:
        """The last line the child printed, parsed as JSON (the child's answer)."""
        assert self.code == 0, f"the child failed with exit code {self.code}:\n{self.err[-3000:]}"
        return json.loads(self.out.strip().splitlines()[-1])


def run_child(code: str, *, memory_mb: int = 1500, cpu_seconds: int = 0, timeout: float = 300) -> Child:
    """Run ``code`` (dedented) in a fresh interpreter limited to ``memory_mb`` of address space.

    ``cpu_seconds`` (when not 0) also limits its CPU time: a child past it is killed (SIGXCPU),
    so a runaway input is a failure, not a stuck test run.
    """
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(memory_mb << 20), textwrap.dedent(code), str(cpu_seconds)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=True,
    )
    answer = json.loads(done.stdout)
    return Child(answer["code"], answer["out"], answer["err"], answer["peak_kb"] / 1024)
