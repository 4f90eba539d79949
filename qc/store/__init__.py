"""The qc store: the ONLY room with SQL. Tables, engines and sessions, Alembic migrations, store functions.

Everything that reads or writes the database goes through the functions of these modules
(each takes the session first and keyword-only arguments, and leaves the commit to the caller):

- :mod:`qc.store.models`: the tables (the segment tables share their RLE columns:
  ``RleColumns``); :mod:`qc.store.db`: engines, sessions, migrations;
- :mod:`qc.store.api`: projects, people, rounds, assignments, the event log;
- :mod:`qc.store.rounds`: the reads and writes the application layer (:mod:`qc.rounds`) needs;
- :mod:`qc.store.ingest`: delivered files into submissions; :mod:`qc.store.submissions`: the latest
  submissions, and the rejections that still stand;
- :mod:`qc.store.segments`: every read and write of segment rows (the blob-storage seam, DESIGN §7);
- :mod:`qc.store.results`: scoring inputs, and results stored from create-models
  (``ScoreCreate``, ``FlagCreate``);
- :mod:`qc.store.review`: the review queue and the reviewer page; :mod:`qc.store.logins`: people as the
  review page signs them in (token hashes);
- :mod:`qc.store.audit`: consistency reads (nothing stored twice, no half submission).

The most used names are listed here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qc._lazy import lazy_names

if TYPE_CHECKING:
    from qc.store.api import (
        add_assignments,
        add_guideline_version,
        add_images,
        add_label_classes,
        add_person,
        create_project,
        create_round,
        find_person,
        get_row,
        list_assignments,
        list_events,
        record_event,
    )
    from qc.store.db import check_schema, current_revision, head_revision, make_engine, session_scope, upgrade
    from qc.store.ingest import (
        IngestResult,
        SubmissionRef,
        ingest_file,
        ingest_submission,
        latest_submissions,
        list_rejections,
        segments_hash,
        sha256_file,
    )
    from qc.store.segments import load_segments

_HOMES: dict[str, str] = {
    **dict.fromkeys(
        (
            "add_assignments",
            "add_guideline_version",
            "add_images",
            "add_label_classes",
            "add_person",
            "create_project",
            "create_round",
            "find_person",
            "get_row",
            "list_assignments",
            "list_events",
            "record_event",
        ),
        "qc.store.api",
    ),
    **dict.fromkeys(
        ("check_schema", "current_revision", "head_revision", "make_engine", "session_scope", "upgrade"), "qc.store.db"
    ),
    **dict.fromkeys(
        (
            "IngestResult",
            "SubmissionRef",
            "ingest_file",
            "ingest_submission",
            "latest_submissions",
            "list_rejections",
            "segments_hash",
            "sha256_file",
        ),
        "qc.store.ingest",
    ),
    **dict.fromkeys(("load_segments",), "qc.store.segments"),
}
"""Each public name's module, imported on first use (reading the database does not load the file formats)."""

__all__ = [
    "IngestResult",
    "SubmissionRef",
    "add_assignments",
    "add_guideline_version",
    "add_images",
    "add_label_classes",
    "add_person",
    "check_schema",
    "create_project",
    "create_round",
    "current_revision",
    "find_person",
    "get_row",
    "head_revision",
    "ingest_file",
    "ingest_submission",
    "latest_submissions",
    "list_assignments",
    "list_events",
    "list_rejections",
    "load_segments",
    "make_engine",
    "record_event",
    "segments_hash",
    "session_scope",
    "sha256_file",
    "upgrade",
]


__getattr__, __dir__ = lazy_names(__name__, _HOMES, __all__)
