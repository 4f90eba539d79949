"""Score one image: match groups, pairwise agreement, support, consensus, leave-one-out.

:func:`score_image` takes every annotator's segments of one image and returns an
:class:`ImageAgreement` (a frozen dataclass, no database, no Prefect). What is
measured, per DESIGN §4–§5:

- **groups** (:func:`qc.match.group_instances`, class-agnostic so that class conflicts
  show): every pair of members' mask IoU and Boundary IoU, their lowest and mean;
- **support**: with k annotators, a majority m = ⌊k/2⌋ + 1 must hold the object and
  agree pairwise (IoU ≥ ``accept_iou`` and Boundary IoU ≥ ``accept_boundary_iou``);
  the largest such set of members are the *supporters*, and a majority of them must
  share a class. A group is ``supported``, ``class_conflict`` (shape agreed, class
  not), ``absent`` (a majority of annotators did not draw it: an extra object) or
  ``unsupported`` (neither presence nor absence has a majority, or the shapes
  disagree). Under consensus ``weighted`` / ``auto`` with ``reliability_decides_at`` annotators, a
  group a majority drew but no majority agrees on is ``supported`` when the members' measured
  weights decide it (:func:`qc.consensus.reliability_decides`): the decider's side are the supporters,
  ``decided_by`` names the decider;
- **consensus** of a supported group from its supporters only (majority vote, or STAPLE);
- each member's IoU / Boundary IoU against that consensus;
- each annotator's **leave-one-out** agreement: per object they and others drew, the IoU of
  their mask with the majority vote of the *other* annotators' masks, averaged (shape
  agreement; misses and extras are the ``missed`` / ``extra`` findings);
- per annotator pair: PQ / SQ / RQ (panopticapi rules for panoptic projects; for instance
  projects TP = a pair in one group with the same class and IoU ≥ ``match_iou``, counted
  by :class:`qc.match.MatchTally`);
- semantic projects: per-class IoU per pair, Fleiss' kappa and Krippendorff's alpha over pixels.

Everything per group runs on one crop around the group (its box grown by the boundary
band + 2), decoded once; nothing is painted into a full frame except the label maps of
semantic projects, whose pixel-level kappa needs them.

The room: ``_settings`` (the thresholds), ``_results`` (the frozen dataclasses),
``_groups`` (one group on one crop), ``_score`` (:func:`score_image` and the per-image measures).
"""

from qc.agreement._results import (
    AnnotatorAgreement,
    ConsensusSegment,
    GroupAgreement,
    GroupStatus,
    ImageAgreement,
    PairAgreement,
    PairScore,
    SemanticAgreement,
)
from qc.agreement._score import score_image
from qc.agreement._settings import AgreementSettings

__all__ = [
    "AgreementSettings",
    "AnnotatorAgreement",
    "ConsensusSegment",
    "GroupAgreement",
    "GroupStatus",
    "ImageAgreement",
    "PairAgreement",
    "PairScore",
    "SemanticAgreement",
    "score_image",
]
