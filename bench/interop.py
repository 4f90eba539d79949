"""Speed of the CVAT XML reader: a 1,000-image export with 20 masks per image (target: under 10 s).

Run: ``.venv/bin/python -m bench.interop [--images 1000] [--masks 20]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from qc.formats.cvat import mask_runs, read_cvat_xml


def write_export(path: Path, *, images: int, per_image: int, seed: int = 0) -> None:
    """A synthetic CVAT for images 1.1 export: elliptic masks of 20-120 px in 1280x720 frames."""
    rng = np.random.default_rng(seed)
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<annotations><version>1.1</version><meta><task><labels>"]
    lines += [f"<label><name>class{c}</name><type>mask</type></label>" for c in range(5)]
    lines.append("</labels></task></meta>")
    for image in range(images):
        lines.append(f'<image id="{image}" name="frame_{image:05d}.jpg" width="1280" height="720">')
        for _ in range(per_image):
            w, h = (int(v) for v in rng.integers(20, 120, size=2))
            left, top = int(rng.integers(0, 1280 - w)), int(rng.integers(0, 720 - h))
            yy, xx = np.mgrid[:h, :w]
            crop = ((yy - h / 2) / (h / 2)) ** 2 + ((xx - w / 2) / (w / 2)) ** 2 <= 1
            rle = ", ".join(map(str, mask_runs(crop)))
            label = f"class{int(rng.integers(0, 5))}"
            lines.append(
                f'<mask label="{label}" source="manual" occluded="0" rle="{rle}" '
                f'left="{left}" top="{top}" width="{w}" height="{h}" z_order="0"></mask>'
            )
        lines.append("</image>")
    lines.append("</annotations>")
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--masks", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "annotations.xml"
        write_export(path, images=args.images, per_image=args.masks)
        size = path.stat().st_size / 1e6
        start = time.perf_counter()
        parsed = read_cvat_xml(path)
        elapsed = time.perf_counter() - start
    print(
        f"read_cvat_xml: {args.images} images, {len(parsed.segments)} masks, {size:.1f} MB "
        f"in {elapsed:.2f} s ({len(parsed.rejections)} rejections); target < 10 s"
    )


if __name__ == "__main__":
    main()
