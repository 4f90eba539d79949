"""The ``qc`` command line: the one home of every command (Typer), console script ``qc = "qc.cli:main"``.

One module per command group, each holding its Typer sub-app or command: :mod:`~qc.cli.db`,
:mod:`~qc.cli.project` (``init``, ``images``, ``person``), :mod:`~qc.cli.round`,
:mod:`~qc.cli.review`, :mod:`~qc.cli.report`, :mod:`~qc.cli.export`, :mod:`~qc.cli.server`,
:mod:`~qc.cli.schedule`, :mod:`~qc.cli.demo`, :mod:`~qc.cli.connect`; what they share (console, ``--db``, errors to exit
codes, sessions, Prefect set-up, the spinner) is :mod:`qc.cli._common`. Commands import
``flows`` inside their bodies, and nothing else under ``qc/`` imports it. ``python -m qc.cli``
runs the same app.

Exit codes: 0 success; 1 an error in the input or the database (the message says what,
where and how to fix it); 2 wrong command-line usage; 3 the database schema is behind
the code (run ``qc db upgrade``).
"""

import atexit
import logging
import os
import sys

import typer

from qc.cli._common import EXIT_CODES
from qc.cli.connect import connect_app
from qc.cli.db import db_app
from qc.cli.demo import demo
from qc.cli.export import export
from qc.cli.project import images_app, init, person_app
from qc.cli.report import report_app
from qc.cli.review import review_app
from qc.cli.round import round_app
from qc.cli.schedule import schedule_app
from qc.cli.server import server_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="qc", help=f"Quality control for image segmentation labels.\n\n{EXIT_CODES}", no_args_is_help=True
)
app.command("init")(init)
app.command("export")(export)
app.command("demo")(demo)
app.add_typer(db_app, name="db")
app.add_typer(connect_app, name="connect")
app.add_typer(images_app, name="images")
app.add_typer(person_app, name="person")
app.add_typer(round_app, name="round")
app.add_typer(report_app, name="report")
app.add_typer(review_app, name="review")
app.add_typer(server_app, name="server")
app.add_typer(schedule_app, name="schedule")


def main() -> None:
    """Console-script entry point.

    A command that loaded Prefect ends as soon as every exit handler has run (Prefect's flush
    its logs and events; logging's closes the log files): the interpreter's own teardown of
    Prefect's modules and threads would add a second or more to every flow command.
    """
    status = [1]  # an exception that escapes the command exits 1, as Python would

    def end_now() -> None:  # registered first, so it runs after every other exit handler
        if "prefect" in sys.modules:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status[0])

    atexit.register(end_now)
    try:
        app()
        status[0] = 0
    except SystemExit as exc:
        status[0] = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        raise
