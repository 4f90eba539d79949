"""The limits qc puts on untrusted input, in one place (the README's "Limits and delivery folders" lists them).

Files from annotation tools are read as untrusted: a few bytes may declare a huge image, a
coordinate of 1e12 or a name of a megabyte. Every reader and every store function that
takes such a value compares it with these limits *before* allocating anything for it.

>>> MAX_IMAGE_PIXELS, MAX_MASK_PIXELS, MAX_NAME_LENGTH
(67108864, 67108864, 64)
"""

from __future__ import annotations

__all__ = [
    "EDGE_TOLERANCE",
    "MAX_IMAGE_PIXELS",
    "MAX_MASK_PIXELS",
    "MAX_NAME_LENGTH",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
]

MAX_IMAGE_PIXELS = 2**26
"""The largest image qc reads annotations of: 67,108,864 pixels (e.g. 8192 x 8192); tile larger images.

A file that declares a larger image (COCO ``images``, CVAT ``<image>``, Label Studio
``original_width``/``original_height``, labelme ``imageHeight``/``imageWidth``, a PNG header)
has that image refused before any of its masks is decoded; ``qc images add`` refuses it too."""

MAX_MASK_PIXELS = 2**26
"""The most pixels one mask may decode to: a CVAT ``<mask>`` box, a labelme ``mask`` PNG, a Label
Studio brush, a label PNG. Each is also checked against its own image's size before decoding."""

EDGE_TOLERANCE = 1.0
"""How far (pixels) a polygon vertex or box corner may lie outside its image: rounding at the border.
Shapes drawn from a centre or rotated (circles, rotated boxes) are cut at this margin; any other
coordinate further out refuses its annotation, naming the field."""

MAX_NAME_LENGTH = 64
"""The longest person name (from a file name, a folder name or ``completed_by``), in characters."""

MAX_YAML_DEPTH = 32
"""The deepest nesting of mappings and lists a guideline may have (a real one needs 4)."""

MAX_YAML_NODES = 50_000
"""The most YAML nodes a guideline may hold once its aliases are expanded (a real one holds a few thousand)."""
