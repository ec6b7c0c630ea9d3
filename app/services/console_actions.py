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
from app.models.commerce import Subscription, SubscriptionStatus
from app.models.engagement import CommunityPost, PostStatus, SupportTicket, TicketStatus
from app.models.identity import PlatformUser, UserStatus
from app.models.training import CustomerPlan, PlanStatus
from app.services import events
from app.services.api_clients import lifecycle as api_client_lifecycle

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
    until = dt.date.today() + dt.timedelta(days=days)
    changed = 0
    for sub in subscriptions:
        if sub.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIAL, SubscriptionStatus.PAST_DUE):
            sub.status = SubscriptionStatus.PAUSED
            sub.pause_until = until
            changed += 1
            events.emit(
                session,
                events.SUBSCRIPTION_PAUSED,
                customer_id=sub.customer_id,
                subscription_id=sub.id,
                product_id=sub.product_id,
                pause_until=until,
            )
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
