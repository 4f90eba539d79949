"""After ``kill -9`` of the process that holds the scoring pool, its workers exit by themselves (issue 13 item 14).

A real subprocess creates the pool with the function the score flow uses (``flows.round._pool``),
makes it start both workers, prints their pids and waits; the test kills it with SIGKILL and
polls until no worker is left (a zombie waiting for its new parent to reap it counts as gone).
The deadline is generous: it bounds a hang, it does not measure speed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOLDER = """
import json, sys, time
from flows.round import _pool

pool = _pool(2)
for future in [pool.submit(time.sleep, 0.5) for _ in range(4)]:
    future.result()
print(json.dumps(sorted(pool._processes)), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def test_workers_exit_after_their_parent_is_killed() -> None:
    with subprocess.Popen([sys.executable, "-c", HOLDER], cwd=ROOT, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None
            workers = json.loads(holder.stdout.readline())
            assert len(workers) == 2 and all(_alive(pid) for pid in workers)
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(timeout=30)
            deadline = time.monotonic() + 60
            while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert [pid for pid in workers if _alive(pid)] == []
        finally:
            holder.kill()
