"""``qc review``: the review queue from a terminal (next, decide) and the reviewer web page (serve).

Also ``qc person token NAME``: a new login token for the web page, printed once and stored hashed.
"""

from __future__ import annotations

from collections.abc import Callable

import typer
from rich.table import Table

from qc import review
from qc.cli import DB_OPTION, console, database_url, failures, open_session, person_app
from qc.errors import ConflictError, StoreError
from qc.store import db
from qc.store import models as m
from qc.store.api import find_person, get_row

__all__ = ["review_app"]

review_app = typer.Typer(help="Review flagged images: take the next item, decide it, or serve the web page.",
                         no_args_is_help=True)  # fmt: skip

round_reviewed_hook: list[Callable[[str], review.RoundReviewed]] = []
"""Set by the console script (``flows.cli``): ``hook(database_url)`` gives the callback that
starts the close of a fully reviewed round (see :func:`qc.review.on_round_reviewed`); qc
itself never imports the flows."""


def round_reviewed_callback(url: str) -> review.RoundReviewed | None:
    """The installed callback bound to database ``url``, or ``None`` when none is installed."""
    return round_reviewed_hook[0](url) if round_reviewed_hook else None


AS_OPTION = typer.Option(..., "--as", help="Your name (a person with the reviewer or lead role).")


@review_app.command("next")
def next_item(
    reviewer: str = AS_OPTION,
    lease: float = typer.Option(15, "--lease", help="Minutes the item stays yours."),
    url: str | None = DB_OPTION,
) -> None:
    """Claim the next review item and show its image, flags (with boxes) and annotators."""
    with failures(), open_session(url) as session:
        person = find_person(session, name=reviewer)
        held = review.claim(session, reviewer_id=int(person.id or 0), lease_minutes=lease)
        if held is None:
            console.print("the review queue is empty")
            return
        view = review.item_view(session, held.item_id)
    print_item(view)
    console.print(f"decide with: qc review decide {held.item_id} --as {reviewer} --accept-consensus (lease until "
                  f"{held.lease_until:%H:%M} UTC)")  # fmt: skip


def print_item(view: review.ItemView) -> None:
    """The item as a short text block and two tables."""
    item, image = view.item, view.image
    console.print(f"item {item.id} (version {item.version}, {item.status}): image {image.file_name} "
                  f"({image.width}x{image.height}), round {item.round_id}", markup=False)  # fmt: skip
    people = Table("N", "annotator", "submission", title="annotators")
    for a in view.annotators:
        people.add_row(str(a.number), a.name, str(a.submission_id or "–"))
    console.print(people)
    console.print("flags:")
    for f in view.flags:
        where = f"box {list(f.bbox)}" if f.bbox else "whole image"
        who = ", ".join(f.annotators) or "–"
        console.print(f"  - {f.kind} ({f.level}, {f.class_name or 'any class'}) {where}; {who}: {f.message}",
                      markup=False)  # fmt: skip


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
    version: int | None = typer.Option(None, "--version", help="Item version you claimed (default: current)."),
    url: str | None = DB_OPTION,
) -> None:
    """Decide a claimed item: exactly one of --accept-submission N, --accept-consensus, --rework, --escalate."""
    chosen = [accept_submission is not None, accept_consensus, rework, escalate]
    if sum(chosen) != 1:
        console.print("[red]error:[/red] give exactly one of --accept-submission N, --accept-consensus, --rework, "
                      "--escalate")  # fmt: skip
        raise typer.Exit(code=2)
    kind = ["accept_submission", "accept_consensus", "rework", "escalate"][chosen.index(True)]
    with failures(), open_session(url) as session:
        person = find_person(session, name=reviewer)
        item = get_row(session, m.ReviewItem, item_id)
        view = review.item_view(session, item_id)
        numbers = {a.number: a for a in view.annotators}
        names = {a.name: a.id for a in view.annotators}
        submission = None
        if accept_submission is not None:
            if accept_submission not in numbers:
                raise StoreError(f"--accept-submission takes an annotator number {sorted(numbers)}; "
                                 f"got {accept_submission}", field="accept_submission")  # fmt: skip
            submission = numbers[accept_submission].submission_id
        texts = parse_feedback(feedback, names)
        if version is None and item.claimed_by != person.id:
            raise ConflictError(f"review item {item_id} is not claimed by {reviewer}; run qc review next first")
        done = review.decide(session, item_id, reviewer_id=int(person.id or 0), version=version or item.version,
                             kind=kind, submission_id=submission, feedback=texts, note=note)  # fmt: skip
    engine = db.make_engine(url)
    try:  # after the decision's commit: a fully reviewed round starts its close
        closing = review.on_round_reviewed(engine, item_id, round_reviewed_callback(database_url(url)))
    finally:
        engine.dispose()
    extra = f"; rework round {done.rework_round_id}" if done.rework_round_id else ""
    extra += f"; round {closing} fully reviewed: closing it" if closing is not None else ""
    console.print(f"item {item_id}: {kind} stored (decision {done.decision_id}, status {done.status}){extra}")


def parse_feedback(pairs: list[str], names: dict[str, int]) -> dict[int, str]:
    """``["ann=text", ...]`` to ``{annotator id: text}`` (names as the item lists them)."""
    out: dict[int, str] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or name.strip() not in names:
            raise StoreError(f"--feedback must be ANNOTATOR=TEXT with one of {sorted(names)}; got {pair!r}",
                             field="feedback")  # fmt: skip
        out[names[name.strip()]] = text
    return out


@review_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    image_root: str | None = typer.Option(
        None, "--image-root", help="Folder images are served from (default: $QC_IMAGE_ROOT, else the working folder)."
    ),
    url: str | None = DB_OPTION,
) -> None:
    """Serve the reviewer web page (set QC_SECRET_KEY to keep sessions across restarts)."""
    import uvicorn

    from qc.web import create_app

    with failures():
        target = database_url(url)
        app = create_app(target, image_root=image_root, on_round_reviewed=round_reviewed_callback(target))
    uvicorn.run(app, host=host, port=port, log_level="info")


@person_app.command("token")
def person_token(name: str = typer.Argument(..., help="The person's name."), url: str | None = DB_OPTION) -> None:
    """Issue a new login token for the review page (printed once; only its hash is stored)."""
    with failures(), open_session(url) as session:
        person = find_person(session, name=name)
        token = review.issue_token(session, person_id=int(person.id or 0))
    console.print(f"login token for {name} (shown once, keep it secret): {token}", markup=False)
