"""Consensus rounds over the store: set up, schedule, ingest, score, close (no Prefect here).

The application layer: the flows in ``flows/round.py`` are thin wrappers around these
functions, and the CLI and the tests call the same functions. Each function takes an open
session first and leaves the commit to the caller, except :func:`score_batch`, which opens
one transaction per image so that a crash loses at most the image being scored and never
leaves half of one stored.

Re-running is safe everywhere: scheduling the same round name twice is refused, ingesting
the same file again stores nothing, scoring skips images whose inputs did not change
(``image_result.input_hash``), and closing twice creates nothing new.

One private module per step, behind this public list:

- ``_setup``: a project from its guideline, annotators, the guideline a round runs under;
- ``_schedule``: a new round, each image routed blind to k annotators;
- ``_ingest``: a delivery folder into submissions (``_deliveries``: what the folder holds, whose each file is);
- ``_scoring``: checks, agreement and verdict of each complete image (``_records``: the score
  and flag rows it stores), then the follow-up annotators of escalated images, in one place;
- ``_observations`` / ``_reliability``: what each scored image tells about each annotator, the
  reliability estimated from it per round and project (stored), who is paused for failing gold;
- ``_close``: the review queue, the rework round, the export of the accepted labels, closing;
- ``_export``: the consensus as COCO / COCO panoptic, work sent back to annotation tools;
- ``_status``: where a round stands.

All SQL is in :mod:`qc.store` (mostly :mod:`qc.store.rounds` and :mod:`qc.store.results`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qc._lazy import lazy_names

if TYPE_CHECKING:
    from qc.rounds._close import CloseResult, close_round, open_region_rework, open_rework_round
    from qc.rounds._disputes import backfill_disputes, build_disputes
    from qc.rounds._export import EXPORT_FORMATS, export_consensus, export_for_tool
    from qc.rounds._followups import assign_followups, pending_images, with_followups
    from qc.rounds._ingest import FileIngest, ingest_folder, submission_files
    from qc.rounds._reliability import ReliabilityUpdate, paused_annotators, round_paused, update_reliability
    from qc.rounds._schedule import ScheduleResult, schedule_round
    from qc.rounds._scoring import ImageOutcome, fuse_accepted_again, score_batch, score_images
    from qc.rounds._setup import ProjectRef, ensure_annotators, init_project, round_guideline, settings_from_guideline
    from qc.rounds._status import ImageRejections, RoundStatus, image_rejections, round_status

_HOMES: dict[str, str] = {
    **dict.fromkeys(("CloseResult", "close_round", "open_region_rework", "open_rework_round"), "qc.rounds._close"),
    **dict.fromkeys(("backfill_disputes", "build_disputes"), "qc.rounds._disputes"),
    **dict.fromkeys(("EXPORT_FORMATS", "export_consensus", "export_for_tool"), "qc.rounds._export"),
    **dict.fromkeys(("FileIngest", "ingest_folder", "submission_files"), "qc.rounds._ingest"),
    **dict.fromkeys(
        ("ReliabilityUpdate", "paused_annotators", "round_paused", "update_reliability"), "qc.rounds._reliability"
    ),
    **dict.fromkeys(("ScheduleResult", "schedule_round"), "qc.rounds._schedule"),
    **dict.fromkeys(("assign_followups", "pending_images", "with_followups"), "qc.rounds._followups"),
    **dict.fromkeys(("ImageOutcome", "fuse_accepted_again", "score_batch", "score_images"), "qc.rounds._scoring"),
    **dict.fromkeys(
        ("ProjectRef", "ensure_annotators", "init_project", "round_guideline", "settings_from_guideline"),
        "qc.rounds._setup",
    ),
    **dict.fromkeys(("ImageRejections", "RoundStatus", "image_rejections", "round_status"), "qc.rounds._status"),
}
"""Each public name's module, imported on first use (``qc round status`` needs ``_status``, not scoring)."""

__all__ = [
    "EXPORT_FORMATS",
    "CloseResult",
    "FileIngest",
    "ImageOutcome",
    "ImageRejections",
    "ProjectRef",
    "ReliabilityUpdate",
    "RoundStatus",
    "ScheduleResult",
    "assign_followups",
    "backfill_disputes",
    "build_disputes",
    "close_round",
    "ensure_annotators",
    "export_consensus",
    "export_for_tool",
    "fuse_accepted_again",
    "image_rejections",
    "ingest_folder",
    "init_project",
    "open_region_rework",
    "open_rework_round",
    "paused_annotators",
    "pending_images",
    "round_guideline",
    "round_paused",
    "round_status",
    "schedule_round",
    "score_batch",
    "score_images",
    "settings_from_guideline",
    "submission_files",
    "update_reliability",
    "with_followups",
]


__getattr__, __dir__ = lazy_names(__name__, _HOMES, __all__)
