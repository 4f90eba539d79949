"""Deliveries for a scheduled round: each simulated annotator labels the images they owe and exports a file."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qc.demo._simulation import Simulation, simulate
from qc.demo._truth import write_submission
from qc.formats._base import ParsedAnnotations

if TYPE_CHECKING:
    from sqlmodel import Session

__all__ = ["Delivery", "undelivered", "write_deliveries"]


@dataclass(frozen=True)
class Delivery:
    """One simulated annotator's file for the images they owe, and what the simulation changed."""

    annotator: str
    path: Path
    images: tuple[Any, ...]
    simulation: Simulation


def undelivered(session: Session, *, round_id: int) -> dict[str, list[str]]:
    """File names each annotator is assigned in a round but has not delivered yet."""
    from qc.store.rounds import undelivered_images  # the store is optional for the rest of qc.demo

    owed: dict[str, list[str]] = {}
    for item in undelivered_images(session, round_id=round_id):
        owed.setdefault(item.annotator, []).append(item.file_name)
    return {name: sorted(files) for name, files in sorted(owed.items())}


def write_deliveries(
    owed: Mapping[str, Sequence[str]],
    *,
    truth: ParsedAnnotations,
    profiles: Mapping[str, str],
    folder: str | os.PathLike[str],
    seed: int,
) -> list[Delivery]:
    """Each simulated annotator labels the images they owe (by file name) and exports a COCO file."""
    by_name = {info.file_name: image_id for image_id, info in truth.images.items()}
    categories = list(truth.categories.values())
    out = []
    for annotator, files in owed.items():
        image_ids = [by_name[f] for f in files]
        simulation = simulate(truth.segments, profile=profiles[annotator], seed=seed, image_ids=image_ids)
        path = Path(folder) / f"{annotator}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        images = [truth.images[i] for i in image_ids]
        write_submission(path, images=images, segments=simulation.segments, categories=categories, annotator=annotator)
        out.append(Delivery(annotator, path, tuple(image_ids), simulation))
    return out
