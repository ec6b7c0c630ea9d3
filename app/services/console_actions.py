"""Bulk changes staff make from console lists; callable from views, jobs and the API alike.

Each function changes the given rows in the caller's session and returns how many
it changed; the caller commits (one transaction per bulk action).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.models.automation import APIClient, WearableAuthorization
from app.models.base import utcnow
from app.models.commerce import Subscription
from app.models.engagement import CommunityPost, PostStatus, SupportTicket, TicketStatus
from app.models.identity import PlatformUser, UserStatus
from app.models.training import CustomerPlan, PlanStatus
from app.services.api_clients import lifecycle as api_client_lifecycle
from app.services.billing import periods as billing_periods
from app.services.billing import states as billing_states
from app.services.billing import subscriptions as billing_subscriptions

PAUSE_DAYS = 30


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _set_status(session: Session, rows: Sequence[Any], status: Any, *, unless: tuple = ()) -> int:
    """Move rows to ``status`` (skipping those already there or in ``unless``); return how many moved."""
    changed = 0
    for row in rows:
        if row.status != status and row.status not in unless:
            row.status = status
            changed += 1
    session.flush()
    return changed


def suspend_users(session: Session, users: Sequence[PlatformUser], actor: Any = None) -> int:
    return _set_status(session, users, UserStatus.SUSPENDED)


def close_tickets(session: Session, tickets: Sequence[SupportTicket], actor: Any = None) -> int:
    changed = 0
    for ticket in tickets:
        if ticket.status != TicketStatus.CLOSED:
            ticket.status = TicketStatus.CLOSED
            ticket.closed_at = ticket.closed_at or _now()
            changed += 1
    session.flush()
    return changed


def assign_tickets(session: Session, tickets: Sequence[SupportTicket], actor: Any) -> int:
    """Assign to the acting console user's platform user (refused when the account has none)."""
    assignee = getattr(actor, "platform_user_id", None)
    if assignee is None:
        raise ValueError(
            _l("Your console account is not linked to a platform user, so tickets cannot be assigned to you.")
        )
    for ticket in tickets:
        ticket.assigned_to = assignee
    session.flush()
    return len(tickets)


def pause_subscriptions(
    session: Session, subscriptions: Sequence[Subscription], actor: Any = None, days: int = PAUSE_DAYS
) -> int:
    """Pause those the subscription state machine lets pause, for ``days`` (the billing service's rules)."""
    now = utcnow()
    changed = 0
    for sub in subscriptions:
        today = billing_periods.customer_today(session, sub.customer_id, now)
        if any(t.action == billing_states.Action.PAUSE for t in billing_states.allowed_transitions(sub, today)):
            billing_subscriptions.pause(session, sub, until=today + dt.timedelta(days=days), now=now)
            changed += 1
    session.flush()
    return changed


def pause_plans(session: Session, plans: Sequence[CustomerPlan], actor: Any = None) -> int:
    only_active = tuple(st for st in PlanStatus if st not in (PlanStatus.ACTIVE, PlanStatus.PAUSED))
    return _set_status(session, plans, PlanStatus.PAUSED, unless=only_active)


def hide_posts(session: Session, posts: Sequence[CommunityPost], actor: Any = None) -> int:
    return _set_status(session, posts, PostStatus.HIDDEN)


def revoke_api_clients(session: Session, clients: Sequence[APIClient], actor: Any = None) -> int:
    """Revoke for good through the client lifecycle (both keys stop, an audit event each)."""
    return sum(api_client_lifecycle.revoke(session, client) for client in clients)


def revoke_wearables(session: Session, authorizations: Sequence[WearableAuthorization], actor: Any = None) -> int:
    changed = 0
    for auth in authorizations:
        if auth.revoked_at is None:
            auth.revoked_at = _now()
            auth.access_token_hash = None
            auth.refresh_token_hash = None
            changed += 1
    session.flush()
    return changed
