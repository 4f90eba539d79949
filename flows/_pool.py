"""What each scoring worker process runs first: a watch on its parent, so that no worker outlives the flow.

A ``kill -9`` of ``qc round score`` (or of any process whose flow holds a process pool) gives its
pool no chance to stop its workers; each worker (~140 MB) used to live on. Each worker now runs
:func:`watch_parent` as the pool's initializer: a daemon thread that checks twice a second
whether the process that started it is still its parent, and ends the worker when it is not.
This module imports only the standard library, so that spawned workers start light.
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["CHECK_EVERY", "watch_parent"]

CHECK_EVERY = 0.5
"""Seconds between two checks of the parent."""


def watch_parent(parent_pid: int, interval: float = CHECK_EVERY) -> None:
    """Exit this process (status 1) as soon as ``parent_pid`` is no longer its parent (it died: re-parented)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="qc-watch-parent", daemon=True).start()
