"""Events for the changes staff make through the console's generic record forms.

Some changes that are triggers have no service yet: a coach records a measurement, Support opens
a ticket, awards a badge, marks a plan item done, records a consent's withdrawal, all through the
generated add/edit forms. The record views
call ``previous`` before their flush and ``announce`` after it, in the same transaction as the
change (no ORM event listener: only those forms announce, and a service that later does the
same change emits its own event and is simply not a form). Subscriptions, invoices and payments
have no such forms: the billing services change them and emit their own events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.analytics import ProgressMetric
from app.models.engagement import SupportTicket
from app.models.identity import Consent
from app.models.training import Badge, CompletionState, CustomerBadge, CustomerPlan, PlanItem
from app.services import events

# The attributes whose old value decides whether an edit is an event.
WATCHED: dict[type, tuple[str, ...]] = {
    Consent: ("revoked_at",),
    PlanItem: ("completion_state",),
}


def previous(db: Session, item: Any) -> dict[str, Any]:
    """The watched columns' stored values before the form's changes (call before the flush).

    Read from the database rather than from the attribute history, which does not know the old
    value of an attribute that was expired (after a commit) when the form set it.
    """
    names = WATCHED.get(type(item), ())
    state = sa.inspect(item)
    if not names or not state.persistent:
        return {}
    model = type(item)
    key = sa.inspect(model).primary_key[0]
    with db.no_autoflush:
        row = db.execute(sa.select(*(getattr(model, n) for n in names)).where(key == state.identity[0])).first()
    return dict(zip(names, row, strict=True)) if row is not None else {}


def announce(db: Session, item: Any, *, is_new: bool, before: dict[str, Any]) -> None:
    """Emit the event a saved form stands for, if any (call after the flush, before the commit)."""
    announcer = _ANNOUNCERS.get(type(item))
    if announcer is not None:
        announcer(db, item, is_new, before)


def _became(item: Any, before: dict[str, Any], name: str, value: Any) -> bool:
    return getattr(item, name) == value and before.get(name) != value


def _metric(db: Session, item: ProgressMetric, is_new: bool, before: dict[str, Any]) -> None:
    if is_new:
        events.emit(
            db, events.PROGRESS_METRIC_RECORDED, customer_id=item.customer_id, metric_id=item.id,
            metric_type=item.metric_type, value=item.value, unit=item.unit, source=item.source,
            recorded_at=item.recorded_at,
        )  # fmt: skip


def _ticket(db: Session, item: SupportTicket, is_new: bool, before: dict[str, Any]) -> None:
    if is_new:
        events.emit(
            db, events.SUPPORT_TICKET_CREATED, customer_id=item.requester_id, ticket_id=item.id,
            priority=item.priority, status=item.status, sla_due_at=item.sla_due_at,
        )  # fmt: skip


def _badge(db: Session, item: CustomerBadge, is_new: bool, before: dict[str, Any]) -> None:
    if is_new:
        code = db.scalar(sa.select(Badge.code).where(Badge.id == item.badge_id))
        events.emit(
            db, events.BADGE_AWARDED, customer_id=item.customer_id, customer_badge_id=item.id,
            badge_id=item.badge_id, badge_code=code,
        )  # fmt: skip


def _consent(db: Session, item: Consent, is_new: bool, before: dict[str, Any]) -> None:
    if not is_new and item.revoked_at is not None and before.get("revoked_at") is None:
        events.emit(
            db, events.CONSENT_REVOKED, customer_id=item.user_id, consent_id=item.id,
            consent_type=item.consent_type, revoked_at=item.revoked_at,
        )  # fmt: skip


def _plan_item(db: Session, item: PlanItem, is_new: bool, before: dict[str, Any]) -> None:
    if not is_new and _became(item, before, "completion_state", CompletionState.COMPLETED):
        customer = db.scalar(sa.select(CustomerPlan.customer_id).where(CustomerPlan.id == item.plan_id))
        events.emit(
            db, events.PLAN_ITEM_COMPLETED, customer_id=customer, plan_id=item.plan_id, plan_item_id=item.id,
            item_type=item.item_type, item_id=item.item_id, scheduled_date=item.scheduled_date,
        )  # fmt: skip


_ANNOUNCERS: dict[type, Callable[[Session, Any, bool, dict[str, Any]], None]] = {
    ProgressMetric: _metric,
    SupportTicket: _ticket,
    CustomerBadge: _badge,
    Consent: _consent,
    PlanItem: _plan_item,
}
