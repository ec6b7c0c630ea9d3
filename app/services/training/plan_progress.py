"""Recording how a customer did on a plan item: complete (fully or partly), skip, give feedback.

What the console's plan-item form lets staff correct by hand, as rules a client app can use
(``/api/v1/plan-items/<id>/...``): the actor's PlanItems write grant and row scope (``for_write``)
as for every plan edit, and state changes that make sense:

- complete or partly complete: a PENDING, PARTIAL or MISSED item (a SKIPPED one was withdrawn; a
  COMPLETED one is done); ``completion_at`` is the given instant, never in the future; reaching
  COMPLETED emits ``plan.item_completed`` (as the console form does);
- skip: a PENDING item only;
- feedback: on any item, up to ``MAX_FEEDBACK`` characters; empty clears it.

Refusals are ``PlanError`` (400, the API answers 409 for a state that forbids the change) or
``PlanNotFound`` (unknown or outside the scope, not told apart). Flushes, never commits.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from app.extensions import db
from app.i18n import service_gettext as _
from app.models.labels import enum_label
from app.models.training import CompletionState, CustomerPlan, PlanItem
from app.policy.scope import Actor
from app.services import events
from app.services.training.errors import PlanError
from app.services.training.plan_calendar import _writable_plan_item

MAX_FEEDBACK = 2000
COMPLETABLE = frozenset({CompletionState.PENDING, CompletionState.PARTIAL, CompletionState.MISSED})
# Clock skew a client's "done at" may have.
FUTURE_SLACK = dt.timedelta(minutes=5)


class PlanStateError(PlanError):
    """The item's state does not allow the change (a conflict with the current state)."""

    status = 409


def complete_item(
    actor: Actor,
    plan_item_id: int,
    *,
    partial: bool = False,
    at: dt.datetime | None = None,
    feedback: str | None = None,
    now: dt.datetime | None = None,
) -> PlanItem:
    now = now or dt.datetime.now(dt.UTC)
    item = _writable_plan_item(actor, plan_item_id)
    if item.completion_state not in COMPLETABLE:
        raise PlanStateError(
            _("This item is “%(state)s” and cannot be completed.", state=enum_label(item.completion_state)),
            field="state",
        )
    at = at or now
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    if at > now + FUTURE_SLACK:
        raise PlanError(_("The completion time is in the future."), field="completed_at")
    was = item.completion_state
    item.completion_state = CompletionState.PARTIAL if partial else CompletionState.COMPLETED
    item.completion_at = at
    if feedback is not None:
        item.feedback_text = _clean_feedback(feedback)
    if item.completion_state == CompletionState.COMPLETED and was != CompletionState.COMPLETED:
        customer = db.session.scalar(sa.select(CustomerPlan.customer_id).where(CustomerPlan.id == item.plan_id))
        events.emit(
            db.session, events.PLAN_ITEM_COMPLETED, customer_id=customer, plan_id=item.plan_id, plan_item_id=item.id,
            item_type=item.item_type, item_id=item.item_id, scheduled_date=item.scheduled_date,
        )  # fmt: skip
    db.session.flush()
    return item


def skip_item(actor: Actor, plan_item_id: int) -> PlanItem:
    item = _writable_plan_item(actor, plan_item_id)
    if item.completion_state != CompletionState.PENDING:
        raise PlanStateError(
            _("Only pending items can be skipped; this one is “%(state)s”.", state=enum_label(item.completion_state)),
            field="state",
        )
    item.completion_state = CompletionState.SKIPPED
    db.session.flush()
    return item


def give_feedback(actor: Actor, plan_item_id: int, text: str) -> PlanItem:
    item = _writable_plan_item(actor, plan_item_id)
    item.feedback_text = _clean_feedback(text)
    db.session.flush()
    return item


def _clean_feedback(text: str) -> str | None:
    cleaned = (text or "").strip()
    if len(cleaned) > MAX_FEEDBACK:
        raise PlanError(_("Feedback is at most %(n)s characters.", n=MAX_FEEDBACK), field="feedback")
    return cleaned or None
