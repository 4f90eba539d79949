"""What one scored image tells about each annotator: one observation per object and annotator.

:func:`observation_rows` is pure (an :class:`~qc.agreement.ImageAgreement` in, plain rows out);
scoring stores the rows in the image result's summary (``summary["observations"]``), so that
annotator reliability is a reduction over small per-image rows (DESIGN §7) and never re-reads a
mask. :func:`to_observations` turns stored rows into :class:`qc.reliability.ObjectObservation`.

Per match group (object) and annotator of the image, as :func:`qc.reliability.observations` reads it:

- a **supported** object (a majority drew it with agreeing shapes) is real: ``extra=False``;
  ``drew`` says whether the annotator drew it (not drawing it is a miss), ``iou_loo`` is the
  IoU of their mask with the majority vote of the others' masks, ``class_ok`` whether their
  class is the majority's;
- an **absent** object (drawn by a minority; the majority did not draw it) is not real:
  ``extra=True``; ``drew`` says whether the annotator drew it (drawing it is an extra);
- a **class conflict** is real (the shapes agree) but its class is undecided: ``class_ok`` is ``None``;
- an **unsupported** object (no majority either way) is left out: nobody knows yet whether it is real.

``gold_iou`` is the annotator's agreement with the known answer of a gold image
(:func:`qc.flags.gold_scores`), the same on each of their rows of that image, else ``None``.

>>> import numpy as np
>>> from qc import masks
>>> from qc.agreement import score_image
>>> from qc.core import Segment
>>> def square(x):
...     m = np.zeros((40, 40), bool); m[10:20, x:x + 10] = True
...     return Segment(x, 1, masks.encode(m))
>>> agreement = score_image({"ann": [square(5)], "bob": [square(5)], "cy": [square(25)]}, height=40, width=40)
>>> rows = observation_rows(agreement, {"ann": 1, "bob": 2, "cy": 3})
>>> for row in rows:
...     print(row["group"], row["person"], row["drew"], row["extra"], row["iou_loo"], row["class_ok"])
0 1 True False 1.0 True
0 2 True False 1.0 True
0 3 False False None None
1 1 False True None None
1 2 False True None None
1 3 True True None None
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from qc.agreement import ImageAgreement
from qc.reliability import ObjectObservation, observations

__all__ = ["observation_rows", "to_observations"]


def observation_rows(
    agreement: ImageAgreement,
    ids: Mapping[str, int],
    *,
    gold: Mapping[str, float] | None = None,
    skip: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """One row per (object, annotator) of the image (:func:`qc.reliability.observations`), naming
    annotators by person id (``ids``), with their gold IoU (``gold``, by name) when the image has a
    known answer. Annotators in ``skip`` (models) get no rows. NaN is stored as ``None``.
    """
    skipped = set(skip)
    people = {name: person for name, person in ids.items() if name in agreement.annotators and name not in skipped}
    names = {person: name for name, person in people.items()}
    on_gold = gold or {}
    return [
        {
            "person": o.person_id,
            "group": o.group,
            "drew": o.drew,
            "iou_loo": _number(o.iou_loo),
            "extra": o.extra,
            "class_ok": o.class_ok,
            "gold_iou": _number(on_gold.get(names[o.person_id])),
        }
        for o in observations(agreement, people)
    ]


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def to_observations(image_id: int, rows: Iterable[Mapping[str, Any]]) -> list[ObjectObservation]:
    """The stored rows of one image as :class:`qc.reliability.ObjectObservation` (reliability's input).

    ``image_id`` names the image to the estimator: the same id must not stand for two scorings
    of one image (a project's rounds pooled give each (round, image) its own).
    """
    return [
        ObjectObservation(
            image_id=image_id,
            person_id=int(row["person"]),
            drew=bool(row["drew"]),
            iou_loo=row["iou_loo"],
            extra=bool(row["extra"]),
            class_ok=row["class_ok"],
            gold_iou=row["gold_iou"],
            group=int(row["group"]),
        )
        for row in rows
    ]
