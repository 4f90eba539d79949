"""``qc review next|decide|serve``: the review queue from a terminal and the reviewer web page.

A decision that finishes a round's review starts the close of that round: the commands
import :func:`flows.triggers.close_reviewed_round` when they run and pass its callback to
:func:`qc.review.on_round_reviewed` (the web page gets the same callback).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from qc.cli._common import DB_OPTION, console, database_url, exactly_one, failures, open_session, print_table
from qc.errors import ConflictError, InvalidOptionError

if TYPE_CHECKING:  # the review functions and the store are imported by the commands that run
    from qc.review import DisputeView, ItemView, Resolution

__all__ = ["review_app"]

review_app = typer.Typer(
    help="Review flagged images: take the next item, decide it, or serve the web page.", no_args_is_help=True
)

AS_OPTION = typer.Option(..., "--as", help="Your name (a person with the reviewer or lead role).")
DECISIONS = {
    "--accept-submission N": "accept_submission",
    "--accept-consensus": "accept_consensus",
    "--rework": "rework",
    "--escalate": "escalate",
}
"""The decision options of ``qc review decide`` and the decision kind each stores."""

DISPUTE_FORMS = (
    "N=take:ANNOTATOR",
    "N=fused",
    "N=class:CLASS",
    "N=remove",
    "N=rework:NOTE",
    "N=rework:ANNOTATOR:NOTE",
    "N=escalate:NOTE",
)
"""The forms of ``--dispute`` (N: the dispute's number as ``qc review next`` lists it)."""


@review_app.command("next")
def next_item(
    reviewer: str = AS_OPTION,
    lease: float = typer.Option(15, "--lease", min=0.1, help="Minutes the item stays yours."),
    url: str | None = DB_OPTION,
) -> None:
    """Claim the next review item and show its image, flags (with boxes) and annotators."""
    from qc import review
    from qc.store.api import find_person

    with failures(), open_session(url) as session:
        person = find_person(session, name=reviewer)
        held = review.claim(session, reviewer_id=int(person.id or 0), lease_minutes=lease)
        if held is None:
            console.print("the review queue is empty")
            return
        view = review.item_view(session, held.item_id)
        disputes = review.dispute_views(session, held.item_id, int(person.id or 0))
    print_item(view)
    print_disputes(disputes)
    how = " ".join(f"--dispute {d.index}=fused" for d in disputes[:3]) if disputes else "--accept-consensus"
    console.print(
        f"decide with: qc review decide {held.item_id} --as {reviewer} {how} (lease until "
        f"{held.lease_until:%H:%M} UTC; --dispute forms: {', '.join(DISPUTE_FORMS)})"
    )


def print_item(view: ItemView) -> None:
    """The item as a short text block and two tables."""
    from rich.table import Table

    item, image = view.item, view.image
    console.print(
        f"item {item.id} (version {item.version}, {item.status}): image {image.file_name} "
        f"({image.width}x{image.height}), round {item.round_id}"
    )
    people = Table("N", "annotator", "submission", title="annotators")
    for a in view.annotators:
        people.add_row(str(a.number), a.name, str(a.submission_id or "–"))
    print_table(people)
    for r in view.reopened:
        new = ", ".join(f"{name} (submission {sub})" for name, sub in sorted(r.new_submissions.items())) or "none"
        superseded = ", ".join(f"#{d}" for d in r.superseded_decisions) or "no decision"
        console.print(f"re-opened {r.at}: new submissions {new}; supersedes {superseded}")
    console.print("flags:")
    for f in view.flags:
        where = f"box {list(f.bbox)}" if f.bbox else "whole image"
        who = ", ".join(f.annotators) or "–"
        line = f"  - {f.kind} ({f.level}, {f.class_name or 'any class'}) {where}; {who}: {f.message}"
        console.print(line)


def print_disputes(disputes: list[DisputeView]) -> None:
    """One row per dispute: number, kind, class, who drew it, the IoU between versions, its resolution."""
    from rich.table import Table

    if not disputes:
        return
    table = Table("N", "kind", "class", "box", "drawn by", "IoU between versions", "resolved", title="disputes")
    for d in disputes:
        ious = ", ".join(f"{a}-{b} {iou:.2f}" for a, b, iou in d.pairwise_iou) or "–"
        missing = [v.annotator for v in d.versions if v.rle is None]
        drawn = ", ".join(d.drawn_by) + (f" (not: {', '.join(missing)})" if missing else "")
        done = "–" if d.resolution is None else f"{d.resolution.kind} by {d.resolution.reviewer}"
        table.add_row(str(d.index), d.kind, d.category or "–", str(list(d.bbox)), drawn or "nobody", ious, done)
    print_table(table)
    for d in disputes:
        console.print(f"  {d.index}. {d.reason}")


@review_app.command("decide")
def decide(
    item_id: int = typer.Argument(..., help="Review item id (from qc review next)."),
    reviewer: str = AS_OPTION,
    accept_submission: int | None = typer.Option(None, "--accept-submission", help="Accept annotator N's work."),
    accept_consensus: bool = typer.Option(False, "--accept-consensus", help="Accept the stored consensus."),
    rework: bool = typer.Option(False, "--rework", help="Send the image back (needs --feedback)."),
    feedback: list[str] = typer.Option([], "--feedback", help="ANNOTATOR=TEXT (repeatable) for --rework."),
    escalate: bool = typer.Option(False, "--escalate", help="Escalate to a lead (needs --note)."),
    note: str = typer.Option("", "--note", help="Why (for --escalate: what is unclear in the guideline)."),
    dispute: list[str] = typer.Option(
        [],
        "--dispute",
        help="Resolve dispute N (repeatable): N=take:ANNOTATOR, N=fused, N=class:CLASS, N=remove, "
        "N=rework:NOTE (to everyone who drew it), N=rework:ANNOTATOR:NOTE (to that annotator only; the text before "
        "the first ':' counts as ANNOTATOR only when it names an annotator of the image, so write N=rework::NOTE "
        "for a note to everyone that starts with a name and ':'), N=escalate:NOTE.",
    ),
    version: int | None = typer.Option(None, "--version", min=1, help="Item version you claimed (default: current)."),
    url: str | None = DB_OPTION,
) -> None:
    """Decide a claimed item: --dispute N=... for each dispute, or exactly one of --accept-submission N,
    --accept-consensus, --rework, --escalate for the whole image."""
    from qc import review
    from qc.store import db
    from qc.store import models as m
    from qc.store.api import find_person, get_row
    from qc.store.review import class_names

    given = [accept_submission is not None, accept_consensus, rework, escalate, bool(dispute)]
    with failures():
        kind = exactly_one(dict(zip([*DECISIONS, "--dispute N=..."], given, strict=True)))
        with open_session(url) as session:
            person = find_person(session, name=reviewer)
            item = get_row(session, m.ReviewItem, item_id)
            if version is None and item.claimed_by != person.id:
                raise ConflictError(f"review item {item_id} is not claimed by {reviewer}; run qc review next first")
            claimed = item.version if version is None else version  # a given --version is checked, never replaced
            if dispute:
                views = review.dispute_views(session, item_id, int(person.id or 0))
                classes = class_names(session, project_id=get_row(session, m.Image, item.image_id).project_id)
                chosen = parse_disputes(dispute, views, classes)
                done = review.resolve(session, item_id, int(person.id or 0), claimed, chosen)
            else:
                view = review.item_view(session, item_id)
                done = review.decide(
                    session,
                    item_id,
                    reviewer_id=int(person.id or 0),
                    version=claimed,
                    kind=DECISIONS[kind],
                    submission_id=chosen_submission(view, accept_submission),
                    feedback=parse_feedback(feedback, {a.name: a.id for a in view.annotators}),
                    note=note,
                )
    from flows.triggers import close_reviewed_round

    engine = db.make_engine(url)
    try:  # after the decision's commit: a fully reviewed round starts its close
        closing = review.on_round_reviewed(engine, item_id, close_reviewed_round(database_url(url)))
    finally:
        engine.dispose()
    extra = f"; rework round {done.rework_round_id}" if done.rework_round_id else ""
    extra += f"; round {closing} fully reviewed: closing it" if closing is not None else ""
    console.print(f"item {item_id}: {done.kind} stored (decision {done.decision_id}, status {done.status}){extra}")


def chosen_submission(view: ItemView, number: int | None) -> int | None:
    """The submission of annotator ``number`` as the item lists them (``None`` when no number is given)."""
    if number is None:
        return None
    numbers = {a.number: a.submission_id for a in view.annotators}
    if number not in numbers:
        raise InvalidOptionError(
            "--accept-submission", sorted(numbers), number, hint="Annotator numbers are those qc review next lists"
        )
    return numbers[number]


def parse_feedback(pairs: list[str], names: dict[str, int]) -> dict[int, str]:
    """``["ann=text", ...]`` to ``{annotator id: text}`` (names as the item lists them)."""
    out: dict[int, str] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or name.strip() not in names:
            raise InvalidOptionError("--feedback", f"ANNOTATOR=TEXT with ANNOTATOR one of {sorted(names)}", pair)
        out[names[name.strip()]] = text
    return out


def parse_disputes(values: list[str], disputes: list[DisputeView], classes: dict[int, str]) -> dict[int, Resolution]:
    """``["3=take:ana", "4=fused", ...]`` to resolutions keyed by dispute id (numbers as ``qc review next`` lists).

    A bad form, number, annotator or class is an :class:`InvalidOptionError` naming ``--dispute`` and the valid forms.
    """
    by_number = {d.index: d for d in disputes}
    out: dict[int, Resolution] = {}
    for value in values:
        number, sep, rest = value.partition("=")
        kind, _, arg = rest.partition(":")
        if not sep or not number.strip().isdigit() or int(number) not in by_number:
            expected = f"one of the forms {', '.join(DISPUTE_FORMS)} with N one of {sorted(by_number)}"
            raise InvalidOptionError("--dispute", expected, value)
        target = by_number[int(number)]
        if target.id in out:  # two answers for one dispute: neither silently wins
            raise InvalidOptionError(
                "--dispute", f"one resolution per dispute; dispute {int(number)} is given more than once", value
            )
        out[target.id] = _resolution(value, kind.strip(), arg.strip(), target, classes)
    return out


def _resolution(value: str, kind: str, arg: str, target: DisputeView, classes: dict[int, str]) -> Resolution:
    from qc.review import Resolution

    if kind in ("fused", "remove") and not arg:
        return Resolution(kind)
    if kind == "take" and arg:
        drawn = {v.annotator: v.person_id for v in target.versions if v.rle is not None}
        if arg not in drawn:
            raise InvalidOptionError("--dispute", f"take:ANNOTATOR with ANNOTATOR one of {sorted(drawn)}", value)
        return Resolution("take", person_id=drawn[arg])
    if kind == "class" and arg:
        ids = {name: class_id for class_id, name in classes.items()} | {str(c): c for c in classes}
        if arg not in ids:
            raise InvalidOptionError("--dispute", f"class:CLASS with CLASS one of {sorted(classes.values())}", value)
        return Resolution("set_class", category_id=ids[arg])
    if kind == "rework" and arg:
        return _rework(value, arg, target)
    if kind == "escalate" and arg:
        return Resolution(kind, note=arg)
    raise InvalidOptionError("--dispute", "one of the forms " + ", ".join(DISPUTE_FORMS), value)


def _rework(value: str, arg: str, target: DisputeView) -> Resolution:
    """``rework:NOTE`` (everyone who drew it), ``rework:ANNOTATOR:NOTE`` (that annotator only) or ``rework::NOTE``.

    The text before the first ``:`` is an annotator only when it names one of the image's annotators (the
    dispute's versions); otherwise the whole text is the note. An empty name means everyone who drew it.
    """
    from qc.review import Resolution

    people = {v.annotator: v.person_id for v in target.versions}
    name, sep, note = arg.partition(":")
    if sep and name.strip() == "":
        person = None
    elif sep and name.strip() in people:
        person = people[name.strip()]
    else:
        person, note = None, arg
    if not note.strip():
        raise InvalidOptionError(
            "--dispute", "rework:ANNOTATOR:NOTE or rework:NOTE with a note that is not empty", value
        )
    return Resolution("rework", person_id=person, note=note.strip())


@review_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on (1-65535)."),
    image_root: str | None = typer.Option(
        None, "--image-root", help="Folder images are served from (default: $QC_IMAGE_ROOT, else the working folder)."
    ),
    forwarded_allow_ips: str | None = typer.Option(
        None,
        "--forwarded-allow-ips",
        help="Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For/-Proto count "
        "(default: $QC_TRUSTED_PROXIES, else none: the connection's address is the client).",
    ),
    secure_cookies: bool | None = typer.Option(
        None,
        "--secure-cookies/--no-secure-cookies",
        help="Mark the session cookie Secure always / never (default: $QC_SECURE_COOKIES, else when over HTTPS).",
    ),
    url: str | None = DB_OPTION,
) -> None:
    """Serve the reviewer web page (set QC_SECRET_KEY to keep sessions across restarts)."""
    import uvicorn

    from flows.triggers import close_reviewed_round
    from qc.web import create_app

    with failures():
        target = database_url(url)
        app = create_app(
            target,
            image_root=image_root,
            on_round_reviewed=close_reviewed_round(target),
            trusted_proxies=forwarded_allow_ips,
            secure_cookies=secure_cookies,
        )
    # the app reads forwarded headers itself, and only from the proxies configured above
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)
