"""Charts as inline SVG (matplotlib, Agg backend, no external font or URL) and overlay thumbnails as PNG data URIs."""

from __future__ import annotations

import base64
import io
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from PIL import Image as PILImage
from PIL import ImageDraw

from qc import masks
from qc.core import Segment

__all__ = ["balance_svg", "heatmap_svg", "overlay_png", "trend_svg"]

plt.rcParams.update({"svg.fonttype": "path", "font.family": "DejaVu Sans", "svg.hashsalt": "qc"})


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)
    return re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", text, count=2)


def heatmap_svg(matrix: pd.DataFrame) -> str:
    """Annotator x annotator mean IoU as a coloured grid with the values written in."""
    if matrix.empty:
        return ""
    size = 1.2 + 0.6 * len(matrix)
    figure, axes = plt.subplots(figsize=(size + 1.2, size))
    values = matrix.to_numpy(dtype=np.float64)
    image = axes.imshow(np.ma.masked_invalid(values), vmin=0.0, vmax=1.0, cmap="viridis")
    axes.set_xticks(range(len(matrix)), [str(c) for c in matrix.columns], rotation=45, ha="right")
    axes.set_yticks(range(len(matrix)), [str(i) for i in matrix.index])
    for (row, column), value in np.ndenumerate(values):
        if not math.isnan(value):
            axes.text(column, row, f"{value:.2f}", ha="center", va="center", color="w", fontsize=8)
    figure.colorbar(image, ax=axes, label="mean IoU")
    return _svg(figure)


def trend_svg(trends: pd.DataFrame) -> str:
    """Mean leave-one-out IoU per annotator over rounds (one line each)."""
    if trends.empty:
        return ""
    figure, axes = plt.subplots(figsize=(6, 3))
    for name, part in trends.groupby("annotator"):
        axes.plot(part["round_id"].astype(str), part["loo_iou"], marker="o", label=str(name))
    axes.set_xlabel("round")
    axes.set_ylabel("leave-one-out IoU")
    axes.set_ylim(0, 1)
    axes.legend(fontsize=7, loc="lower left")
    return _svg(figure)


def balance_svg(balance: pd.DataFrame) -> str:
    """Pixel share per class as horizontal bars."""
    if balance.empty:
        return ""
    figure, axes = plt.subplots(figsize=(6, 0.6 + 0.35 * len(balance)))
    axes.barh([str(c) for c in balance["class"]], balance["pixel_share"], color="#4c78a8")
    axes.set_xlabel("share of labelled pixels")
    axes.invert_yaxis()
    return _svg(figure)


def overlay_png(
    segments_by_annotator: Mapping[int, Sequence[Segment]],
    boxes: Sequence[tuple[int, int, int, int]],
    *,
    height: int,
    width: int,
    path: str | None = None,
    size: int = 160,
) -> str:
    """A small PNG (``data:`` URI): the image (grey when absent), pixels all annotators drew in green,
    pixels only some drew in red, finding boxes outlined in yellow."""
    votes = np.zeros((height, width), dtype=np.int16)
    for segments in segments_by_annotator.values():
        if segments:
            votes += masks.decode(masks.merge([s.rle for s in segments])).astype(np.int16)
    base = _background(path, height, width)
    k = max(len(segments_by_annotator), 1)
    colour = np.asarray(base, dtype=np.float32)
    for mask, tint in ((votes == k, (40, 200, 80)), ((votes > 0) & (votes < k), (230, 30, 30))):
        colour[mask] = 0.45 * colour[mask] + 0.55 * np.asarray(tint, dtype=np.float32)
    picture = PILImage.fromarray(colour.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(picture)
    for x, y, w, h in boxes:
        if w > 0 and h > 0:
            draw.rectangle((x, y, x + w - 1, y + h - 1), outline=(255, 220, 0), width=max(1, width // 150))
    picture.thumbnail((size, size))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _background(path: str | None, height: int, width: int) -> PILImage.Image:
    if path and Path(path).is_file():
        try:
            with PILImage.open(path) as opened:
                picture = opened.convert("RGB")
            if picture.size == (width, height):
                return picture
        except OSError:
            pass
    return PILImage.new("RGB", (width, height), (128, 128, 128))
