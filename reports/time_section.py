"""Time and cost: the minutes annotators spent, as Label Studio measured them (``lead_time``), per image and per
accepted image.

Only assignments synced from Label Studio have a time (:mod:`qc.connect`); the section is
empty otherwise. ``minutes_per_image`` is an annotator's minutes over the images they were
timed on; the ``all`` row's ``minutes_per_accepted`` is every timed minute of the rounds over
their accepted images (the cost of one accepted label, rework and extra annotators included);
NaN when nothing is accepted yet.
"""

from __future__ import annotations

import pandas as pd

from reports.load import Tables
from reports.stats import ratio

__all__ = ["TIME_COLUMNS", "time_frame"]

TIME_COLUMNS = ["annotator", "images", "minutes", "minutes_per_image", "minutes_per_accepted"]


def time_frame(tables: Tables) -> pd.DataFrame:
    """One row per timed annotator, then an ``all`` row (module docstring); no row when nothing is timed."""
    times = tables.lead_times
    if times.empty:
        return pd.DataFrame(columns=TIME_COLUMNS)
    rows = []
    for annotator_id, own in times.groupby("annotator_id", sort=True):
        minutes = float(own["lead_time"].sum()) / 60
        images = int(own[["round_id", "image_id"]].drop_duplicates().shape[0])
        name = tables.people.get(int(annotator_id), str(annotator_id))
        rows.append(
            {"annotator": name, "images": images, "minutes": minutes, "minutes_per_image": ratio(minutes, images)}
        )
    total = float(times["lead_time"].sum()) / 60
    images = int(times[["round_id", "image_id"]].drop_duplicates().shape[0])
    accepted = int((tables.results["verdict"] == "accepted").sum())
    rows.sort(key=lambda r: str(r["annotator"]))
    rows.append(
        {
            "annotator": "all",
            "images": images,
            "minutes": total,
            "minutes_per_image": ratio(total, images),
            "minutes_per_accepted": ratio(total, accepted),
        }
    )
    return pd.DataFrame(rows, columns=TIME_COLUMNS)
