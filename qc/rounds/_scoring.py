"""Score: checks, agreement and the assessment of each complete image, stored with its verdict.

Scoring skips images whose inputs did not change (``image_result.input_hash``). An image
that escalates is stored with the verdict ``escalate`` and no follow-up yet; once the scoring
of a run is done, :func:`assign_followups` gives every such image of the round one more
annotator (adaptive overlap) in one transaction, in image-id order, with the load read from the
committed assignments: a pure function of the stored state, so that which annotator gets a
follow-up never depends on which parallel batch stored first, and a resumed run assigns what
an uninterrupted one would. An image
that has a review item belongs to a reviewer: new submissions (a re-delivery while the round
is open) are scored, the verdict stays ``review`` and the item is re-opened
(:func:`qc.review.reopen_after_redelivery`), so that no decision is undone in silence.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from qc import routing, routing_policy
from qc.agreement import AgreementSettings, ImageAgreement, score_image
from qc.automation import AutomationRate, ModelAgreement, automation_rate, model_agreement
from qc.checks import check_submission
from qc.core import Segment, Verdict
from qc.errors import NotFoundError, QCError
from qc.flags import Assessment, Finding, assess, gold_findings, gold_scores
from qc.guideline import Guideline
from qc.rounds._followups import assign_followups, round_people, with_followups
from qc.rounds._observations import observation_rows
from qc.rounds._records import flag_rows, model_rows, score_rows
from qc.rounds._reliability import project_reliability, update_reliability
from qc.rounds._setup import round_guideline, settings_from_guideline
from qc.store import db
from qc.store import models as m
from qc.store.api import get_row
from qc.store.results import (
    ImageInputs,
    image_inputs,
    image_results_of,
    input_hash,
    list_image_results,
    save_image_result,
)
from qc.store.review import reviewed_images
from qc.store.segments import consensus_segments, load_gold_segments, load_segments_of

if TYPE_CHECKING:
    from qc.reliability import Reliability

__all__ = ["ImageOutcome", "fuse_accepted_again", "score_batch", "score_images"]


@dataclass(frozen=True)
class ImageOutcome:
    image_id: int
    verdict: str
    stored: bool
    labels: int
    findings: Mapping[str, int] = field(default_factory=dict)
    followup: str | None = None
    reopened: int | None = None
    """The review item this new result put back in front of a reviewer, if any."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "verdict": self.verdict,
            "stored": self.stored,
            "labels": self.labels,
            "findings": dict(self.findings),
            "followup": self.followup,
            "reopened": self.reopened,
        }


def score_batch(database_url: str | None, *, round_id: int, image_ids: Sequence[int]) -> list[ImageOutcome]:
    """Score images on the database at ``database_url``; each image is stored in its own transaction.

    Escalated images get no follow-up here: call :func:`assign_followups` once every batch of
    the run is stored (batches run in parallel; the choice must not depend on their timing).

    The batch's inputs (the round's guideline and annotators, each image's submissions and
    stored result, the segments) are read in one read-only transaction; each image is then
    scored without holding a transaction and stored in a short write one, so that parallel
    workers on SQLite hold the write lock only while they write. Storing re-checks the
    result's input hash, so a concurrent or repeated run never stores an image twice.
    """
    engine = db.make_engine(database_url)
    try:
        with db.session_scope(engine, write=False) as session:
            context = _RoundContext.load(session, round_id)
            batch = _BatchInputs.load(session, context, image_ids)
        out = []
        for image_id in image_ids:
            scored = batch.compute(context, image_id)
            if isinstance(scored, ImageOutcome):
                out.append(scored)
                continue
            with db.session_scope(engine) as session:
                out.append(_store(session, context, scored))
        return out
    finally:
        engine.dispose()


def score_images(session: Session, *, round_id: int, image_ids: Sequence[int]) -> list[ImageOutcome]:
    """Score images of a round, store each result (unchanged inputs store nothing), then assign follow-ups.

    The follow-ups are :func:`assign_followups`'s, after every image is stored; when anything
    new was stored, the annotators' reliability is estimated again (:func:`update_reliability`).
    """
    context = _RoundContext.load(session, round_id)
    batch = _BatchInputs.load(session, context, image_ids)
    out = []
    for image_id in image_ids:
        scored = batch.compute(context, image_id)
        out.append(scored if isinstance(scored, ImageOutcome) else _store(session, context, scored))
    chosen = assign_followups(session, round_id=round_id)
    if any(o.stored for o in out):
        update_reliability(session, round_id=round_id)
    return with_followups(out, chosen)


@dataclass(frozen=True)
class _RoundContext:
    round_id: int
    guideline: Guideline
    settings: AgreementSettings
    names: Mapping[int, str]
    pool: tuple[routing.Annotator, ...]
    models: frozenset[str] = frozenset()
    reliability: Mapping[str, Reliability] = field(default_factory=dict)
    """The project's stored reliability of each annotator (by name): weights and the settle policy."""

    @classmethod
    def load(cls, session: Session, round_id: int) -> _RoundContext:
        guideline = round_guideline(session, round_id=round_id)
        people = round_people(session, round_id=round_id, guideline=guideline)
        project_id = get_row(session, m.Round, round_id).project_id
        names = people.names
        measured = {names[p]: r for p, r in project_reliability(session, project_id=project_id).items() if p in names}
        settings = settings_from_guideline(guideline)
        if guideline.consensus.method in ("weighted", "auto"):  # each boundary weighs as reliably as it was drawn
            k_max = guideline.routing.k_max
            settings = replace(
                settings,
                annotator_weights=tuple(sorted((n, r.weight) for n, r in measured.items())),
                reliability_decides_at=k_max if k_max >= 2 else None,  # escalation first, then reliability
            )
        return cls(round_id, guideline, settings, names, people.pool, people.models, measured)

    def settles(self, agreement: ImageAgreement) -> bool:
        """Whether two agreeing first-pass annotators settle the image (:func:`qc.routing_policy.settles`).

        Only adaptive overlap with two labels asks; annotators without measured reliability settle.
        """
        if not self.guideline.routing.adaptive or len(agreement.annotators) != 2 or not self.reliability:
            return True
        pair = [self.reliability.get(a) for a in agreement.annotators]
        lowest = min((g.min_iou for g in agreement.groups if g.pairs and not math.isnan(g.min_iou)), default=math.nan)
        reference = routing_policy.reference_error({r.person_id: r for r in self.reliability.values()})
        return routing_policy.settles(pair, lowest, reference_error=reference)


@dataclass(frozen=True)
class _Scored:
    inputs: ImageInputs
    digest: str
    agreement: ImageAgreement
    assessment: Assessment
    violations: int
    models: tuple[ModelAgreement | tuple[str, AutomationRate], ...] = ()
    reviewed: bool = False
    gold: Mapping[str, float] = field(default_factory=dict)
    """Each annotator's agreement with the known answer of a gold image (empty otherwise)."""
    settled: bool = True
    """Whether the annotators were reliable enough to settle the image by agreeing (see ``_RoundContext.settles``)."""


@dataclass(frozen=True)
class _BatchInputs:
    """Everything needed to score a batch of images, read at once."""

    inputs: Mapping[int, ImageInputs]
    results: Mapping[int, m.ImageResult]
    segments: Mapping[int, list[Segment]]
    gold: Mapping[int, list[Segment]]
    reviewed: frozenset[int] = frozenset()

    @classmethod
    def load(cls, session: Session, context: _RoundContext, image_ids: Sequence[int]) -> _BatchInputs:
        inputs = image_inputs(session, round_id=context.round_id, image_ids=image_ids)
        missing = [i for i in image_ids if i not in inputs]
        if missing:
            raise NotFoundError(f"images {missing[:10]} are not part of round {context.round_id}", image_id=missing[0])
        results = image_results_of(session, round_id=context.round_id, image_ids=image_ids)
        wanted = [s.submission_id for i in inputs.values() for s in i.submissions]
        segments = load_segments_of(session, submission_ids=wanted)
        gold = load_gold_segments(session, image_ids=image_ids)
        reviewed = reviewed_images(session, round_id=context.round_id, image_ids=image_ids)
        return cls(inputs, results, segments, gold, frozenset(reviewed))

    def compute(self, context: _RoundContext, image_id: int) -> _Scored | ImageOutcome:
        inputs = self.inputs[image_id]
        digest = input_hash(inputs, guideline_hash=context.guideline.text_hash)
        existing = self.results.get(image_id)
        if existing is not None and existing.input_hash == digest:
            findings = dict((existing.summary or {}).get("findings", {}))
            return ImageOutcome(image_id, existing.verdict, False, existing.labels_spent, findings)
        by_name = {context.names[s.annotator_id]: self.segments[s.submission_id] for s in inputs.submissions}
        scored = _compute(context, inputs, by_name, self.gold.get(image_id), digest)
        return replace(scored, reviewed=image_id in self.reviewed)


def fuse_accepted_again(session: Session, *, round_id: int) -> list[int]:
    """Fuse the consensus of the round's accepted images again with the project's current reliability.

    Only under consensus ``weighted`` / ``auto``, whose consensus depends on the reliability weights:
    images scored early in a round were fused before much was measured about their annotators.
    Each accepted image (not one a reviewer owns, nor one whose inputs changed since it was scored)
    is scored again from the same submissions with the current weights; when it is still accepted
    (routing is not redone: two agreeing labels that settled it still do) and its consensus
    changed, its result is stored in place of the old one (same input hash). Returns those image ids.
    :func:`qc.rounds.close_round` calls it once the round's reliability is estimated.
    """
    context = _RoundContext.load(session, round_id)
    if context.settings.consensus_method not in ("weighted", "auto") or not context.reliability:
        return []
    accepted = [r for r in list_image_results(session, round_id=round_id) if r.verdict == Verdict.ACCEPTED.value]
    if not accepted:
        return []
    batch = _BatchInputs.load(session, context, [r.image_id for r in accepted])
    changed = []
    for result in accepted:
        inputs = batch.inputs[result.image_id]
        digest = input_hash(inputs, guideline_hash=context.guideline.text_hash)
        if result.image_id in batch.reviewed or result.input_hash != digest:
            continue
        by_name = {context.names[s.annotator_id]: batch.segments[s.submission_id] for s in inputs.submissions}
        scored = _compute(context, inputs, by_name, batch.gold.get(result.image_id), digest, settled=True)
        if scored.assessment.verdict is not Verdict.ACCEPTED:
            continue
        before = [dict(s.rle) for s in consensus_segments(session, round_id=round_id, image_id=result.image_id)]
        after = [dict(c.rle) for c in scored.agreement.consensus]
        if [_counts(r) for r in before] == [_counts(r) for r in after]:
            continue
        _store(session, context, scored, replace=True)
        changed.append(result.image_id)
    return changed


def _counts(rle: Mapping[str, Any]) -> tuple[tuple[int, ...], str]:
    counts = rle["counts"]
    return tuple(rle["size"]), counts.decode() if isinstance(counts, bytes) else str(counts)


def _compute(
    ctx: _RoundContext,
    inputs: ImageInputs,
    by_name: Mapping[str, Sequence[Segment]],
    gold: list[Segment] | None,
    digest: str,
    *,
    settled: bool | None = None,
) -> _Scored:
    """Checks, agreement and assessment of one image (pure: no database).

    ``settled`` overrides the settle policy (:meth:`_RoundContext.settles`), e.g. ``True`` when the
    image's routing is already decided.
    """
    if not inputs.complete or not inputs.submissions:
        raise QCError(
            f"image {inputs.image_id} of round {ctx.round_id} is not complete: "
            f"{len(inputs.submissions)} of {len(inputs.assigned)} annotators delivered; ingest the rest first",
            image_id=inputs.image_id,
        )
    h, w = inputs.height, inputs.width
    model_input = {n: segs for n, segs in by_name.items() if n in ctx.models}
    if not ctx.guideline.consensus.models_vote and len(model_input) < len(by_name):
        by_name = {n: segs for n, segs in by_name.items() if n not in ctx.models}
    violations = {
        name: check_submission(segs, height=h, width=w, guideline=ctx.guideline) for name, segs in by_name.items()
    }
    agreement = score_image(by_name, height=h, width=w, image_id=inputs.image_id, settings=ctx.settings)
    extra: list[Finding] = []
    on_gold: dict[str, float] = {}
    if gold is not None:
        t = ctx.guideline.thresholds
        on_gold = gold_scores(by_name, gold, height=h, width=w)
        extra = gold_findings(by_name, gold, height=h, width=w, gold_iou=t.gold_iou, scores=on_gold)
    settled = ctx.settles(agreement) if settled is None else settled
    k_max = ctx.guideline.routing.k_max
    assessment = assess(agreement, violations=violations, k_max=k_max, extra_findings=extra, settled=settled)
    models = _model_scores(ctx, by_name, model_input, agreement)
    n_violations = sum(len(v) for v in violations.values())
    return _Scored(inputs, digest, agreement, assessment, n_violations, models, gold=on_gold, settled=settled)


def _model_scores(
    ctx: _RoundContext,
    by_name: Mapping[str, Sequence[Segment]],
    model_input: Mapping[str, Sequence[Segment]],
    agreement: ImageAgreement,
) -> tuple[ModelAgreement | tuple[str, AutomationRate], ...]:
    """Each human's agreement with each model, and each model's automation rate against the consensus."""
    t = ctx.settings
    consensus = [Segment(i, c.category_id, c.rle) for i, c in enumerate(agreement.consensus)]
    out: list[ModelAgreement | tuple[str, AutomationRate]] = []
    for model, model_segments in model_input.items():
        for human, segments in by_name.items():
            if human not in ctx.models:
                out.append(model_agreement(segments, model_segments, human=human, model=model, match_iou=t.match_iou))
        out.append((model, automation_rate(model_segments, consensus, accept_iou=t.accept_iou)))
    return tuple(out)


def _store(session: Session, ctx: _RoundContext, scored: _Scored, *, replace: bool = False) -> ImageOutcome:
    """Write one scored image; an escalated one waits for :func:`assign_followups` (its follow-up is ``None`` here).

    ``replace``: store it even though its inputs did not change (:func:`fuse_accepted_again`).
    """
    inputs, agreement, assessment = scored.inputs, scored.agreement, scored.assessment
    ids = {name: person for person, name in ctx.names.items()}
    verdict = assessment.verdict
    if scored.reviewed:  # a reviewer owns this image: new work goes back to them, not to more annotators
        verdict = Verdict.REVIEW
    summary = _summary(agreement, assessment, None, scored.violations)
    summary["observations"] = observation_rows(agreement, ids, gold=scored.gold, skip=ctx.models)
    if not scored.settled:  # agreed, but the pair's measured reliability asks for one more label
        summary["unsettled"] = True
    stored = save_image_result(
        session,
        round_id=ctx.round_id,
        image_id=inputs.image_id,
        input_hash=scored.digest,
        verdict=verdict.value,
        labels_spent=assessment.labels_spent,
        summary=summary,
        scores=score_rows(agreement, ids) + model_rows(scored.models, ids),
        flags=flag_rows(assessment, ids),
        consensus=[
            (c.category_id, c.rle, c.area, c.bbox, [ids[a] for a in c.supporters if a in ids])
            for c in agreement.consensus
        ],
        consensus_method=ctx.settings.consensus_method,
        replace=replace,
    )
    reopened = _reopen(session, ctx, inputs) if stored and scored.reviewed else None
    return ImageOutcome(
        inputs.image_id, verdict.value, stored, len(agreement.annotators), summary["findings"], None, reopened
    )


def _reopen(session: Session, ctx: _RoundContext, inputs: ImageInputs) -> int | None:
    """Put the image's review item back in front of a reviewer (see :mod:`qc.review.reopen`)."""
    from qc.review import reopen_after_redelivery  # the review rules; imported here to keep scoring workers light
    from qc.rounds._disputes import build_disputes

    reopened = reopen_after_redelivery(session, round_id=ctx.round_id, image_id=inputs.image_id)
    if reopened is not None:
        build_disputes(session, round_id=ctx.round_id, image_ids=[inputs.image_id], rebuild=True)
    return None if reopened is None else reopened.item_id


def _summary(
    agreement: ImageAgreement, assessment: Assessment, followup: str | None, violations: int
) -> dict[str, Any]:
    return {
        "annotators": list(agreement.annotators),
        "groups": len(agreement.groups),
        "status": dict(Counter(str(g.status) for g in agreement.groups)),
        "findings": dict(Counter(str(f.kind) for f in assessment.findings)),
        "violations": violations,
        "followup": followup,
        "consensus_segments": len(agreement.consensus),
    }
