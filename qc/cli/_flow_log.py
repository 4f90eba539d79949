"""Prefect's own console output goes to a log file while a command runs a flow, not to the terminal.

A failing flow used to print 70-80 lines of Prefect's logs and tracebacks (each retry, the task,
the flow) before the command's one ``error:`` line. While :func:`prefect_output_to_file` is
active (``qc.cli._common.working`` wraps every flow a command runs in it), the stream handlers
of Prefect's logging configuration write to ``qc.log`` in Prefect's home (the ``.prefect`` folder
beside a SQLite database, see ``configure_prefect``); the terminal shows the spinner and then the
result or the ``error:`` line, and :func:`failed_run_log` names the file when the run logged
anything on its way to failing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["LOG_NAME", "failed_run_log", "flow_log_path", "prefect_output_to_file"]

LOG_NAME = "qc.log"
_failed: list[Path] = []


def flow_log_path() -> Path:
    """``qc.log`` in Prefect's home (``$PREFECT_HOME``, else ``~/.prefect``)."""
    home = os.environ.get("PREFECT_HOME") or str(Path.home() / ".prefect")
    return Path(home).expanduser() / LOG_NAME


def _console_handlers() -> list[tuple[logging.Logger, logging.Handler]]:
    """Every Prefect handler that writes to a stream (the terminal), with its logger."""
    loggers = [logging.getLogger()] + [
        logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    return [
        (logger, handler)
        for logger in loggers
        for handler in list(logger.handlers)
        if isinstance(handler, logging.StreamHandler)
        and not isinstance(handler, logging.FileHandler)
        and type(handler).__module__.startswith("prefect.")
    ]


@contextmanager
def prefect_output_to_file(path: Path | None = None) -> Iterator[Path]:
    """Within the block, Prefect's console log handlers write to ``path`` (default :func:`flow_log_path`) instead.

    The handlers are put back when the block ends. If the block raises after something was
    logged, :func:`failed_run_log` returns ``path`` once.
    """
    target = path or flow_log_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    before = target.stat().st_size if target.exists() else 0
    swapped: list[tuple[logging.Logger, logging.Handler, logging.FileHandler]] = []
    for logger, handler in _console_handlers():
        to_file = logging.FileHandler(target, encoding="utf-8", errors="backslashreplace", delay=True)
        to_file.setLevel(handler.level)
        to_file.setFormatter(handler.formatter)
        logger.removeHandler(handler)
        logger.addHandler(to_file)
        swapped.append((logger, handler, to_file))
    try:
        yield target
    except BaseException:
        if target.exists() and target.stat().st_size > before:
            _failed.append(target)
        raise
    finally:
        for logger, handler, written in swapped:
            logger.removeHandler(written)
            written.close()
            logger.addHandler(handler)


def failed_run_log() -> Path | None:
    """The log file a failed flow run of this command wrote to (once), else ``None``."""
    return _failed.pop() if _failed else None
