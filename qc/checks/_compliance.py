"""Compliance frames: violations turned into one row per (segment or image, applicable rule), and rates.

Only the reports need pandas, so it is imported inside the functions: ``import qc.checks`` stays light.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qc.checks._base import IMAGE_RULES, Rule, Violation
from qc.core import Segment
from qc.errors import InvalidOptionError, QCError
from qc.guideline import Guideline

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["IMAGE_CLASS", "compliance_frame", "summarise", "violation_records"]


def violation_records(
    segments: Sequence[Segment],
    violations: Sequence[Violation],
    *,
    annotator: Any,
    image_id: Any,
    guideline: Guideline,
) -> list[dict[str, Any]]:
    """Records for :func:`compliance_frame`: one per segment, plus one ``class=None`` record for the image.

    Each record holds the violations about it; an ``overlap`` counts for its first segment.
    """
    by_segment: dict[Any, list[Violation]] = {segment.id: [] for segment in segments}
    image_level: list[Violation] = []
    for violation in violations:
        by_segment.get(violation.segment_id, image_level).append(violation)
    records = []
    for segment in segments:
        rule = guideline.class_by_id(segment.category_id)
        name = rule.name if rule is not None else f"unknown:{segment.category_id}"
        records.append(
            {"annotator": annotator, "image_id": image_id, "class": name, "violations": by_segment[segment.id]}
        )
    records.append({"annotator": annotator, "image_id": image_id, "class": None, "violations": image_level})
    return records


_FRAME_COLUMNS = ["record", "annotator", "image_id", "class", "rule", "violations"]
_GROUP_KEYS = ("annotator", "image_id", "class", "rule")
IMAGE_CLASS = "(image)"


def compliance_frame(rows: Iterable[Mapping[str, Any] | Sequence[Any]]) -> pd.DataFrame:
    """Long frame of checks: one row per (record, applicable rule) with the count of violations.

    A record is a mapping with keys ``annotator``, ``image_id``, ``class``, ``violations`` (or a
    4-tuple in that order): one segment (``class`` its name) or one image (``class`` None, shown
    as ``"(image)"``). Segment records get a row for every per-segment rule, image records for
    every image rule, so a rule's rate is counted over the records it applies to.
    Columns: ``record`` (input position), ``annotator``, ``image_id``, ``class``, ``rule``, ``violations``.
    """
    import pandas as pd  # only reports need pandas: keep `import qc.checks` light

    segment_rules = [rule for rule in Rule if rule not in IMAGE_RULES]
    image_rules = [rule for rule in Rule if rule in IMAGE_RULES]
    table: list[tuple[Any, ...]] = []
    for index, row in enumerate(rows):
        annotator, image_id, name, violations = _unpack(row, index)
        counts: dict[str, int] = {}
        for violation in violations:
            counts[Rule(violation.rule).value] = counts.get(Rule(violation.rule).value, 0) + 1
        applicable = image_rules if name is None else segment_rules
        label = IMAGE_CLASS if name is None else name
        table.extend((index, annotator, image_id, label, r.value, counts.get(r.value, 0)) for r in applicable)
    frame = pd.DataFrame(table, columns=_FRAME_COLUMNS)
    frame["violations"] = frame["violations"].astype("int64")
    return frame


def summarise(frame: pd.DataFrame, *, by: Sequence[str] = ("annotator", "rule")) -> pd.DataFrame:
    """Counts and rates per group of :func:`compliance_frame` rows.

    Columns: the ``by`` keys, ``items`` (records checked), ``flagged`` (records with at
    least one violation), ``violations`` (their total) and ``rate`` = flagged / items.
    Without ``rule`` in ``by``, a record is flagged when any rule flags it.
    """
    keys = list(by)
    if not keys or any(key not in _GROUP_KEYS for key in keys):
        raise InvalidOptionError(
            "by", _GROUP_KEYS, keys, hint="summarise groups by one or more columns of the compliance frame"
        )
    per_record = frame.groupby([*keys, "record"], sort=True, dropna=False)["violations"].sum().reset_index()
    per_record["flagged"] = per_record["violations"] > 0
    grouped = per_record.groupby(keys, sort=True, dropna=False)
    summary = grouped.agg(
        items=("record", "size"), flagged=("flagged", "sum"), violations=("violations", "sum")
    ).reset_index()
    summary["flagged"] = summary["flagged"].astype("int64")
    summary["rate"] = summary["flagged"] / summary["items"]
    return summary


def _unpack(row: Mapping[str, Any] | Sequence[Any], index: int) -> tuple[Any, Any, str | None, Sequence[Violation]]:
    try:
        if isinstance(row, Mapping):
            return row["annotator"], row["image_id"], row["class"], row["violations"]
        annotator, image_id, name, violations = row
        return annotator, image_id, name, violations
    except (KeyError, ValueError, TypeError) as exc:
        raise QCError(
            f"compliance record {index} must be a mapping with annotator, image_id, class, violations "
            f"(or a 4-tuple in that order); got {row!r}",
            field="rows",
        ) from exc
