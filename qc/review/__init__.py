"""The review queue: claim a flagged image with a lease, decide it once, record it in the audit trail.

Review items are queued by :func:`qc.rounds.close_round` (``verdict == "review"``). A
reviewer :func:`claim` s the next item; the item is theirs until ``lease_until``, after which
it returns to the queue. Every claim and decision bumps the item's ``version``, and a
decision names the version it was made on, so a stale decision (another claim won, the
lease ran out, the item was decided already) is a :class:`~qc.errors.ConflictError`, never a
silent overwrite. Exactly-once under concurrency: PostgreSQL picks the candidate with
``SELECT ... FOR UPDATE SKIP LOCKED``; SQLite (one writer at a time) takes it with a
conditional ``UPDATE ... WHERE id = ? AND version = ? AND (pending OR lease expired)`` and
checks the row count (both statements are in :mod:`qc.store.review`). A reviewer never gets,
nor may decide, an image they annotated.

Decisions and what they store (the record stays in ``decision`` + ``event``; the image's
``image_result`` says what happened so that exports pick it up):

- ``accept_submission``: the image's ``consensus_segment`` rows are replaced by that
  submission's segments (``method = "submission:<id>"``,
  :func:`qc.store.segments.accept_submission_segments`); the verdict becomes ``accepted``.
- ``accept_consensus``: the stored consensus is kept; the verdict becomes ``accepted``.
- ``rework``: feedback per annotator (``{person id: text}``); the image goes to a new rework
  round (:func:`qc.rounds.open_rework_round`, the helper :func:`qc.rounds.close_round` uses);
  the verdict stays ``review``.
- ``escalate``: to a lead, with a note (guideline unclear); the item's status becomes
  ``escalated`` and only a lead can claim it again.

A kind outside these, or one without what it needs (a submission of the image, feedback
text, a note), is an :class:`~qc.errors.InvalidOptionError` and nothing is stored. In each
case ``image_result.summary["review"]`` holds ``{decision_id, kind, reviewer_id,
submission_id}`` of the latest decision.

New work after a decision re-opens the item; a decision is never undone in silence. While a
round is open an annotator may re-deliver an image that is in review or was decided
(``qc round ingest`` stores it as a new submission version). When ``qc round score`` scores
the new submissions, the image stays with a reviewer: its scores, flags and fused candidate
are replaced by the new ones, its verdict is ``review`` (even where the annotators now agree:
a person decided this image, a person confirms the change; and no follow-up annotator is
added), and :func:`reopen_after_redelivery` puts the item back in the queue. A decided item
becomes ``pending`` and unclaimed; an open item keeps its status and holder; the version
grows either way, so a decision prepared on the old submissions is a ``ConflictError``. A
``reopen`` event names the new submissions and the superseded decision, which stays in
``decision`` and the audit trail (the item page and ``qc review next`` list both). Until a
reviewer decides again, the next close lists the image under review (it queues nothing new:
the item is open) and the accepted export leaves it out; ``qc round score`` prints the
re-opened items.

Disputes (DESIGN §1): each reason an image is in review is one dispute, tied to one object or
place, built when :func:`qc.rounds.close_round` queues the item and rebuilt (old resolutions
dropped, they stay in ``decision`` and the audit trail) when a re-delivery re-opens it:

- ``unsupported``: a match group no majority supports; ``class_conflict``: the annotators agree
  on the shape but not the class; ``guideline``: a blocking guideline finding on an object (or a
  place, when the rule names no segment). Findings that land on one object make ONE dispute (its
  reasons joined), so one resolution decides one object.
- A dispute holds its item, a 1-based ``index`` (order: kind unsupported, class_conflict,
  guideline, then bbox), reason, class (the most common among the versions, ties to the lower
  id), bbox, every assigned annotator's version (their segment, or "did not draw it"), the fused
  candidate (:func:`qc.consensus.majority_crop` of the versions drawn: no second vote rule) and
  the pairwise IoU between versions. A guideline dispute on a supported object also names the
  consensus row it replaces.
- Annotator-level findings on supported objects (``missed``, ``extra``, ``outlier_shape``,
  ``class_outlier``) are feedback, not disputes: :func:`feedback_by_annotator` groups them.

Resolving per dispute (:func:`resolve`, one transaction, the item's version as for
:func:`decide`; the decision is stored with kind ``resolve``): every dispute needs a
:class:`Resolution` (those resolved already, e.g. before an escalation, count):

- ``take`` (``person_id``: that annotator's version and class), ``fused`` (the fused candidate
  and the dispute's class), ``set_class`` (``category_id``: the fused shape with that class),
  ``remove`` (the object should not exist: nothing is stored, the dispute records who removed
  it), ``rework`` (``note``; ``person_id`` sends the object back to that annotator only, one who
  drew it or, when someone did not draw it, any annotator of the image; ``None`` sends it to every
  annotator who drew it: a rework round for them whose assignment carries the REGION in
  ``assignment.regions``: bbox, RLE (their version, or the fused candidate for one who did not
  draw it), class, note),
  ``escalate`` (``note``: to a lead; the item becomes ``escalated``, the lead claims it and
  resolves the escalated disputes again; the others keep their resolution).
- When no resolution is ``rework`` or ``escalate``, the accepted label is stored: the supported
  consensus rows stay (``source = "consensus"``, ``supporters`` the annotators whose versions
  built them), each taken/fused/class-set object is added (``source`` ``annotator`` / ``fused``
  / ``class_set``, ``supporters``, ``chosen_by`` the reviewer, ``dispute_id``), a resolution of a
  guideline dispute on a supported object replaces its consensus row; the verdict becomes
  ``accepted``. With a ``rework`` the verdict stays ``review`` (the rework round brings the
  object back); with an ``escalate`` the item waits for a lead.
- Two reviewers on one dispute: a dispute is resolved once (a conditional ``UPDATE ... WHERE
  resolution IS NULL``); the loser gets a :class:`~qc.errors.ConflictError` naming who resolved
  it, how and when, and nothing of theirs is stored. A bad resolution (unknown dispute, a person
  who did not draw the object, an unknown class, a missing note, a dispute left open) is an
  :class:`~qc.errors.InvalidOptionError` naming the dispute.
- Image-level decisions resolve every open dispute at once: ``accept_consensus`` = ``fused``
  for each, ``accept_submission`` = that submission as before, ``rework`` and ``escalate`` as
  before (the disputes record the kind).

Roles: :func:`dispute_views` follows :func:`item_view`'s rules for reviewers (never an image
they annotated) and lets an annotator read the disputes of an image they annotated only.

A finished review starts the close of its round (no flow waits for people): after a
decision is committed, the caller (web page, ``qc review decide``) calls
:func:`on_round_reviewed` with a callback; when the item's round has no open review item
left (pending, claimed or escalated), the callback gets the round id. The callback comes
from outside ``qc`` (``flows.triggers.close_reviewed_round``: a Prefect deployment run when
a server is configured, else ``close_round`` in-process), so this package stays free of Prefect.

The rooms: :mod:`~qc.review.queue` (claim, lease, reassign, open items),
:mod:`~qc.review.decisions` (decide, what each kind stores, :func:`on_round_reviewed`),
:mod:`~qc.review.reopen` (a re-delivery after a decision puts the item back in the queue),
:mod:`~qc.review.disputes` (the disputes and feedback the page and terminal show),
:mod:`~qc.review.resolve` (resolving dispute by dispute, the accepted label with provenance),
:mod:`~qc.review.views` (the frozen :class:`ItemView`, :class:`QueueRow` and friends that the
command line and the web page show), :mod:`~qc.review.tokens` (login tokens and sessions of the
web page).
"""

from qc.review.decisions import DecisionResult, RoundReviewed, decide, on_round_reviewed
from qc.review.disputes import (
    AnnotatorFeedback,
    DisputeResolution,
    DisputeVersion,
    DisputeView,
    dispute_views,
    feedback_by_annotator,
)
from qc.review.queue import Claim, claim, item_submissions, open_review_items, reassign
from qc.review.reopen import Reopened, reopen_after_redelivery
from qc.review.resolve import RESOLUTION_KINDS, Resolution, resolve
from qc.review.tokens import account_for_token, hash_token, issue_token, log_out, person_for_token
from qc.review.views import (
    AnnotatorRef,
    DecisionView,
    FeedbackRow,
    FlagView,
    ImageRef,
    ItemLayers,
    ItemState,
    ItemView,
    QueueRow,
    ReopenView,
    feedback_for,
    item_layers,
    item_view,
    queue_rows,
)
from qc.store.review import annotated_by

__all__ = [
    "RESOLUTION_KINDS",
    "AnnotatorFeedback",
    "AnnotatorRef",
    "Claim",
    "DecisionResult",
    "DecisionView",
    "DisputeResolution",
    "DisputeVersion",
    "DisputeView",
    "FeedbackRow",
    "FlagView",
    "ImageRef",
    "ItemLayers",
    "ItemState",
    "ItemView",
    "QueueRow",
    "ReopenView",
    "Reopened",
    "Resolution",
    "RoundReviewed",
    "account_for_token",
    "annotated_by",
    "claim",
    "decide",
    "dispute_views",
    "feedback_by_annotator",
    "feedback_for",
    "hash_token",
    "issue_token",
    "item_layers",
    "item_submissions",
    "item_view",
    "log_out",
    "on_round_reviewed",
    "open_review_items",
    "person_for_token",
    "queue_rows",
    "reassign",
    "reopen_after_redelivery",
    "resolve",
]
