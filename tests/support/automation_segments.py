"""Customers with every fact a segment condition reads, and those facts computed again in Python.

``python_facts`` reads the ORM rows and works each segment field out in plain Python, with no
SQL expression of ``app.services.automation.segments``: the reference the SQL segment is held to.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models.analytics import EngagementEvent
from app.models.commerce import Product, ProductCategory, Subscription, SubscriptionStatus
from app.models.customers import CoachAssignment, CustomerProfile, Gender
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole, UserStatus
from app.models.training import CustomerPlan, PlanStatus, Program, ProgramLevel
from app.services.accounts import ensure_platform_role
from app.services.automation.condition_values import normalise
from app.services.automation.conditions import CompiledCondition
from app.services.automation.segment_fields import SEGMENT_FIELDS

FIELDS = {f.name: f for f in SEGMENT_FIELDS}
RUNNING = {SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIAL, SubscriptionStatus.PAST_DUE}


def person(name: str, role: RoleCode = RoleCode.CUSTOMER, **columns: Any) -> PlatformUser:
    row = PlatformUser(email=f"{name.lower().replace(' ', '.')}-{uuid.uuid4().hex[:6]}@coachdesk.test",
                       full_name=name, **columns)  # fmt: skip
    db.session.add(row)
    db.session.flush()
    db.session.add(UserRole(user_id=row.id, role_id=ensure_platform_role(role).id))
    db.session.flush()
    return row


def _product() -> Product:
    found = db.session.scalar(sa.select(Product).limit(1))
    if found is None:
        found = Product(name="Coaching", category=ProductCategory.COACHING, price=decimal.Decimal("49"))
        db.session.add(found)
        db.session.flush()
    return found


def _program() -> Program:
    found = db.session.scalar(sa.select(Program).limit(1))
    if found is None:
        found = Program(title="Base", level=ProgramLevel.BEGINNER)
        db.session.add(found)
        db.session.flush()
    return found


def customer(
    name: str,
    *,
    signed_up: dt.datetime,
    born: dt.date | None = None,
    gender: Gender | None = None,
    zone: str | None = "UTC",
    locale: str = "en",
    status: UserStatus = UserStatus.ACTIVE,
    coach: uuid.UUID | None = None,
    subscription: SubscriptionStatus | None = None,
    plan: PlanStatus | None = None,
    activity: Iterable[dt.datetime] = (),
) -> uuid.UUID:
    """A customer signed up at ``signed_up`` with the given profile, coach, subscription, plan and activity."""
    row = person(name, locale=locale, status=status, created_at=signed_up, updated_at=signed_up)
    if zone is not None:
        db.session.add(CustomerProfile(user_id=row.id, timezone=zone, date_of_birth=born, gender=gender))
    if coach is not None:
        db.session.add(CoachAssignment(customer_id=row.id, coach_id=coach, assigned_at=signed_up, is_primary=True))
    if subscription is not None:
        db.session.add(Subscription(customer_id=row.id, product_id=_product().id, status=subscription,
                                    start_date=signed_up.date()))  # fmt: skip
    if plan is not None:
        db.session.add(CustomerPlan(customer_id=row.id, program_id=_program().id, start_date=signed_up.date(),
                                    status=plan))  # fmt: skip
    for at in activity:
        db.session.add(EngagementEvent(customer_id=row.id, event_type="login", occurred_at=at))
    db.session.commit()
    return row.id


def python_facts(customer_id: uuid.UUID, now: dt.datetime) -> dict[str, Any]:
    """The segment fields of one customer, worked out in Python from the ORM rows (missing ones left out)."""
    user = db.session.get(PlatformUser, customer_id)
    profile = db.session.get(CustomerProfile, customer_id)
    facts: dict[str, Any] = {
        "customer_id": str(user.id),
        "status": user.status.value,
        "locale": user.locale,
        "signup_date": user.created_at.astimezone(dt.UTC).date(),
    }
    primary = db.session.scalars(
        sa.select(CoachAssignment).where(CoachAssignment.customer_id == customer_id, CoachAssignment.is_primary)
        .order_by(CoachAssignment.assigned_at.desc(), CoachAssignment.id.desc())
    ).first()  # fmt: skip
    if primary is not None:
        facts["coach_id"] = str(primary.coach_id)
    if profile is not None:
        facts["timezone"] = profile.timezone
        if profile.gender is not None:
            facts["gender"] = profile.gender.value
        if profile.date_of_birth is not None:
            born, today = profile.date_of_birth, now.date()
            facts["age"] = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    subscriptions = db.session.scalars(sa.select(Subscription).where(Subscription.customer_id == customer_id))
    facts["has_active_subscription"] = any(s.status in RUNNING for s in subscriptions)
    plans = db.session.scalars(sa.select(CustomerPlan).where(CustomerPlan.customer_id == customer_id))
    facts["has_active_plan"] = any(p.status == PlanStatus.ACTIVE for p in plans)
    times = db.session.scalars(sa.select(EngagementEvent.occurred_at).where(EngagementEvent.customer_id == customer_id))
    latest = max(times, default=None)
    if latest is not None:
        facts["days_since_activity"] = (now - latest) // dt.timedelta(days=1)
    return facts


def normalised(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts as the condition language reads them (so SQL's and Python's can be compared)."""
    return {name: normalise(FIELDS[name].kind, value) for name, value in facts.items() if value is not None}


def python_segment(condition: CompiledCondition, now: dt.datetime) -> set[uuid.UUID]:
    """The customers (CUSTOMER role, not erased) a condition matches, customer by customer in Python."""
    customers = db.session.scalars(
        sa.select(UserRole.user_id).join(PlatformRole).where(PlatformRole.code == RoleCode.CUSTOMER)
    ).all()
    out = set()
    for customer_id in customers:
        if db.session.get(PlatformUser, customer_id).status == UserStatus.DELETED:
            continue
        if condition.matches(python_facts(customer_id, now)):
            out.add(customer_id)
    return out
