"""A small world of related rows for each coach, for data-path tests."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models.analytics import CohortSnapshot, EngagementEvent, MetricSource, ProgressMetric, RecommendationLog
from app.models.automation import (
    APIAccessLog,
    APIClient,
    AutomationExecution,
    AutomationRule,
    ExecutionStatus,
    TriggerType,
    WearableAuthorization,
)
from app.models.commerce import (
    DiscountType,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Product,
    ProductCategory,
    Promotion,
    Subscription,
    SubscriptionStatus,
)
from app.models.compliance import AuditLog, DataRetentionPolicy, DeletionStrategy
from app.models.customers import Assessment, CoachAssignment, CustomerProfile
from app.models.engagement import (
    Announcement,
    Challenge,
    ChallengeResult,
    Channel,
    CommunityPost,
    CommunityReaction,
    Message,
    ReactionType,
    SupportTicket,
    Thread,
    ThreadContext,
)
from app.models.events import DomainEvent
from app.models.identity import AuthSession, Consent, PlatformRole, PlatformUser, RoleCode, UserRole
from app.models.scheduling import CoachAvailability, ScheduledSession, SessionParticipant, SessionType, WaitlistEntry
from app.models.training import (
    Badge,
    CustomerBadge,
    CustomerPlan,
    Difficulty,
    Exercise,
    Habit,
    HabitFrequency,
    ItemType,
    Meal,
    PlanItem,
    PlanStatus,
    Program,
    ProgramItem,
    ProgramLevel,
    Visibility,
)
from app.services.accounts import create_console_account
from tests.support.web import login, session_csrf


def make_world(coach_email: str | None, tag: str = "a", text: str | None = None) -> dict[type, Any]:
    """Every entity once, around a customer assigned to the coach with ``coach_email`` (if any)."""
    text = text or f"note {tag}"
    coach = platform_user(coach_email) if coach_email else None
    customer = PlatformUser(email=f"customer-{tag}@example.test", full_name=f"Customer {tag.upper()}", locale="en")
    db.session.add(customer)
    db.session.flush()
    role = db.session.scalar(select(PlatformRole).where(PlatformRole.code == RoleCode.CUSTOMER))
    if role is None:
        role = PlatformRole(code=RoleCode.CUSTOMER, description="Customer")
        db.session.add(role)
        db.session.flush()
    rows: dict[type, Any] = {PlatformUser: customer, PlatformRole: role}
    add = rows.__setitem__
    add(UserRole, UserRole(user_id=customer.id, role_id=role.id))
    add(AuthSession, AuthSession(user_id=customer.id, issued_at=NOW, expires_at=NOW + dt.timedelta(hours=1)))
    add(Consent, Consent(user_id=customer.id, consent_type="marketing", granted_at=NOW, metadata_json={"source": tag}))
    add(CustomerProfile, CustomerProfile(user_id=customer.id, timezone="Europe/Madrid", risk_flags=text))
    add(Assessment, Assessment(user_id=customer.id, questionnaire_version="v1", responses_json={"q1": 3}))
    add(DomainEvent, DomainEvent(event_type="plan.assigned", customer_id=customer.id, payload={"plan_id": 1}))
    if coach is not None:
        add(CoachAssignment, CoachAssignment(customer_id=customer.id, coach_id=coach.id))
    product = Product(name=f"Coaching {tag}", category=ProductCategory.COACHING, price=decimal.Decimal("49.90"))
    add(Product, product)
    db.session.add_all(list(rows.values())[2:])
    db.session.flush()
    sub = Subscription(
        customer_id=customer.id, product_id=product.id, status=SubscriptionStatus.ACTIVE, start_date=TODAY
    )
    db.session.add(sub)
    db.session.flush()
    invoice = Invoice(
        subscription_id=sub.id,
        amount=decimal.Decimal("49.90"),
        currency="EUR",
        due_date=TODAY,
        status=InvoiceStatus.OPEN,
        external_reference=f"INV-{tag}-{uuid.uuid4().hex[:6]}",
    )
    db.session.add(invoice)
    db.session.flush()
    program = Program(
        title=f"Strength {tag}",
        level=ProgramLevel.BEGINNER,
        created_by=coach.id if coach else None,
        visibility=Visibility.PRIVATE,
    )
    exercise = Exercise(name=f"Squat {tag}", category="legs", difficulty=Difficulty.BEGINNER)
    badge = Badge(
        code=f"B-{tag}-{uuid.uuid4().hex[:6]}", name=f"Badge {tag}", criteria_json={"kind": "STREAK", "threshold": 3}
    )
    challenge = Challenge(
        name=f"Challenge {tag}",
        start_date=TODAY,
        end_date=TODAY + dt.timedelta(days=30),
        rules_json={"metric": "STEPS", "aggregation": "SUM"},
    )
    session_ = ScheduledSession(
        session_type=SessionType.CLASS,
        start_time=NOW,
        end_time=NOW + dt.timedelta(hours=1),
        capacity=10,
        coach_id=coach.id if coach else None,
        title=f"Class {tag}",
    )
    thread = Thread(
        subject=f"Thread {tag}",
        context_type=ThreadContext.CUSTOMER_COACH,
        customer_id=customer.id,
        coach_id=coach.id if coach else None,
    )
    rule = AutomationRule(name=f"Rule {tag}", trigger_type=TriggerType.EVENT, action_json=[{"type": "NOTIFY_COACH"}])
    client = APIClient(name=f"client-{tag}-{uuid.uuid4().hex[:6]}", api_key_hash="secret-key-hash-" + tag)
    post = CommunityPost(author_id=customer.id, community_id=1, content=text)
    for obj in (program, exercise, badge, challenge, session_, thread, rule, client, post):
        db.session.add(obj)
    db.session.flush()
    plan = CustomerPlan(customer_id=customer.id, program_id=program.id, start_date=TODAY, status=PlanStatus.ACTIVE)
    db.session.add(plan)
    db.session.flush()
    more = {
        Subscription: sub,
        Invoice: invoice,
        Program: program,
        Exercise: exercise,
        Badge: badge,
        Challenge: challenge,
        ScheduledSession: session_,
        Thread: thread,
        AutomationRule: rule,
        APIClient: client,
        CommunityPost: post,
        CustomerPlan: plan,
        Payment: Payment(
            invoice_id=invoice.id,
            provider="stripe",
            method=PaymentMethod.CARD,
            amount=decimal.Decimal("49.90"),
            status=PaymentStatus.SUCCEEDED,
        ),
        Promotion: Promotion(
            code=f"P-{tag}-{uuid.uuid4().hex[:6]}",
            discount_type=DiscountType.PERCENT,
            value=decimal.Decimal("10"),
            start_date=TODAY,
        ),
        Meal: Meal(name=f"Oats {tag}", macros_json={"kcal": 300}),
        Habit: Habit(name=f"Water {tag}", frequency=HabitFrequency.DAILY),
        ProgramItem: ProgramItem(program_id=program.id, item_type=ItemType.EXERCISE, item_id=exercise.id),
        PlanItem: PlanItem(
            plan_id=plan.id, scheduled_date=TODAY, item_type=ItemType.EXERCISE, item_id=exercise.id, feedback_text=text
        ),
        CustomerBadge: CustomerBadge(customer_id=customer.id, badge_id=badge.id),
        SessionParticipant: SessionParticipant(session_id=session_.id, customer_id=customer.id),
        CoachAvailability: CoachAvailability(
            coach_id=coach.id if coach else customer.id, day_of_week=1, start_time=dt.time(9), end_time=dt.time(12)
        ),
        WaitlistEntry: WaitlistEntry(session_id=session_.id, customer_id=customer.id),
        Message: Message(thread_id=thread.id, sender_id=customer.id, body=text),
        Announcement: Announcement(title=f"News {tag}", body=text, channel=Channel.EMAIL),
        CommunityReaction: CommunityReaction(post_id=post.id, user_id=customer.id, type=ReactionType.LIKE),
        ChallengeResult: ChallengeResult(challenge_id=challenge.id, customer_id=customer.id, score=5),
        SupportTicket: SupportTicket(requester_id=customer.id, subject=f"Help {tag}", resolution_notes=text),
        ProgressMetric: ProgressMetric(
            customer_id=customer.id, metric_type="weight", value=80, unit="kg", source=MetricSource.MANUAL
        ),
        EngagementEvent: EngagementEvent(customer_id=customer.id, event_type="login", payload_json={"tag": tag}),
        CohortSnapshot: CohortSnapshot(cohort_key=f"2025-W{tag}", metric_name="retention", value=1),
        RecommendationLog: RecommendationLog(customer_id=customer.id, recommendation_type="program"),
        AutomationExecution: AutomationExecution(
            rule_id=rule.id, status=ExecutionStatus.SUCCEEDED, idempotency_key=f"world:{tag}"
        ),
        APIAccessLog: APIAccessLog(client_id=client.id, endpoint="/api/v1/x", status_code=200, latency_ms=5),
        WearableAuthorization: WearableAuthorization(
            customer_id=customer.id, provider=f"garmin-{tag}", access_token_hash="secret-token-hash-" + tag
        ),
        DataRetentionPolicy: DataRetentionPolicy(
            entity=RETENTION_ENTITIES[sum(map(ord, tag)) % len(RETENTION_ENTITIES)],
            retention_period_days=30,
            deletion_strategy=DeletionStrategy.HARD_DELETE,
        ),
    }
    audit_row = AuditLog(actor_id=customer.id, action="update", resource_type="users", resource_id=str(customer.id))
    more[AuditLog] = audit_row
    for model, obj in more.items():
        if model not in (
            AuditLog,
            Subscription,
            Invoice,
            Program,
            Exercise,
            Badge,
            Challenge,
            ScheduledSession,
            Thread,
            AutomationRule,
            APIClient,
            CommunityPost,
            CustomerPlan,
        ):
            db.session.add(obj)
    rows.update(more)
    db.session.commit()
    # The hand-made audit row last: the world's own audit rows are chained at commit, and would
    # otherwise push it off the first page of the audit list.
    db.session.add(audit_row)
    db.session.commit()
    return rows


def pk_of(obj: Any) -> str:
    from app.services.data_access import pk_column

    return str(getattr(obj, pk_column(type(obj)).key))


def db_dialect(app: Flask) -> str:
    with app.app_context():
        return db.engine.dialect.name


@pytest.fixture
def two_coaches(app: Flask, accounts: dict) -> dict:
    with app.app_context():
        create_console_account(
            app.appbuilder.sm,
            username="coachb",
            email="coachb@coachdesk.test",
            full_name="Coach Bee",
            role="Coach",
            password="coachb-Passw0rd!",
        )
        world_a = make_world("coach@coachdesk.test", tag="a", text="coach-a-note")
        world_b = make_world("coachb@coachdesk.test", tag="b", text=SECRET_B)
        ids_a = {m: pk_of(o) for m, o in world_a.items()}
        ids_b = {m: pk_of(o) for m, o in world_b.items()}
    client = app.test_client()
    login(client, "coach", "coach-Passw0rd!")
    return {"a": ids_a, "b": ids_b, "client": client, "token": session_csrf(app, client)}


NOW = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)


RETENTION_ENTITIES = ("auth_sessions", "engagement_events", "recommendation_logs", "progress_metrics", "messages")


TODAY = dt.date(2025, 3, 1)


def platform_user(email: str) -> PlatformUser:
    return db.session.scalar(select(PlatformUser).where(PlatformUser.email == email))


SECRET_B = "coach-b-customer-private-note"
