"""Row scope for charts and dashboards.

Charts take a ``Scope``: a function from a model class to the SQL criteria a viewer's
rows must meet. When ``app.security.scope.scoped_select`` exists (the project's one
row-scope layer), charts start from its select. Until then ``fallback_criteria``
implements the coach rule from DESIGN.md here, so charts are never unscoped.
No rule matched means no rows.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from app import models as m
from app.models.training import Visibility

Scope = Callable[[type], list[ColumnElement]]

FULL_ACCESS_ROLES = frozenset({"Admin", "Manager", "Support", "Compliance"})
COACH_ROLE = "Coach"


def unrestricted(model: type) -> list[ColumnElement]:
    return []


def nothing(model: type) -> list[ColumnElement]:
    return [sa.false()]


def role_names(user: Any) -> set[str]:
    return {r.name for r in getattr(user, "roles", ()) or ()}


def scoped_coach_id(user: Any) -> uuid.UUID | None:
    """The platform user id whose customers bound this viewer, or None when unrestricted.

    Raises ``PermissionError`` for an account with no role that grants any rows.
    """
    roles = role_names(user)
    if roles & FULL_ACCESS_ROLES:
        return None
    platform_id = getattr(user, "platform_user_id", None)
    if COACH_ROLE in roles and platform_id is not None:
        return platform_id
    raise PermissionError("no row scope rule matches this account")


def assigned_customers(coach_id: uuid.UUID) -> sa.Select:
    ca = m.CoachAssignment
    return sa.select(ca.customer_id).where(ca.coach_id == coach_id)


def _coach_rules(coach_id: uuid.UUID) -> dict[type, Callable[[], list[ColumnElement]]]:
    mine = assigned_customers(coach_id)
    subs = sa.select(m.Subscription.id).where(m.Subscription.customer_id.in_(mine))
    invoices = sa.select(m.Invoice.id).where(m.Invoice.subscription_id.in_(subs))
    plans = sa.select(m.CustomerPlan.id).where(m.CustomerPlan.customer_id.in_(mine))
    sessions = sa.select(m.ScheduledSession.id).where(m.ScheduledSession.coach_id == coach_id)
    threads = sa.select(m.Thread.id).where(m.Thread.coach_id == coach_id)
    programs = sa.or_(
        m.Program.created_by == coach_id, m.Program.visibility.in_([Visibility.SHARED, Visibility.PUBLIC])
    )
    by_customer = {
        m.CustomerProfile: m.CustomerProfile.user_id,
        m.Assessment: m.Assessment.user_id,
        m.Consent: m.Consent.user_id,
        m.AuthSession: m.AuthSession.user_id,
        m.Subscription: m.Subscription.customer_id,
        m.CustomerPlan: m.CustomerPlan.customer_id,
        m.CustomerBadge: m.CustomerBadge.customer_id,
        m.WaitlistEntry: m.WaitlistEntry.customer_id,
        m.ProgressMetric: m.ProgressMetric.customer_id,
        m.EngagementEvent: m.EngagementEvent.customer_id,
        m.RecommendationLog: m.RecommendationLog.customer_id,
        m.ChallengeResult: m.ChallengeResult.customer_id,
        m.WearableAuthorization: m.WearableAuthorization.customer_id,
        m.CommunityPost: m.CommunityPost.author_id,
        m.CommunityReaction: m.CommunityReaction.user_id,
        m.SupportTicket: m.SupportTicket.requester_id,
    }
    rules: dict[type, Callable[[], list[ColumnElement]]] = {
        model: (lambda col=col: [col.in_(mine)]) for model, col in by_customer.items()
    }
    rules.update(
        {
            m.PlatformUser: lambda: [sa.or_(m.PlatformUser.id.in_(mine), m.PlatformUser.id == coach_id)],
            m.CoachAssignment: lambda: [m.CoachAssignment.coach_id == coach_id],
            m.CoachAvailability: lambda: [m.CoachAvailability.coach_id == coach_id],
            m.ScheduledSession: lambda: [m.ScheduledSession.coach_id == coach_id],
            m.SessionParticipant: lambda: [m.SessionParticipant.session_id.in_(sessions)],
            m.Thread: lambda: [m.Thread.coach_id == coach_id],
            m.Message: lambda: [m.Message.thread_id.in_(threads)],
            m.Invoice: lambda: [m.Invoice.subscription_id.in_(subs)],
            m.Payment: lambda: [m.Payment.invoice_id.in_(invoices)],
            m.PlanItem: lambda: [m.PlanItem.plan_id.in_(plans)],
            m.Program: lambda: [programs],
            m.ProgramItem: lambda: [m.ProgramItem.program_id.in_(sa.select(m.Program.id).where(programs))],
        }
    )
    # Shared catalogue: every coach sees all of it.
    for model in (m.Exercise, m.Meal, m.Habit, m.Badge, m.Challenge, m.Product, m.Promotion, m.Announcement):
        rules[model] = lambda: []
    return rules


def fallback_scope(user: Any) -> Scope:
    """The coach rule of DESIGN.md, used only while app.security.scope is absent."""
    try:
        coach_id = scoped_coach_id(user)
    except PermissionError:
        return nothing
    if coach_id is None:
        return unrestricted
    rules = _coach_rules(coach_id)

    def scope(model: type) -> list[ColumnElement]:
        rule = rules.get(model)
        return rule() if rule is not None else [sa.false()]

    return scope


def _project_scoped_select() -> Callable[[type, Any], sa.Select] | None:
    try:
        module = importlib.import_module("app.security.scope")
    except ImportError:
        return None
    return getattr(module, "scoped_select", None)


def base_select(model: type, user: Any) -> sa.Select:
    """``select(model)`` restricted to what ``user`` may see: the project's scope layer if present."""
    project = _project_scoped_select()
    if project is not None:
        return project(model, user)
    return sa.select(model).where(*fallback_scope(user)(model))
