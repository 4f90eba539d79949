"""The qc store: SQLModel tables, engines and sessions, Alembic migrations, and the store functions.

Everything that reads or writes the database goes through the functions listed here
(DESIGN §7); the tables are in :mod:`qc.store.models`.
"""

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
