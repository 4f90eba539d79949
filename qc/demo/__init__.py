"""Demo data: scikit-image's bundled sample pictures, their committed ground truth, simulated annotators.

- :mod:`qc.demo._pictures`: the 13 demo pictures (``coins`` whole and in four tiles, the
  Hubble deep field in six tiles, ``cell`` whole and cropped), written as PNG files;
- :mod:`qc.demo._truth`: the ground truth (``examples/demo/truth.json``, built once from
  these pixels by ``examples/demo/make_truth.py`` and committed) and a simulated annotator's
  COCO file;
- :mod:`qc.demo._simulation`: :func:`simulate` turns the truth into what one annotator of a
  :data:`PROFILES` kind (careful, sloppy, misses_small, confuses_class) would deliver,
  with its slips against the guideline (:mod:`qc.demo._slips`: a hole, a stray fragment, a sliver);
- :mod:`qc.demo._deliveries`: the files the simulated annotators deliver for a scheduled
  round (:func:`undelivered` reads what they owe through the store).
"""

from qc.demo._deliveries import Delivery, undelivered, write_deliveries
from qc.demo._pictures import DemoImage, demo_images, image_infos, source_picture, write_demo_images
from qc.demo._simulation import PROFILES, Profile, Simulation, simulate, small_area
from qc.demo._truth import DEFAULT_TRUTH, load_truth, write_submission

__all__ = [
    "DEFAULT_TRUTH",
    "PROFILES",
    "Delivery",
    "DemoImage",
    "Profile",
    "Simulation",
    "demo_images",
    "image_infos",
    "load_truth",
    "simulate",
    "small_area",
    "source_picture",
    "undelivered",
    "write_deliveries",
    "write_demo_images",
    "write_submission",
]
