"""Make ``docs/reviewing.png``, the README's picture of the review workbench, from the demo's data.

The demo's project, images and simulated annotators (:mod:`flows.demo`'s set-up, run through
the library without Prefect), a round scored and closed, then the item page of the image in
review with the most disputes, in chromium at 1400 x 900: the first dispute resolved (key 1),
the second in focus, the whole image in view (key 0).

    .venv/bin/python -m examples.demo.make_reviewing_png [docs/reviewing.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from flows.demo import PROFILES, SEED, set_up_project
from qc import demo, review, rounds
from qc.store import db
from qc.store.api import add_person
from qc.web import create_app
from tests.web.browser import signed_in


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        engine = db.make_engine(f"sqlite:///{folder / 'qc.db'}")
        db.upgrade(engine)
        with db.session_scope(engine) as session:
            setup = set_up_project(session, folder)
            scheduled = rounds.schedule_round(
                session, project_id=setup["project_id"], annotators=sorted(PROFILES), seed=SEED,
                image_ids=setup["image_ids"], gold_image_ids=setup["gold_image_ids"], name="demo-1",
            )  # fmt: skip
            lead = int(add_person(session, name="lena", roles=["lead"]).id or 0)
            token = review.issue_token(session, person_id=lead)
        round_id = scheduled.round_id
        for number in range(3):
            with db.session_scope(engine, write=False) as session:
                owed = demo.undelivered(session, round_id=round_id)
            if not owed:
                break
            where = folder / "deliveries" / str(number)
            demo.write_deliveries(owed, truth=demo.load_truth(), profiles=PROFILES, folder=where, seed=SEED)
            with db.session_scope(engine) as session:
                rounds.ingest_folder(session, round_id=round_id, folder=where)
                images = setup["image_ids"] + setup["gold_image_ids"]
                rounds.score_images(session, round_id=round_id, image_ids=images)
        with db.session_scope(engine) as session:
            rounds.close_round(session, round_id=round_id)
            items = [row.id for row in review.queue_rows(session)]
            counts = {i: len(review.dispute_views(session, i, lead)) for i in items}
        item = max(counts, key=lambda i: (counts[i], -i))
        print(f"item {item}: {counts[item]} disputes (of items {counts})")
        app = create_app(f"sqlite:///{folder / 'qc.db'}", secret_key="docs", image_root=folder)
        with signed_in(app, token) as (page, base, errors):
            page.goto(f"{base}/items/{item}")
            page.locator("#focus").wait_for(state="visible")
            page.keyboard.press("1")  # take the first annotator's version of dispute 1: the focus moves to dispute 2
            page.keyboard.press("0")  # the whole image, every outline and box
            page.screenshot(path=str(out))
        engine.dispose()
        if errors:
            raise SystemExit(f"the page reported errors: {errors}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/reviewing.png"))
