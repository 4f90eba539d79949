"""Consensus rounds over the store: set up, schedule, ingest, score, close (no Prefect here).

The flows in ``flows/round.py`` are thin wrappers around these functions; the CLI and the
tests call the same functions. Each function takes an open session first and leaves the
commit to the caller, except :func:`score_batch`, which opens one transaction per image so
that a crash loses at most the image being scored and never leaves half of one stored.

Re-running is safe everywhere: scheduling the same round name twice is refused, ingesting
the same file again stores nothing, scoring skips images whose inputs did not change
(``image_result.input_hash``), and closing twice creates nothing new.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from qc import masks, routing
from qc.agreement import AgreementSettings, ImageAgreement, score_image
from qc.automation import AutomationRate, ModelAgreement, automation_rate, model_agreement
from qc.checks import check_submission
from qc.core import Category, ImageInfo, Segment, Task, Verdict
from qc.errors import ConflictError, FormatError, NotFoundError, QCError
from qc.flags import Assessment, Finding, assess, gold_findings
from qc.formats import coco, cvat, labelstudio
from qc.formats import panoptic as panoptic_format
from qc.formats._base import ParsedAnnotations
from qc.formats.detect import read_any
from qc.guideline import Guideline, parse_guideline
from qc.store import db
from qc.store import models as m
from qc.store.api import (
    add_assignments,
    add_guideline_version,
    add_label_classes,
    add_person,
    create_project,
    create_round,
    get_row,
    record_event,
)
from qc.store.ingest import IngestResult, ingest_file, latest_submissions, sha256_file
from qc.store.results import (
    ImageInputs,
    add_review_items,
    image_inputs,
    input_hash,
    list_image_results,
    save_image_result,
    scored_hashes,
)
from qc.store.segments import consensus_segments, load_gold_segments, load_segments_of

__all__ = [
    "CloseResult",
    "FileIngest",
    "ImageOutcome",
    "ProjectRef",
    "RoundStatus",
    "ScheduleResult",
    "close_round",
    "ensure_annotators",
    "export_consensus",
    "export_for_tool",
    "ingest_folder",
    "init_project",
    "open_rework_round",
    "pending_images",
    "round_guideline",
    "round_status",
    "schedule_round",
    "score_batch",
    "score_images",
    "settings_from_guideline",
    "submission_files",
]

log = logging.getLogger(__name__)


# --- set up ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectRef:
    project_id: int
    guideline_version_id: int
    name: str
    created: bool


def init_project(session: Session, *, guideline: Guideline, name: str | None = None) -> ProjectRef:
    """Create the project of a guideline (classes and guideline version), or add a new guideline version.

    An existing version string with different text is a :class:`ConflictError`: bump
    ``version`` when the rules change.
    """
    name = name or guideline.name or "project"
    project = session.scalars(select(m.Project).where(m.Project.name == name)).first()
    created = project is None
    if project is None:
        project = create_project(session, name=name, task_type=guideline.task.value)
        categories = [Category(c.id, c.name, c.kind.value == "thing") for c in guideline.classes]
        add_label_classes(session, project_id=_id(project), categories=categories)
    versions = session.scalars(
        select(m.GuidelineVersion).where(
            m.GuidelineVersion.project_id == project.id, m.GuidelineVersion.version == guideline.version
        )
    ).first()
    if versions is None:
        versions = add_guideline_version(
            session, project_id=_id(project), version=guideline.version, text=guideline.text
        )
    elif versions.text_hash != guideline.text_hash:
        raise ConflictError(
            f"guideline version {guideline.version!r} of project {name!r} is stored with other text; "
            "bump `version` in the guideline file when you change it",
            path=guideline.source,
            field="version",
        )
    return ProjectRef(_id(project), _id(versions), name, created)


def ensure_annotators(session: Session, *, names: Iterable[str], role: str = "annotator") -> dict[str, int]:
    """Person ids of ``names``, adding the missing ones with ``role``; an existing person must have it."""
    out: dict[str, int] = {}
    for name in names:
        person = session.scalars(select(m.Person).where(m.Person.name == name)).first()
        if person is None:
            person = add_person(session, name=name, roles=[role])
        elif role not in person.roles:
            raise ConflictError(
                f"person {name!r} exists without the role {role!r} (roles: {person.roles}); add the role first",
                field="roles",
            )
        out[name] = _id(person)
    return out


def round_guideline(session: Session, *, round_id: int) -> Guideline:
    """The guideline version a round runs under."""
    round_row = get_row(session, m.Round, round_id)
    if round_row.guideline_version_id is None:
        raise NotFoundError(f"round {round_id} has no guideline version; schedule rounds with qc round schedule")
    version = get_row(session, m.GuidelineVersion, round_row.guideline_version_id)
    return _parse_stored(version.text, version.version)


@lru_cache(maxsize=32)
def _parse_stored(text: str, version: str) -> Guideline:
    """Stored guideline texts validated once per process (a Guideline is immutable)."""
    return parse_guideline(text, source=f"guideline {version} (stored)")


def settings_from_guideline(guideline: Guideline) -> AgreementSettings:
    """The agreement thresholds a guideline sets."""
    t = guideline.thresholds
    return AgreementSettings(
        task=guideline.task.value,
        match_iou=t.match_iou,
        accept_iou=t.accept_iou,
        accept_boundary_iou=t.accept_boundary_iou,
        dilation_ratio=t.dilation_ratio,
        consensus_method=guideline.consensus.method.value,
        strict_majority=guideline.consensus.strict,
        stuff_classes=frozenset(c.id for c in guideline.classes if c.kind.value == "stuff"),
    )


# --- schedule --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleResult:
    round_id: int
    assignments: int
    images: int
    gold_images: tuple[int, ...]
    unassigned: tuple[tuple[int, str], ...]
    load: Mapping[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "round_id": self.round_id,
            "assignments": self.assignments,
            "images": self.images,
            "gold_images": list(self.gold_images),
            "unassigned": [list(u) for u in self.unassigned],
            "load": dict(self.load),
        }


def schedule_round(
    session: Session,
    *,
    project_id: int,
    annotators: Sequence[str],
    seed: int,
    image_ids: Sequence[int] | None = None,
    gold_image_ids: Sequence[int] = (),
    k: int | None = None,
    name: str | None = None,
    kind: str = "consensus",
) -> ScheduleResult:
    """A new round of the project's newest guideline: each image routed blind to k annotators.

    ``k`` defaults to the guideline's ``k_initial`` (adaptive overlap adds more later);
    gold images (with a stored known answer) are mixed in at the guideline's ``gold_rate``.
    """
    if (
        name is not None
        and session.scalars(select(m.Round.id).where(m.Round.project_id == project_id, m.Round.name == name)).first()
    ):
        raise ConflictError(f"project {project_id} has a round named {name!r} already; choose another name")
    version = session.scalars(
        select(m.GuidelineVersion)
        .where(m.GuidelineVersion.project_id == project_id)
        .order_by(col(m.GuidelineVersion.id).desc())
    ).first()
    if version is None:
        raise NotFoundError(f"project {project_id} has no guideline; run qc init --guideline FILE first")
    guideline = _parse_stored(version.text, version.version)
    k = k or guideline.routing.k_initial
    people = ensure_annotators(session, names=annotators)
    images = list(image_ids) if image_ids is not None else _project_images(session, project_id)
    plan = routing.plan_round(
        images,
        [routing.Annotator(a, guideline.routing.capacity) for a in annotators],
        k=k,
        seed=seed,
        gold_image_ids=gold_image_ids,
        gold_rate=guideline.routing.gold_rate if gold_image_ids else 0.0,
    )
    round_row = create_round(session, project_id=project_id, kind=kind, k=k, guideline_version_id=version.id, name=name)
    round_id = _id(round_row)
    for assignment_kind in ("consensus", "gold"):
        pairs = [(int(a.image_id), people[a.annotator_id]) for a in plan.assignments if a.kind == assignment_kind]
        add_assignments(session, round_id=round_id, pairs=pairs, kind=assignment_kind)
    record_event(
        session, verb="schedule", object_type="round", object_id=round_id, payload={"seed": seed, **plan.to_dict()}
    )
    return ScheduleResult(
        round_id,
        len(plan.assignments),
        len(images) + len(plan.gold_images),
        tuple(int(i) for i in plan.gold_images),
        tuple((int(i), r) for i, r in plan.unassigned),
        dict(plan.load),
    )


# --- ingest ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileIngest:
    annotator: str
    path: str
    format: str
    result: IngestResult
    reader_rejections: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "annotator": self.annotator,
            "path": self.path,
            "format": self.format,
            "reader_rejections": self.reader_rejections,
            **self.result.to_dict(),
        }


def submission_files(folder: str | Path) -> list[tuple[str, Path]]:
    """``(annotator, file)`` pairs of a delivery folder: ``<folder>/<annotator>.json`` or
    ``<folder>/<annotator>/*.json`` (the annotator is the file or folder name)."""
    root = Path(folder)
    if not root.is_dir():
        raise FormatError(f"submission folder {root} does not exist or is not a folder", path=str(root))
    out = [(p.stem, p) for p in sorted([*root.glob("*.json"), *root.glob("*.xml")])]
    out += [
        (d.name, p) for d in sorted(root.iterdir()) if d.is_dir() for p in sorted([*d.glob("*.json"), *d.glob("*.xml")])
    ]
    return out


def ingest_folder(session: Session, *, round_id: int, folder: str | Path, model: str | None = None) -> list[FileIngest]:
    """Ingest every annotator file of a delivery folder (or one file) into a round.

    Each file's format is detected (:func:`qc.formats.detect.read_any`); the annotator is
    the one the file names (Label Studio's ``completed_by``), else the file or folder name
    (see :func:`submission_files`). With ``model`` everything is the submission of that
    person with the role ``model``, who is assigned the round's images the file covers.
    """
    path = Path(folder)
    files = submission_files(path) if path.is_dir() else [(path.stem, path)]
    categories = _project_categories(session, round_id=round_id)
    images = _round_images(session, round_id=round_id)
    out = []
    for default, file in files:
        for parsed in read_any(file, categories=categories, images=images):
            annotator = model or parsed.annotator or default
            person = ensure_annotators(session, names=[annotator], role="model" if model else "annotator")[annotator]
            if model is not None:
                _assign_model(session, round_id, person, parsed, images)
            result = ingest_file(
                session,
                round_id=round_id,
                annotator_id=person,
                parsed=parsed,
                content_hash=sha256_file(file),
                source_path=str(file),
            )
            out.append(FileIngest(annotator, str(file), parsed.format, result, len(parsed.rejections)))
    return out


def _round_images(session: Session, *, round_id: int) -> list[ImageInfo]:
    rows = session.scalars(
        select(m.Image)
        .where(col(m.Image.id).in_(select(m.Assignment.image_id).where(m.Assignment.round_id == round_id)))
        .order_by(col(m.Image.id))
    )
    return [ImageInfo(i.id, i.file_name, i.height, i.width) for i in rows]


def _assign_model(
    session: Session, round_id: int, person: int, parsed: ParsedAnnotations, images: Sequence[ImageInfo]
) -> None:
    """Assign the model the round's images its file delivers (matched by file name)."""
    names = {i.file_name for i in parsed.images.values()}
    pairs = [(i.id, person) for i in images if i.file_name in names]
    add_assignments(session, round_id=round_id, pairs=pairs)


# --- score -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageOutcome:
    image_id: int
    verdict: str
    stored: bool
    labels: int
    findings: Mapping[str, int] = field(default_factory=dict)
    followup: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "verdict": self.verdict,
            "stored": self.stored,
            "labels": self.labels,
            "findings": dict(self.findings),
            "followup": self.followup,
        }


def pending_images(session: Session, *, round_id: int) -> list[int]:
    """Images every assigned annotator has delivered whose inputs differ from their stored result."""
    guideline = round_guideline(session, round_id=round_id)
    done = scored_hashes(session, round_id=round_id)
    return [
        image_id
        for image_id, inputs in image_inputs(session, round_id=round_id).items()
        if inputs.complete
        and inputs.submissions
        and done.get(image_id) != input_hash(inputs, guideline_hash=guideline.text_hash)
    ]


def score_batch(database_url: str | None, *, round_id: int, image_ids: Sequence[int]) -> list[ImageOutcome]:
    """Score images on the database at ``database_url``; each image is stored in its own transaction.

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


@dataclass(frozen=True)
class _BatchInputs:
    """Everything needed to score a batch of images, read at once."""

    inputs: Mapping[int, ImageInputs]
    results: Mapping[int, m.ImageResult]
    segments: Mapping[int, list[Segment]]
    gold: Mapping[int, list[Segment]]

    @classmethod
    def load(cls, session: Session, context: _RoundContext, image_ids: Sequence[int]) -> _BatchInputs:
        inputs = image_inputs(session, round_id=context.round_id, image_ids=image_ids)
        missing = [i for i in image_ids if i not in inputs]
        if missing:
            raise NotFoundError(f"images {missing[:10]} are not part of round {context.round_id}", image_id=missing[0])
        results = {
            r.image_id: r
            for r in session.scalars(
                select(m.ImageResult).where(
                    m.ImageResult.round_id == context.round_id, col(m.ImageResult.image_id).in_(list(image_ids))
                )
            )
        }
        wanted = [s.submission_id for i in inputs.values() for s in i.submissions]
        segments = load_segments_of(session, submission_ids=wanted)
        return cls(inputs, results, segments, load_gold_segments(session, image_ids=image_ids))

    def compute(self, context: _RoundContext, image_id: int) -> _Scored | ImageOutcome:
        inputs = self.inputs[image_id]
        digest = input_hash(inputs, guideline_hash=context.guideline.text_hash)
        existing = self.results.get(image_id)
        if existing is not None and existing.input_hash == digest:
            findings = dict((existing.summary or {}).get("findings", {}))
            return ImageOutcome(image_id, existing.verdict, False, existing.labels_spent, findings)
        by_name = {context.names[s.annotator_id]: self.segments[s.submission_id] for s in inputs.submissions}
        return _compute(context, inputs, by_name, self.gold.get(image_id), digest)


def score_images(session: Session, *, round_id: int, image_ids: Sequence[int]) -> list[ImageOutcome]:
    """Score images of a round and store each result (unchanged inputs store nothing)."""
    return _score_images(session, _RoundContext.load(session, round_id), image_ids)


def _score_images(session: Session, context: _RoundContext, image_ids: Sequence[int]) -> list[ImageOutcome]:
    batch = _BatchInputs.load(session, context, image_ids)
    out = []
    for image_id in image_ids:
        scored = batch.compute(context, image_id)
        out.append(scored if isinstance(scored, ImageOutcome) else _store(session, context, scored))
    return out


@dataclass(frozen=True)
class _RoundContext:
    round_id: int
    guideline: Guideline
    settings: AgreementSettings
    names: Mapping[int, str]
    pool: tuple[routing.Annotator, ...]
    models: frozenset[str] = frozenset()

    @classmethod
    def load(cls, session: Session, round_id: int) -> _RoundContext:
        guideline = round_guideline(session, round_id=round_id)
        assigned = session.scalars(
            select(m.Assignment.annotator_id).where(m.Assignment.round_id == round_id).distinct()
        ).all()
        people = session.execute(select(m.Person.id, m.Person.name, m.Person.roles)).all()
        names = {i: n for i, n, _ in people}
        models = frozenset(n for _, n, roles in people if m.Role.MODEL.value in (roles or []))
        pool = tuple(
            routing.Annotator(names[i], guideline.routing.capacity)
            for i in sorted(set(assigned))
            if names[i] not in models
        )
        return cls(round_id, guideline, settings_from_guideline(guideline), names, pool, models)


@dataclass(frozen=True)
class _Scored:
    inputs: ImageInputs
    digest: str
    agreement: ImageAgreement
    assessment: Assessment
    violations: int
    models: tuple[ModelAgreement | tuple[str, AutomationRate], ...] = ()


def _compute(
    ctx: _RoundContext,
    inputs: ImageInputs,
    by_name: Mapping[str, Sequence[Segment]],
    gold: list[Segment] | None,
    digest: str,
) -> _Scored:
    """Checks, agreement and assessment of one image (pure: no database)."""
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
    if gold is not None:
        extra = gold_findings(by_name, gold, height=h, width=w, gold_iou=ctx.guideline.thresholds.gold_iou)
    assessment = assess(agreement, violations=violations, k_max=ctx.guideline.routing.k_max, extra_findings=extra)
    models = _model_scores(ctx, by_name, model_input, agreement)
    return _Scored(inputs, digest, agreement, assessment, sum(len(v) for v in violations.values()), models)


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


def _store(session: Session, ctx: _RoundContext, scored: _Scored) -> ImageOutcome:
    """Write one scored image (and its follow-up assignment when it escalates)."""
    inputs, agreement, assessment = scored.inputs, scored.agreement, scored.assessment
    ids = {name: person for person, name in ctx.names.items()}
    verdict, followup = assessment.verdict, None
    if verdict is Verdict.ESCALATE:
        followup = _followup(session, ctx, inputs)
        verdict = Verdict.ESCALATE if followup is not None else Verdict.REVIEW
    summary = _summary(agreement, assessment, followup, scored.violations)
    stored = save_image_result(
        session,
        round_id=ctx.round_id,
        image_id=inputs.image_id,
        input_hash=scored.digest,
        verdict=verdict.value,
        labels_spent=assessment.labels_spent,
        summary=summary,
        scores=_score_rows(agreement, ids) + _model_rows(scored.models, ids),
        flags=_flag_rows(assessment, ids),
        consensus=[(c.category_id, c.rle, c.area, c.bbox) for c in agreement.consensus],
        consensus_method=ctx.settings.consensus_method,
    )
    if stored and followup is not None:
        add_assignments(session, round_id=ctx.round_id, pairs=[(inputs.image_id, ids[followup])], kind="followup")
    return ImageOutcome(
        inputs.image_id, verdict.value, stored, len(agreement.annotators), summary["findings"], followup
    )


def _followup(session: Session, ctx: _RoundContext, inputs: ImageInputs) -> str | None:
    load = Counter(
        ctx.names[a]
        for a in session.scalars(select(m.Assignment.annotator_id).where(m.Assignment.round_id == ctx.round_id))
    )
    already = [ctx.names[a] for a in inputs.assigned]
    return routing.next_annotator(inputs.image_id, already, ctx.pool, load=load, seed=ctx.round_id)


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


def _num(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _score_rows(agreement: ImageAgreement, ids: Mapping[str, int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for group in agreement.groups:
        members = [ids[a] for a in group.annotators]
        detail = {"group": group.index, "status": str(group.status), "supporters": [ids[a] for a in group.supporters]}
        category = group.category if group.category is not None else group.categories[0][1]
        for metric in ("min_iou", "mean_iou", "min_boundary_iou", "mean_boundary_iou"):
            value = _num(getattr(group, metric))
            rows.append(_score("group", members, metric, value, category, detail if metric == "min_iou" else None))
    for pair in agreement.pairs:
        members = [ids[pair.a], ids[pair.b]]
        detail = {"tp": pair.tp, "fp": pair.fp, "fn": pair.fn}
        rows += [
            _score("pair", members, metric, _num(getattr(pair, metric)), None, detail) for metric in ("pq", "sq", "rq")
        ]
    for score in agreement.annotator_scores:
        detail = {"objects": score.objects, "segments": score.segments}
        rows.append(_score("annotator", [ids[score.annotator]], "loo_iou", _num(score.loo_iou), None, detail))
    everyone = [ids[a] for a in agreement.annotators]
    means = [g.mean_iou for g in agreement.groups if g.pairs]
    rows.append(_score("image", everyone, "mean_group_iou", _num(float(sum(means) / len(means))) if means else None))
    if agreement.semantic is not None:
        rows.append(_score("image", everyone, "fleiss_kappa", _num(agreement.semantic.fleiss_kappa)))
        rows.append(_score("image", everyone, "krippendorff_alpha", _num(agreement.semantic.krippendorff_alpha)))
    return rows


def _model_rows(
    models: Sequence[ModelAgreement | tuple[str, AutomationRate]], ids: Mapping[str, int]
) -> list[dict[str, Any]]:
    """``pair`` rows ``model_iou`` (human, model) and ``annotator`` rows ``automation_rate`` (model)."""
    rows = []
    for item in models:
        if isinstance(item, ModelAgreement):
            members = [ids[item.human], ids[item.model]]
            rows.append(_score("pair", members, "model_iou", _num(item.mean_iou), None, item.to_dict()))
        else:
            model, rate = item
            rows.append(_score("annotator", [ids[model]], "automation_rate", _num(rate.rate), None, rate.to_dict()))
    return rows


def _score(
    kind: str,
    annotators: list[int],
    metric: str,
    value: float | None,
    category: int | None = None,
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "annotators": annotators,
        "metric": metric,
        "value": value,
        "category_id": category,
        "detail": dict(detail) if detail else None,
    }


def _flag_rows(assessment: Assessment, ids: Mapping[str, int]) -> list[dict[str, Any]]:
    return [
        {
            "kind": str(f.kind),
            "level": str(f.level),
            "category_id": f.category_id,
            "bbox_x": f.bbox[0],
            "bbox_y": f.bbox[1],
            "bbox_w": f.bbox[2],
            "bbox_h": f.bbox[3],
            "annotators": [ids[a] for a in f.annotators if a in ids],
            "severity": f.severity,
            "message": f.message,
        }
        for f in assessment.findings
    ]


# --- close -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CloseResult:
    round_id: int
    status: str
    accepted: tuple[int, ...]
    review: tuple[int, ...]
    awaiting: tuple[int, ...]
    new_review_items: int
    rework_round_id: int | None
    exported: str | None
    exported_images: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "round_id": self.round_id,
            "status": self.status,
            "accepted": list(self.accepted),
            "review": list(self.review),
            "awaiting": list(self.awaiting),
            "new_review_items": self.new_review_items,
            "rework_round_id": self.rework_round_id,
            "exported": self.exported,
            "exported_images": self.exported_images,
        }


def close_round(session: Session, *, round_id: int, export_path: str | Path | None = None) -> CloseResult:
    """Queue review images, open a rework round for rework decisions, export accepted labels, close.

    The round is closed only when no image still awaits a submission (undelivered work or
    an escalated image's follow-up annotator); otherwise it stays open and ``awaiting``
    lists those images. Review items do not keep a round open: decisions act on them.
    """
    round_row = get_row(session, m.Round, round_id)
    results = list_image_results(session, round_id=round_id)
    by_verdict: dict[str, list[int]] = {}
    for result in results:
        by_verdict.setdefault(result.verdict, []).append(result.image_id)
    scored = {r.image_id for r in results if r.verdict != Verdict.ESCALATE.value}
    awaiting = tuple(sorted(set(image_inputs(session, round_id=round_id)) - scored))
    review = tuple(by_verdict.get(Verdict.REVIEW.value, []))
    new_items = add_review_items(session, round_id=round_id, image_ids=review)
    rework_round = open_rework_round(session, round_row)
    accepted = tuple(by_verdict.get(Verdict.ACCEPTED.value, []))
    exported, n_exported = None, 0
    if export_path is not None:
        n_exported = export_consensus(session, round_id=round_id, image_ids=accepted, path=export_path)
        exported = str(export_path)
    status = m.RoundStatus.OPEN.value if awaiting else m.RoundStatus.CLOSED.value
    if status != round_row.status:
        round_row.status = status
        round_row.closed_at = m.utcnow() if status == m.RoundStatus.CLOSED.value else None
        session.add(round_row)
    payload = {"status": status, "accepted": len(accepted), "review": len(review), "awaiting": len(awaiting)}
    record_event(session, verb="close", object_type="round", object_id=round_id, payload=payload)
    return CloseResult(round_id, status, accepted, review, awaiting, new_items, rework_round, exported, n_exported)


def export_consensus(session: Session, *, round_id: int, image_ids: Sequence[int], path: str | Path) -> int:
    """Write the stored consensus of ``image_ids``; returns the image count.

    Instance and semantic projects get a COCO instances file; panoptic projects a COCO
    panoptic JSON at ``path`` with its PNGs in a folder of the same name (``path`` without
    the suffix), where a pixel two consensus segments both claim goes to the first (by id).
    """
    round_row = get_row(session, m.Round, round_id)
    project = get_row(session, m.Project, round_row.project_id)
    images = session.scalars(select(m.Image).where(col(m.Image.id).in_(list(image_ids))).order_by(col(m.Image.id)))
    infos = [ImageInfo(i.id, i.file_name, i.height, i.width) for i in images]
    panoptic = project.task_type == Task.PANOPTIC.value
    segments: list[tuple[Any, Segment]] = []
    for info in infos:
        stored = consensus_segments(session, round_id=round_id, image_id=info.id)
        if panoptic:
            stored = _without_overlaps(stored)
        for number, seg in enumerate(stored, start=1):
            segments.append(
                (info.id, Segment(number if panoptic else info.id * 10_000 + number, seg.category_id, seg.rle))
            )
    categories = _project_categories(session, round_id=round_id)
    if panoptic:
        target = Path(path)
        panoptic_format.write_panoptic(target, target.with_suffix(""), infos, segments, categories)
    else:
        coco.write_instances(path, infos, segments, categories)
    return len(infos)


EXPORT_FORMATS = ("coco", "cvat-xml", "labelstudio")


def export_for_tool(
    session: Session, *, round_id: int, path: str | Path, format: str, annotator: str | None = None
) -> int:
    """Write a round's work back for an annotation tool; returns the image count.

    The images are the accepted ones plus those a reviewer sent to rework. Each holds the
    stored consensus, or with ``annotator`` that person's latest submission, as
    pre-annotations; a rework image carries the reviewer's note and feedback as a comment
    (CVAT: a ``qc_rework`` tag attribute; Label Studio: ``data.qc_feedback``; COCO: none).
    """
    if format not in EXPORT_FORMATS:
        raise FormatError(f"export format must be one of {EXPORT_FORMATS}; got {format!r}", field="format")
    accepted = {r.image_id for r in list_image_results(session, round_id=round_id) if r.verdict == "accepted"}
    comments = _rework_comments(session, round_id)
    wanted = sorted(accepted | set(comments))
    rows = session.scalars(select(m.Image).where(col(m.Image.id).in_(wanted)).order_by(col(m.Image.id)))
    infos = [ImageInfo(i.id, i.file_name, i.height, i.width) for i in rows]
    segments = _export_segments(session, round_id, infos, annotator)
    categories = _project_categories(session, round_id=round_id)
    if format == "coco":
        coco.write_instances(path, infos, segments, categories)
    elif format == "cvat-xml":
        cvat.write_cvat_xml(path, infos, segments, categories, comments=comments)
    else:
        labelstudio.write_labelstudio(path, infos, segments, categories, comments=comments)
    return len(infos)


def _export_segments(
    session: Session, round_id: int, infos: Sequence[ImageInfo], annotator: str | None
) -> list[tuple[Any, Segment]]:
    out: list[tuple[Any, Segment]] = []
    if annotator is None:
        for info in infos:
            stored = consensus_segments(session, round_id=round_id, image_id=info.id)
            out += [(info.id, Segment(info.id * 10_000 + n, s.category_id, s.rle)) for n, s in enumerate(stored, 1)]
        return out
    person = session.scalars(select(m.Person.id).where(m.Person.name == annotator)).first()
    if person is None:
        raise NotFoundError(f"no person named {annotator!r}; check the name with qc round status", field="annotator")
    refs = latest_submissions(session, round_id=round_id, image_ids=[i.id for i in infos])
    wanted = {r.submission_id: r.image_id for r in refs if r.annotator_id == person}
    for submission_id, segs in load_segments_of(session, submission_ids=list(wanted)).items():
        out += [(wanted[submission_id], s) for s in segs]
    return out


def _rework_comments(session: Session, round_id: int) -> dict[int, str]:
    """Reviewer feedback per image of the round's rework decisions (note, then feedback entries)."""
    rows = session.execute(
        select(m.ReviewItem.image_id, m.Decision.note, m.Decision.feedback)
        .join(m.ReviewItem, col(m.ReviewItem.id) == m.Decision.review_item_id)
        .where(m.ReviewItem.round_id == round_id, m.Decision.kind == m.DecisionKind.REWORK.value)
        .order_by(col(m.Decision.id))
    ).all()
    out: dict[int, str] = {}
    for image_id, note, feedback in rows:
        parts = [note] if note else []
        parts += [f"{k}: {v}" for k, v in (feedback or {}).items()]
        out[int(image_id)] = "; ".join(parts) or "rework requested"
    return out


def _without_overlaps(segments: Sequence[Segment]) -> list[Segment]:
    """Each pixel to the first segment that has it (panoptic segments must not overlap)."""
    out: list[Segment] = []
    for segment in segments:
        region = segment.box
        if region is None:
            continue
        mask = segment.mask_in(region)
        for earlier in out:
            other = earlier.box
            if (
                other is not None
                and other[0] < region[2]
                and region[0] < other[2]
                and other[1] < region[3]
                and region[1] < other[3]
            ):
                mask &= ~earlier.mask_in(region)
        if mask.any():
            height, width = segment.size
            out.append(Segment(segment.id, segment.category_id, masks.paste(mask, region, height, width)))
    return out


def open_rework_round(session: Session, round_row: m.Round) -> int | None:
    """A rework round holding the images reviewers sent back (created once per closing that finds new ones)."""
    decisions = session.execute(
        select(m.Decision.id, m.ReviewItem.image_id, m.Decision.feedback)
        .join(m.ReviewItem, col(m.ReviewItem.id) == m.Decision.review_item_id)
        .where(m.ReviewItem.round_id == round_row.id, m.Decision.kind == m.DecisionKind.REWORK.value)
    ).all()
    handled = {
        d
        for payload in session.scalars(select(m.Event.payload).where(m.Event.verb == "rework_round"))
        if payload.get("source_round") == round_row.id
        for d in payload.get("decisions", [])
    }
    fresh = [(d, image) for d, image, _ in decisions if d not in handled]
    if not fresh:
        return None
    rework = create_round(
        session,
        project_id=round_row.project_id,
        kind="rework",
        k=round_row.k,
        guideline_version_id=round_row.guideline_version_id,
        name=f"{round_row.name or round_row.id} rework {len(handled) + 1}",
    )
    images = sorted({image for _, image in fresh})
    pairs = session.execute(
        select(m.Assignment.image_id, m.Assignment.annotator_id).where(
            m.Assignment.round_id == round_row.id, col(m.Assignment.image_id).in_(images)
        )
    )
    add_assignments(session, round_id=_id(rework), pairs=[(int(i), int(a)) for i, a in pairs], kind="rework")
    record_event(
        session,
        verb="rework_round",
        object_type="round",
        object_id=rework.id,
        payload={"source_round": round_row.id, "decisions": [d for d, _ in fresh], "images": images},
    )
    return rework.id


# --- status ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundStatus:
    """Where a round stands, and each annotator's agreement so far."""

    round_id: int
    name: str | None
    status: str
    images: int
    assignments: int
    delivered: int
    verdicts: Mapping[str, int]
    findings: Mapping[str, int]
    review_pending: int
    labels_per_accepted: float
    annotators: Mapping[str, Mapping[str, float | int | None]]

    def to_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in vars(self).items()}


def round_status(session: Session, *, round_id: int) -> RoundStatus:
    """Counts of a round's work and verdicts, and per annotator mean leave-one-out agreement."""
    round_row = get_row(session, m.Round, round_id)
    inputs = image_inputs(session, round_id=round_id)
    results = list_image_results(session, round_id=round_id)
    verdicts = Counter(r.verdict for r in results)
    findings = Counter(session.scalars(select(m.Flag.kind).where(m.Flag.round_id == round_id)).all())
    pending = session.scalar(
        select(func.count())
        .select_from(m.ReviewItem)
        .where(m.ReviewItem.round_id == round_id, col(m.ReviewItem.status).in_(["pending", "claimed"]))
    )
    accepted = [r.labels_spent for r in results if r.verdict == Verdict.ACCEPTED.value]
    return RoundStatus(
        round_id=round_id,
        name=round_row.name,
        status=round_row.status,
        images=len(inputs),
        assignments=sum(len(i.assigned) for i in inputs.values()),
        delivered=sum(len(i.submissions) for i in inputs.values()),
        verdicts=dict(verdicts),
        findings=dict(findings),
        review_pending=int(pending or 0),
        labels_per_accepted=sum(accepted) / len(accepted) if accepted else math.nan,
        annotators=_annotator_table(session, round_id),
    )


def _annotator_table(session: Session, round_id: int) -> dict[str, dict[str, float | int | None]]:
    names = dict(session.execute(select(m.Person.id, m.Person.name)).all())
    values: dict[str, dict[str, list[float]]] = {}
    for annotators, metric, value in session.execute(
        select(m.Score.annotators, m.Score.metric, m.Score.value).where(
            m.Score.round_id == round_id, m.Score.kind == "annotator"
        )
    ):
        if value is not None:
            values.setdefault(names[annotators[0]], {}).setdefault(metric, []).append(value)
    flags: Counter[str] = Counter()
    for annotators in session.scalars(select(m.Flag.annotators).where(m.Flag.round_id == round_id)):
        for person in annotators:
            flags[names[person]] += 1
    out: dict[str, dict[str, float | int | None]] = {}
    for name in sorted(set(values) | set(flags)):
        metrics = values.get(name, {})
        out[name] = {
            "images": len(metrics.get("loo_iou", [])),
            "loo_iou": _mean(metrics.get("loo_iou")),
            "findings": flags[name],
        }
    return out


def _mean(values: list[float] | None) -> float | None:
    return sum(values) / len(values) if values else None


# --- internals -------------------------------------------------------------------------------------------


def _id(row: Any) -> int:
    if row.id is None:  # pragma: no cover - rows are flushed by the store functions
        raise QCError("row has no id yet: flush the session first")
    return int(row.id)


def _project_images(session: Session, project_id: int) -> list[int]:
    return list(session.scalars(select(m.Image.id).where(m.Image.project_id == project_id).order_by(col(m.Image.id))))


def _project_categories(session: Session, *, round_id: int) -> list[Category]:
    round_row = get_row(session, m.Round, round_id)
    rows = session.scalars(
        select(m.LabelClass).where(m.LabelClass.project_id == round_row.project_id).order_by(col(m.LabelClass.class_id))
    )
    return [Category(r.class_id, r.name, r.kind == "thing") for r in rows]
