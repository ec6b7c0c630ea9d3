"""A small known dataset for chart and dashboard tests; the expected numbers are worked out by hand
in the tests that use it (see the comments there)."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from dataclasses import dataclass, field

from app import models as m
from app.extensions import db
from app.models.commerce import InvoiceStatus, PaymentMethod, PaymentStatus, ProductCategory, SubscriptionStatus
from app.models.engagement import ReactionType, ThreadContext
from app.models.identity import RoleCode
from app.models.scheduling import AttendanceStatus, ParticipantRole, SessionStatus, SessionType
from app.models.training import CompletionState, ItemType, PlanStatus, ProgramLevel
from app.services.accounts import ensure_platform_role


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=dt.UTC)


def d(day: str) -> dt.date:
    return dt.date.fromisoformat(day)


@dataclass
class Dataset:
    coach1: uuid.UUID
    coach2: uuid.UUID
    customers: dict[str, uuid.UUID] = field(default_factory=dict)
    products: dict[str, int] = field(default_factory=dict)
    programs: dict[str, int] = field(default_factory=dict)


def _user(email: str, name: str, created: str, role: RoleCode) -> m.PlatformUser:
    user = m.PlatformUser(email=email, full_name=name, created_at=at(created), updated_at=at(created))
    db.session.add(user)
    db.session.flush()
    db.session.add(m.UserRole(user_id=user.id, role_id=ensure_platform_role(role).id))
    return user


def build(coach1_id: uuid.UUID) -> Dataset:
    """Insert the dataset; ``coach1_id`` is the platform user of the ``coach`` console account."""
    s = db.session
    coach2 = _user("coach2@x.test", "Coach Two", "2024-06-01", RoleCode.COACH)
    c1 = s.get(m.PlatformUser, coach1_id)
    c1.full_name = "Coach One"
    data = Dataset(coach1=coach1_id, coach2=coach2.id)
    for key, created in (("A", "2025-01-10"), ("B", "2025-01-20"), ("C", "2025-02-05"), ("D", "2025-02-15")):
        data.customers[key] = _user(f"{key.lower()}@x.test", f"Customer {key}", created, RoleCode.CUSTOMER).id
    A, B, C, D = (data.customers[k] for k in "ABCD")
    for cust, coach in ((A, coach1_id), (B, coach2.id), (C, coach1_id), (D, coach2.id)):
        s.add(m.CoachAssignment(customer_id=cust, coach_id=coach, assigned_at=at("2025-01-01"), is_primary=True))

    # Engagement events
    events = [
        (A, "login", "2025-01-11"), (A, "workout", "2025-02-03"), (A, "workout", "2025-02-04"),
        (A, "login", "2025-03-01"),
        (B, "login", "2025-01-21"),
        (C, "login", "2025-02-06"), (C, "workout", "2025-03-10"),
    ]  # fmt: skip
    for cust, kind, day in events:
        s.add(m.EngagementEvent(customer_id=cust, event_type=kind, occurred_at=at(day)))
    s.add(
        m.EngagementEvent(
            customer_id=B, event_type="promotion_redeemed", occurred_at=at("2025-01-21", 13),
            payload_json={"code": "NEWYEAR"},
        )
    )  # fmt: skip

    # Commerce
    p1 = m.Product(name="Basic", category=ProductCategory.COACHING, price=decimal.Decimal("50.00"), currency="EUR")
    p2 = m.Product(name="Premium", category=ProductCategory.MEMBERSHIP, price=decimal.Decimal("100.00"), currency="EUR")
    s.add_all([p1, p2])
    s.flush()
    data.products = {"Basic": p1.id, "Premium": p2.id}
    subs = {
        "A": m.Subscription(customer_id=A, product_id=p1.id, status=SubscriptionStatus.ACTIVE,
                            start_date=d("2025-01-10")),
        "B": m.Subscription(customer_id=B, product_id=p2.id, status=SubscriptionStatus.CANCELLED,
                            start_date=d("2025-01-20"), end_date=d("2025-02-10")),
        "C": m.Subscription(customer_id=C, product_id=p1.id, status=SubscriptionStatus.TRIAL,
                            start_date=d("2025-02-05")),
        "D": m.Subscription(customer_id=D, product_id=p2.id, status=SubscriptionStatus.PAUSED,
                            start_date=d("2025-02-15"), pause_until=d("2025-03-20")),
    }  # fmt: skip
    s.add_all(subs.values())
    s.flush()
    invoices = {}
    for key, sub, amount, due, status in (
        ("I1", "A", "50", "2025-01-10", InvoiceStatus.PAID),
        ("I2", "A", "50", "2025-02-10", InvoiceStatus.PAID),
        ("I3", "A", "50", "2025-03-10", InvoiceStatus.OPEN),
        ("I4", "B", "100", "2025-01-20", InvoiceStatus.PAID),
        ("I5", "B", "100", "2025-02-20", InvoiceStatus.UNCOLLECTIBLE),
        ("I6", "D", "100", "2025-02-15", InvoiceStatus.DRAFT),
    ):
        inv = m.Invoice(subscription_id=subs[sub].id, amount=decimal.Decimal(amount), due_date=d(due), status=status)
        if status == InvoiceStatus.PAID:
            inv.paid_at = at(due)
        invoices[key] = inv
    s.add_all(invoices.values())
    s.flush()
    for inv, status, reason, day in (
        ("I1", PaymentStatus.SUCCEEDED, None, "2025-01-10"),
        ("I5", PaymentStatus.FAILED, "card_declined", "2025-02-20"),
        ("I5", PaymentStatus.FAILED, "card_declined", "2025-02-21"),
        ("I3", PaymentStatus.FAILED, "insufficient_funds", "2025-03-10"),
    ):
        s.add(
            m.Payment(invoice_id=invoices[inv].id, provider="stripe", method=PaymentMethod.CARD,
                      amount=invoices[inv].amount, status=status, failure_reason=reason, created_at=at(day))
        )  # fmt: skip

    # Training
    pr1 = m.Program(title="Strength", level=ProgramLevel.BEGINNER, created_by=coach1_id)
    pr2 = m.Program(title="Mobility", level=ProgramLevel.BEGINNER, created_by=coach1_id)
    s.add_all([pr1, pr2])
    s.flush()
    data.programs = {"Strength": pr1.id, "Mobility": pr2.id}
    plans = {
        "A": m.CustomerPlan(customer_id=A, program_id=pr1.id, start_date=d("2025-01-13"), status=PlanStatus.ACTIVE),
        "B": m.CustomerPlan(customer_id=B, program_id=pr1.id, start_date=d("2025-01-20"), status=PlanStatus.ACTIVE),
        "C": m.CustomerPlan(customer_id=C, program_id=pr2.id, start_date=d("2025-02-10"), status=PlanStatus.ACTIVE),
    }
    s.add_all(plans.values())
    s.flush()
    for plan, day, state, sub, feedback in (
        ("A", "2025-01-13", CompletionState.COMPLETED, None, None),
        ("A", "2025-01-15", CompletionState.MISSED, None, None),
        ("A", "2025-01-20", CompletionState.COMPLETED, None, None),
        ("A", "2025-01-22", CompletionState.SKIPPED, 5, "too hard"),
        ("B", "2025-01-20", CompletionState.COMPLETED, None, None),
        ("C", "2025-02-10", CompletionState.COMPLETED, None, "great"),
        ("C", "2025-02-17", CompletionState.PENDING, None, None),
    ):
        s.add(
            m.PlanItem(plan_id=plans[plan].id, scheduled_date=d(day), item_type=ItemType.EXERCISE, item_id=1,
                       completion_state=state, substitution_item_id=sub, feedback_text=feedback,
                       completion_at=at(day) if state == CompletionState.COMPLETED else None)
        )  # fmt: skip

    # Scheduling
    ss1 = m.ScheduledSession(
        session_type=SessionType.CLASS,
        coach_id=coach1_id,
        capacity=10,
        start_time=at("2025-01-15", 10),
        end_time=at("2025-01-15", 11),
    )
    ss2 = m.ScheduledSession(
        session_type=SessionType.ONE_ON_ONE,
        coach_id=coach2.id,
        capacity=1,
        start_time=at("2025-02-01", 10),
        end_time=at("2025-02-01", 11),
    )
    ss3 = m.ScheduledSession(
        session_type=SessionType.CLASS,
        coach_id=coach1_id,
        capacity=5,
        status=SessionStatus.CANCELLED,
        start_time=at("2025-02-10", 10),
        end_time=at("2025-02-10", 11),
    )
    s.add_all([ss1, ss2, ss3])
    s.flush()
    for sess, cust, role, status in (
        (ss1, A, ParticipantRole.PRIMARY, AttendanceStatus.ATTENDED),
        (ss1, B, ParticipantRole.PRIMARY, AttendanceStatus.NO_SHOW),
        (ss1, C, ParticipantRole.PRIMARY, AttendanceStatus.CANCELLED),
        # D joined the waitlist, was promoted to a seat, then cancelled it; A still waits on ss2.
        (ss1, D, ParticipantRole.PRIMARY, AttendanceStatus.CANCELLED),
        (ss2, B, ParticipantRole.PRIMARY, AttendanceStatus.ATTENDED),
        (ss2, A, ParticipantRole.WAITLIST, AttendanceStatus.REGISTERED),
        (ss3, A, ParticipantRole.PRIMARY, AttendanceStatus.REGISTERED),
    ):
        s.add(m.SessionParticipant(session_id=sess.id, customer_id=cust, role=role, attendance_status=status))
    s.add(
        m.WaitlistEntry(session_id=ss1.id, customer_id=D, joined_at=at("2025-01-14"), promoted_at=at("2025-01-15", 9))
    )
    s.add(m.WaitlistEntry(session_id=ss2.id, customer_id=A, joined_at=at("2025-01-30")))  # fmt: skip

    # Messages and community
    t1 = m.Thread(subject="Plan", context_type=ThreadContext.CUSTOMER_COACH, customer_id=A, coach_id=coach1_id)
    t2 = m.Thread(subject="Hello", context_type=ThreadContext.CUSTOMER_COACH, customer_id=B, coach_id=coach2.id)
    s.add_all([t1, t2])
    s.flush()
    for thread, sender, recipient, day in ((t1, A, coach1_id, "2025-01-12"), (t1, coach1_id, A, "2025-01-13"),
                                           (t2, B, coach2.id, "2025-02-02")):  # fmt: skip
        s.add(m.Message(thread_id=thread.id, sender_id=sender, recipient_id=recipient, body="hi", sent_at=at(day)))
    post_a = m.CommunityPost(author_id=A, community_id=1, content="First!", created_at=at("2025-01-12"))
    post_c = m.CommunityPost(author_id=C, community_id=1, content="Hello", created_at=at("2025-02-07"))
    s.add_all([post_a, post_c])
    s.flush()
    s.add(m.CommunityReaction(post_id=post_a.id, user_id=B, type=ReactionType.LIKE, created_at=at("2025-01-13")))

    # Challenges and badges
    ch1 = m.Challenge(name="January Steps", start_date=d("2025-01-01"), end_date=d("2025-01-31"))
    ch2 = m.Challenge(name="Spring", start_date=d("2025-03-01"), end_date=d("2025-03-31"))
    s.add_all([ch1, ch2])
    s.flush()
    for chal, cust in ((ch1, A), (ch1, B), (ch2, C)):
        s.add(m.ChallengeResult(challenge_id=chal.id, customer_id=cust, score=decimal.Decimal("1")))
    badge = m.Badge(code="first", name="First workout")
    s.add(badge)
    s.flush()
    s.add(m.CustomerBadge(customer_id=A, badge_id=badge.id, awarded_at=at("2025-01-20")))
    s.add(m.CustomerBadge(customer_id=C, badge_id=badge.id, awarded_at=at("2025-03-05")))
    s.commit()
    return data


def coach_platform_id(username: str = "coach") -> uuid.UUID:
    account = db.session.execute(db.select(m.ConsoleUser).where(m.ConsoleUser.username == username)).scalar_one()
    return account.platform_user_id
