"""Row scope: which rows a console user may see or touch, as SQLAlchemy criteria.

This is the one place the coach rules live. Every data path (console lists,
show/edit/delete by URL, related lists, autocomplete, filters, CSV export, bulk
actions, charts, REST, and the plan builder's pages, JSON endpoints and jobs) asks
:func:`scope_criteria` (or :func:`scoped_select`) and adds the result to its WHERE
clause; ``for_write=True`` asks for the rows the user may change. A model or role
without a rule gets ``false()``: no rows, never all rows. REST API clients act as a
coach (``COACH_RULES``), a customer app (``CUSTOMER_APP_RULES``: the customer's own rows)
or a partner (unrestricted, bounded by its API scopes).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from app.models.analytics import EngagementEvent, ProgressMetric, RecommendationLog
from app.models.automation import AutomationExecution, AutomationRule, AutomationRuleVersion, SegmentMembership
from app.models.commerce import Invoice, Payment, Product, Subscription
from app.models.customers import Assessment, CoachAssignment, CustomerProfile
from app.models.engagement import NOTES_CONTEXT, Challenge, ChallengeResult, Message, SupportTicket, Thread
from app.models.identity import PlatformUser
from app.models.scheduling import (
    AvailabilityException,
    CalendarFeed,
    CoachAvailability,
    ScheduledSession,
    SessionParticipant,
    SessionSeries,
    WaitlistEntry,
)
from app.models.training import (
    Badge,
    CustomerBadge,
    CustomerPlan,
    Exercise,
    Habit,
    Meal,
    PlanItem,
    Program,
    ProgramItem,
    Visibility,
)
from app.policy.roles import ADMIN, API_PARTNER, COACH, COMPLIANCE, CUSTOMER_APP, MANAGER, SUPPORT

# Roles whose permissions are the whole story: no row restriction (an API partner is bounded by its scopes).
UNRESTRICTED_ROLES = frozenset({ADMIN, SUPPORT, MANAGER, COMPLIANCE, API_PARTNER})

Criteria = ColumnElement[bool]


@dataclass(frozen=True)
class Actor:
    """Who acts, reduced to what row scope reads: a platform user id and console role names.

    Services and jobs hold one instead of a request's console account (a job only has the
    account it was started for); every function here accepts it wherever it accepts a
    console account, so both go through the same rules.
    """

    user_id: uuid.UUID | None
    roles: frozenset[str]

    @property
    def platform_user_id(self) -> uuid.UUID | None:
        return self.user_id

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    @property
    def is_coach(self) -> bool:
        return COACH in self.roles

    @classmethod
    def of(cls, user: Any) -> Actor:
        """The actor for a console account (``g.user``, or the account a job runs for); anonymous acts as nobody."""
        if isinstance(user, Actor):
            return user
        return cls(getattr(user, "platform_user_id", None) if user is not None else None, frozenset(role_names(user)))


def role_names(user: Any) -> set[str]:
    if isinstance(user, Actor):
        return set(user.roles)
    if user is None or getattr(user, "is_anonymous", False):
        return set()
    return {r.name for r in (getattr(user, "roles", None) or [])}


def coach_customers(coach_id: uuid.UUID) -> sa.Select:
    """The ids of the customers assigned to a coach: the one definition every path uses."""
    return sa.select(CoachAssignment.customer_id).where(CoachAssignment.coach_id == coach_id)


def coach_sessions(coach_id: uuid.UUID) -> sa.Select:
    """The ids of the sessions a coach runs (their roster includes customers not assigned to them)."""
    return sa.select(ScheduledSession.id).where(ScheduledSession.coach_id == coach_id)


def _visible_programs(coach_id: uuid.UUID) -> Criteria:
    return sa.or_(Program.created_by == coach_id, Program.visibility.in_([Visibility.SHARED, Visibility.PUBLIC]))


def _editable_programs(coach_id: uuid.UUID) -> Criteria:
    # DESIGN.md: a coach "sees and touches" programs they created or that are shared. SHARED
    # ("shared with the team") is the team's to edit; PUBLIC is a template every coach may
    # read and assign, but only its author (or an admin) changes.
    return sa.or_(Program.created_by == coach_id, Program.visibility == Visibility.SHARED)


def _customer_rows(column: Any) -> Callable[[uuid.UUID, bool], Criteria]:
    return lambda cid, write: column.in_(coach_customers(cid))


def _everything(cid: uuid.UUID, write: bool) -> Criteria:
    return sa.true()


def _program_rule(cid: uuid.UUID, write: bool) -> Criteria:
    return _editable_programs(cid) if write else _visible_programs(cid)


def _program_item_rule(cid: uuid.UUID, write: bool) -> Criteria:
    programs = sa.select(Program.id).where(_program_rule(cid, write))
    return ProgramItem.program_id.in_(programs)


def _plan_item_rule(cid: uuid.UUID, write: bool) -> Criteria:
    plans = sa.select(CustomerPlan.id).where(CustomerPlan.customer_id.in_(coach_customers(cid)))
    return PlanItem.plan_id.in_(plans)


def _subscription_rule(cid: uuid.UUID, write: bool) -> Criteria:
    return Subscription.customer_id.in_(coach_customers(cid))


def _invoice_rule(cid: uuid.UUID, write: bool) -> Criteria:
    subscriptions = sa.select(Subscription.id).where(_subscription_rule(cid, write))
    return Invoice.subscription_id.in_(subscriptions)


def _payment_rule(cid: uuid.UUID, write: bool) -> Criteria:
    invoices = sa.select(Invoice.id).where(_invoice_rule(cid, write))
    return Payment.invoice_id.in_(invoices)


def _message_rule(cid: uuid.UUID, write: bool) -> Criteria:
    return Message.thread_id.in_(sa.select(Thread.id).where(Thread.coach_id == cid))


def _user_rule(cid: uuid.UUID, write: bool) -> Criteria:
    # A coach sees their customers and themselves (so "coach" pickers can offer them), but acts
    # on (assigns plans to, changes) only the customers assigned to them.
    if write:
        return PlatformUser.id.in_(coach_customers(cid))
    return sa.or_(PlatformUser.id == cid, PlatformUser.id.in_(coach_customers(cid)))


def _automation_rule_rule(cid: uuid.UUID, write: bool) -> Criteria:
    # A rule touches a coach's customers when it is limited to that coach or to nobody in
    # particular; coaches read those, and change none (they hold the resource read-only).
    if write:
        return sa.false()
    return sa.or_(AutomationRule.coach_id == cid, AutomationRule.coach_id.is_(None))


# model -> rule(coach platform user id, for_write) -> criteria. A model absent
# from this table is invisible to coaches.
COACH_RULES: dict[type, Callable[[uuid.UUID, bool], Criteria]] = {
    PlatformUser: _user_rule,
    CustomerProfile: _customer_rows(CustomerProfile.user_id),
    Assessment: _customer_rows(Assessment.user_id),
    CoachAssignment: lambda cid, write: CoachAssignment.coach_id == cid,
    CustomerPlan: _customer_rows(CustomerPlan.customer_id),
    PlanItem: _plan_item_rule,
    CustomerBadge: _customer_rows(CustomerBadge.customer_id),
    ChallengeResult: _customer_rows(ChallengeResult.customer_id),
    ProgressMetric: _customer_rows(ProgressMetric.customer_id),
    EngagementEvent: _customer_rows(EngagementEvent.customer_id),
    RecommendationLog: _customer_rows(RecommendationLog.customer_id),
    Thread: lambda cid, write: Thread.coach_id == cid,
    Message: _message_rule,
    ScheduledSession: lambda cid, write: ScheduledSession.coach_id == cid,
    SessionParticipant: lambda cid, write: SessionParticipant.session_id.in_(coach_sessions(cid)),
    WaitlistEntry: lambda cid, write: WaitlistEntry.session_id.in_(coach_sessions(cid)),
    CoachAvailability: lambda cid, write: CoachAvailability.coach_id == cid,
    AvailabilityException: lambda cid, write: AvailabilityException.coach_id == cid,
    SessionSeries: lambda cid, write: SessionSeries.coach_id == cid,
    CalendarFeed: lambda cid, write: CalendarFeed.coach_id == cid,
    Program: _program_rule,
    ProgramItem: _program_item_rule,
    # Their customers' billing (coaches hold no permission on these today; charts and reports use the rule).
    Subscription: _subscription_rule,
    Invoice: _invoice_rule,
    Payment: _payment_rule,
    AutomationRule: _automation_rule_rule,
    AutomationRuleVersion: lambda cid, write: AutomationRuleVersion.rule_id.in_(
        sa.select(AutomationRule.id).where(_automation_rule_rule(cid, write))
    ),
    AutomationExecution: _customer_rows(AutomationExecution.customer_id),
    SegmentMembership: _customer_rows(SegmentMembership.customer_id),
    # The shared catalogue is not customer data.
    Product: _everything,
    Exercise: _everything,
    Meal: _everything,
    Habit: _everything,
    Badge: _everything,
    Challenge: _everything,
}


def customer_coaches(customer_id: uuid.UUID) -> sa.Select:
    """The ids of the coaches a customer is assigned to."""
    return sa.select(CoachAssignment.coach_id).where(CoachAssignment.customer_id == customer_id)


def _own(column: Any) -> Callable[[uuid.UUID, bool], Criteria]:
    return lambda cid, write: column == cid


def _customer_session_rule(cid: uuid.UUID, write: bool) -> Criteria:
    # The timetable a customer app shows (and books from): their coaches' sessions, and any session
    # they are on the roster of.
    booked = sa.select(SessionParticipant.session_id).where(SessionParticipant.customer_id == cid)
    return sa.or_(ScheduledSession.coach_id.in_(customer_coaches(cid)), ScheduledSession.id.in_(booked))


def _customer_threads(cid: uuid.UUID) -> Criteria:
    # The customer's threads, but never the notes automation writes to their coach about them.
    return sa.and_(Thread.customer_id == cid, sa.or_(Thread.context_id.is_(None), Thread.context_id != NOTES_CONTEXT))


# model -> rule(customer platform user id, for_write): a REST client acting for one customer (a
# customer app) sees that customer's own rows and nothing else; the timetable is the one shared view.
CUSTOMER_APP_RULES: dict[type, Callable[[uuid.UUID, bool], Criteria]] = {
    PlatformUser: _own(PlatformUser.id),
    CustomerProfile: _own(CustomerProfile.user_id),
    CustomerPlan: _own(CustomerPlan.customer_id),
    PlanItem: lambda cid, write: PlanItem.plan_id.in_(
        sa.select(CustomerPlan.id).where(CustomerPlan.customer_id == cid)
    ),
    ScheduledSession: _customer_session_rule,
    SessionParticipant: _own(SessionParticipant.customer_id),
    WaitlistEntry: _own(WaitlistEntry.customer_id),
    ProgressMetric: _own(ProgressMetric.customer_id),
    SupportTicket: _own(SupportTicket.requester_id),
    Subscription: _own(Subscription.customer_id),
    Invoice: lambda cid, write: Invoice.subscription_id.in_(
        sa.select(Subscription.id).where(Subscription.customer_id == cid)
    ),
    Thread: lambda cid, write: _customer_threads(cid),
    Message: lambda cid, write: Message.thread_id.in_(sa.select(Thread.id).where(_customer_threads(cid))),
}


def scope_criteria(model: type, user: Any, *, for_write: bool = False) -> Criteria:
    """The WHERE clause limiting ``model`` to the rows ``user`` may see (or change, with ``for_write``)."""
    roles = role_names(user)
    if roles & UNRESTRICTED_ROLES:
        return sa.true()
    if COACH in roles:
        coach_id = getattr(user, "platform_user_id", None)
        rule = COACH_RULES.get(model)
        if coach_id is None or rule is None:
            return sa.false()
        return rule(coach_id, for_write)
    if CUSTOMER_APP in roles:
        customer_id = getattr(user, "platform_user_id", None)
        rule = CUSTOMER_APP_RULES.get(model)
        if customer_id is None or rule is None:
            return sa.false()
        return rule(customer_id, for_write)
    return sa.false()


def scoped_select(model: type, user: Any, *criteria: Any, for_write: bool = False) -> sa.Select:
    """``SELECT model`` restricted to the rows ``user`` may see (or change): for charts, dashboards, the API."""
    return sa.select(model).where(scope_criteria(model, user, for_write=for_write), *criteria)


def is_unrestricted(user: Any) -> bool:
    return bool(role_names(user) & UNRESTRICTED_ROLES)


def scoped_coach_id(user: Any) -> uuid.UUID | None:
    """The coach whose customers bound ``user``'s aggregates (dashboards), or None when unrestricted.

    Reports aggregate rollup tables rather than entity rows, so they cannot add
    :func:`scope_criteria`; they bound themselves with :func:`coach_customers` of this id.
    Raises ``PermissionError`` for an account with no role that grants any rows.
    """
    roles = role_names(user)
    if roles & UNRESTRICTED_ROLES:
        return None
    platform_id = getattr(user, "platform_user_id", None)
    if COACH in roles and platform_id is not None:
        return platform_id
    raise PermissionError("no row scope rule matches this account")
