"""The subscription state machine: which status may follow which, and the console's transitions.

Statuses: TRIAL -> ACTIVE (trial ends) | CANCELLED; ACTIVE -> PAUSED | PAST_DUE | CANCELLED | EXPIRED;
PAUSED -> ACTIVE | CANCELLED; PAST_DUE -> ACTIVE (recovered) | CANCELLED (dunning exhausted);
CANCELLED -> ACTIVE (reactivated within the paid period); EXPIRED is final. Every status change goes
through ``set_status``, which refuses anything else and writes one chained audit entry with the reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any

from sqlalchemy.orm import Session

from app.i18n import _l
from app.models.commerce import Subscription
from app.models.commerce import SubscriptionStatus as S
from app.models.labels import lazy_enum_label
from app.services import events
from app.services.audit import hooks as audit_hooks
from app.services.billing.errors import TransitionRefused

STATUS_TRANSITIONS: dict[S, frozenset[S]] = {
    S.TRIAL: frozenset({S.ACTIVE, S.CANCELLED, S.EXPIRED}),
    S.ACTIVE: frozenset({S.PAUSED, S.PAST_DUE, S.CANCELLED, S.EXPIRED}),
    S.PAUSED: frozenset({S.ACTIVE, S.CANCELLED}),
    S.PAST_DUE: frozenset({S.ACTIVE, S.CANCELLED}),
    S.CANCELLED: frozenset({S.ACTIVE}),
    S.EXPIRED: frozenset(),
}
LIVE = frozenset({S.TRIAL, S.ACTIVE, S.PAUSED, S.PAST_DUE})


class Action(enum.StrEnum):
    """What a person may ask of a subscription (the console's buttons)."""

    PAUSE = "pause"
    RESUME = "resume"
    CANCEL_NOW = "cancel_now"
    CANCEL_AT_PERIOD_END = "cancel_at_period_end"
    REACTIVATE = "reactivate"


ACTION_LABELS = {
    Action.PAUSE: _l("Pause"),
    Action.RESUME: _l("Resume"),
    Action.CANCEL_NOW: _l("Cancel now"),
    Action.CANCEL_AT_PERIOD_END: _l("Cancel at period end"),
    Action.REACTIVATE: _l("Reactivate"),
}


@dataclasses.dataclass(frozen=True)
class Transition:
    action: Action
    label: Any
    target: S


def _recurring(sub: Subscription) -> bool:
    return sub.product is not None and sub.product.interval_months is not None


def allowed_transitions(sub: Subscription, today: dt.date) -> list[Transition]:
    """The actions the subscription's current state allows, in button order (the console shows only these)."""
    status, pending_end = S(sub.status), sub.cancel_at_period_end
    out: list[tuple[Action, S]] = []
    if status == S.ACTIVE and _recurring(sub) and not pending_end:
        out.append((Action.PAUSE, S.PAUSED))
    if status == S.PAUSED:
        out.append((Action.RESUME, S.ACTIVE))
    if status in (S.TRIAL, S.ACTIVE) and _recurring(sub) and not pending_end:
        out.append((Action.CANCEL_AT_PERIOD_END, status))
    if status in LIVE:
        out.append((Action.CANCEL_NOW, S.CANCELLED))
    if status in (S.TRIAL, S.ACTIVE) and pending_end:
        out.append((Action.REACTIVATE, status))
    if status == S.CANCELLED and _recurring(sub) and sub.end_date is not None and sub.end_date > today:
        out.append((Action.REACTIVATE, S.ACTIVE))
    return [Transition(action, ACTION_LABELS[action], target) for action, target in out]


def check_action(sub: Subscription, action: Action, today: dt.date) -> Transition:
    for transition in allowed_transitions(sub, today):
        if transition.action == action:
            return transition
    raise TransitionRefused(
        _l(
            "A subscription that is “%(status)s” cannot do this: %(action)s.",
            status=lazy_enum_label(S(sub.status)),
            action=ACTION_LABELS[action],
        )
    )


def set_status(session: Session, sub: Subscription, to: S, *, reason: str, at: dt.datetime, **details: Any) -> S:
    """Move ``sub`` to ``to`` if the machine allows it, audited as ``subscription.status``; returns the old one."""
    before = S(sub.status)
    if to == before:
        return before
    if to not in STATUS_TRANSITIONS[before]:
        raise TransitionRefused(
            _l(
                "A subscription cannot go from “%(before)s” to “%(after)s”.",
                before=lazy_enum_label(before),
                after=lazy_enum_label(to),
            )
        )
    sub.status = to
    audit_change(
        session,
        "subscriptions",
        sub.id,
        "subscription.status",
        {"from": str(before), "to": str(to), "reason": reason, "at": at.isoformat(), **details},
    )
    return before


def emit_about(session: Session, sub: Subscription, event_type: str, **payload: Any) -> None:
    """Emit a subscription event: its customer as the subject, the subscription and product in the payload."""
    events.emit(
        session, event_type, customer_id=sub.customer_id, subscription_id=sub.id, product_id=sub.product_id, **payload
    )


def audit_change(session: Session, table: str, row_id: int, action: str, details: dict[str, Any]) -> None:
    """One chained audit entry with the intent of a change (the timeline reads the subscription's back)."""
    audit_hooks.queue(
        session,
        [{"action": action, "resource_type": table, "resource_id": str(row_id), "metadata_json": details}],
    )
