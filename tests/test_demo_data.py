"""The demo-data generator fills every seed table with coherent data, reproducibly, on both databases."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import appbuilder, db
from app.models import SEED_MODELS
from app.models.analytics import EngagementEvent, ProgressMetric
from app.models.automation import APIClient, WearableAuthorization
from app.models.base import validate_json_value
from app.models.commerce import DunningStep, Invoice, Payment, Product
from app.models.compliance import AuditLog, DataRetentionPolicy
from app.models.customers import CoachAssignment, CustomerProfile
from app.models.engagement import Announcement, CommunityPost, Message, SupportTicket, Thread
from app.models.events import DomainEvent
from app.models.identity import ConsoleUser, PlatformRole, PlatformUser, UserRole
from app.models.scheduling import ScheduledSession, SessionParticipant, WaitlistEntry
from app.models.training import CustomerPlan, PlanItem, Program, ProgramItem
from app.services.audit import verify
from app.services.demo_data import DemoDataError, seed_demo_data
from app.services.retention.policies import RETENTION_ENTITIES, validate_policy
from app.services.retention.runner import dry_run
from tests.support.apps import empty_all_tables
from tests.support.web import login

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
CUSTOMERS = 30


def _seed(app, seed: int = 7, progress: bool = False):
    with app.app_context():
        return seed_demo_data(appbuilder.sm, customers=CUSTOMERS, seed=seed, progress=progress, now=NOW)


def _counts(app) -> dict[str, int]:
    with app.app_context():
        return {m.__tablename__: db.session.scalar(select(func.count()).select_from(m)) for m in SEED_MODELS}


def _scalars(stmt):
    return list(db.session.scalars(stmt))


def test_fills_every_seed_table_with_coherent_data(app):
    result = _seed(app, progress=True)
    assert len(SEED_MODELS) == 45
    empty = [name for name, n in result.counts.items() if n == 0]
    assert not empty, f"tables left empty: {empty}"
    assert result.counts == _counts(app)

    with app.app_context():
        # Seed roles and role memberships are consistent.
        codes = {r.code.value for r in _scalars(select(PlatformRole))}
        assert codes == {"ADMIN", "COACH", "CUSTOMER", "SUPPORT"}
        customers = _scalars(
            select(PlatformUser.id).join(UserRole, UserRole.user_id == PlatformUser.id).join(PlatformRole)
            .where(PlatformRole.code == "CUSTOMER")
        )  # fmt: skip
        assert len(customers) == CUSTOMERS
        assert db.session.scalar(select(func.count()).select_from(CustomerProfile)) == CUSTOMERS
        for tz in _scalars(select(CustomerProfile.timezone)) + _scalars(select(ScheduledSession.timezone)):
            zoneinfo.ZoneInfo(tz)

        # The Coach login is a real coach with customers, plans, sessions and threads.
        coach_account = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == "coach"))
        coach_id = coach_account.platform_user_id
        assert coach_id == result.coach_user_id
        assert "COACH" in db.session.get(PlatformUser, coach_id).role_codes
        assigned = _scalars(select(CoachAssignment.customer_id).where(CoachAssignment.coach_id == coach_id))
        assert assigned
        planned = set(_scalars(select(CustomerPlan.customer_id).where(CustomerPlan.customer_id.in_(assigned))))
        assert planned == set(assigned)
        assert _scalars(select(ScheduledSession.id).where(ScheduledSession.coach_id == coach_id))
        assert _scalars(select(Thread.id).where(Thread.coach_id == coach_id))
        for role in ("admin", "manager", "support", "compliance"):
            account = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == role))
            assert account.platform_user_id is not None

        # Programs sit on the week/day grid; plan items have a believable mix of states.
        assert db.session.scalar(select(func.max(ProgramItem.week_index))) >= 3
        assert set(_scalars(select(ProgramItem.day_index).distinct())) >= {0, 2, 4}
        states = Counter(_scalars(select(PlanItem.completion_state)))
        assert {"COMPLETED", "PARTIAL", "SKIPPED", "MISSED", "PENDING"} <= {s.value for s in states}
        assert states["COMPLETED"] > states["MISSED"] > 0
        done = select(func.count()).where(PlanItem.completion_state.in_(["COMPLETED", "PARTIAL"]))
        assert db.session.scalar(done.where(PlanItem.completion_at.is_(None))) == 0
        plan_dates = _scalars(select(PlanItem.scheduled_date))
        assert (max(plan_dates) - min(plan_dates)).days > 180
        assert _scalars(select(PlanItem.id).where(PlanItem.substitution_item_id.is_not(None)))
        assert _scalars(select(PlanItem.id).where(PlanItem.feedback_text.is_not(None)))
        assert {s.value for s in _scalars(select(CustomerPlan.status).distinct())} >= {"ACTIVE", "COMPLETED"}

        # Billing includes failures (with a reason) and refunds.
        statuses = Counter(p.value for p in _scalars(select(Payment.status)))
        assert statuses["FAILED"] and statuses["REFUNDED"] and statuses["SUCCEEDED"] > statuses["FAILED"]
        failed = _scalars(select(Payment).where(Payment.status == "FAILED"))
        assert all(p.failure_reason for p in failed)
        assert _scalars(select(Invoice.id).where(Invoice.status == "REFUNDED"))
        paid = _scalars(select(Invoice).where(Invoice.status == "PAID"))
        assert paid and all(i.paid_at is not None for i in paid)

        # Scheduling: all four session types, rosters with waitlists and no-shows.
        assert {s.value for s in _scalars(select(ScheduledSession.session_type).distinct())} == {
            "CLASS", "ONE_ON_ONE", "VIRTUAL", "HYBRID"
        }  # fmt: skip
        assert db.session.scalar(select(func.count()).where(ScheduledSession.coach_id.is_(None))) == 0
        roles = {r.value for r in _scalars(select(SessionParticipant.role).distinct())}
        assert roles == {"PRIMARY", "WAITLIST"}
        attendance = {a.value for a in _scalars(select(SessionParticipant.attendance_status).distinct())}
        assert {"ATTENDED", "NO_SHOW", "REGISTERED"} <= attendance
        assert _scalars(select(SessionParticipant.feedback_score).where(SessionParticipant.feedback_score > 0))
        assert _scalars(select(WaitlistEntry.id).where(WaitlistEntry.promoted_at.is_not(None)))

        # Communication and community.
        assert {c.value for c in _scalars(select(Announcement.channel).distinct())} == {"EMAIL", "SMS", "PUSH", "INAPP"}
        for thread in _scalars(select(Thread)):
            assert thread.customer_id is not None and thread.context_id
            assert (thread.coach_id is not None) == (thread.context_type.value == "CUSTOMER_COACH")
        assert db.session.scalar(select(func.count()).select_from(Message)) > 0
        post_states = {s.value for s in _scalars(select(CommunityPost.status).distinct())}
        assert {"PUBLISHED", "FLAGGED", "HIDDEN"} <= post_states
        closed = _scalars(select(SupportTicket).where(SupportTicket.status.in_(["RESOLVED", "CLOSED"])))
        assert closed and all(t.resolution_notes and t.closed_at for t in closed)
        tickets = _scalars(select(SupportTicket))
        assert all(t.sla_due_at > t.created_at for t in tickets)
        assert any(t.assigned_to for t in tickets)

        # Telemetry: both metric sources; events spread over the year with several per active week.
        assert {s.value for s in _scalars(select(ProgressMetric.source).distinct())} == {"MANUAL", "WEARABLE"}
        first, last = db.session.execute(
            select(func.min(EngagementEvent.occurred_at), func.max(EngagementEvent.occurred_at))
        ).one()
        assert (last - first).days > 300 and last <= NOW
        by_month = Counter(e.strftime("%Y-%m") for e in _scalars(select(EngagementEvent.occurred_at)))
        assert len(by_month) >= 11

        # Secrets are hashes, never plaintext; retention is off until someone turns it on.
        for key_hash in _scalars(select(APIClient.api_key_hash)):
            assert re.fullmatch(r"[0-9a-f]{64}", key_hash)
        for auth in _scalars(select(WearableAuthorization)):
            for token in (auth.access_token_hash, auth.refresh_token_hash):
                assert token is None or re.fullmatch(r"[0-9a-f]{64}", token)
        assert (
            db.session.scalar(select(PlatformUser.password_hash).where(PlatformUser.password_hash.is_not(None))) is None
        )
        policies = _scalars(select(DataRetentionPolicy))
        assert not any(p.enabled for p in policies)
        # One valid policy per entity that may carry one, and dry runs that find rows to change.
        assert sorted(p.entity for p in policies) == sorted(RETENTION_ENTITIES)
        for p in policies:
            assert validate_policy(p.entity, p.deletion_strategy, p.retention_period_days) == [], p.entity
        touched = {p.entity: dry_run(p).count for p in policies}
        assert sum(1 for n in touched.values() if n > 0) >= 3, touched
        assert {p.deletion_strategy.value for p in policies if touched[p.entity]} == {
            "HARD_DELETE", "ANONYMIZE", "ARCHIVE"
        }  # fmt: skip
        audit = _scalars(select(AuditLog).order_by(AuditLog.id))
        # The bulk-seeded history is hash-chained with everything written after it.
        assert all(a.row_hash and a.actor_id for a in audit)
        assert verify.verify_chain().ok
        history = [a.created_at for a in audit if not a.resource_type.startswith("ab_")]  # not the role sync's
        assert history == sorted(history)

        # Every JSON value honours its column's schema (bulk inserts bypass the ORM validators).
        checked = 0
        for model in SEED_MODELS:
            for column in model.__table__.columns:
                schema = column.info.get("json_schema")
                if schema is None:
                    continue
                for value in db.session.scalars(select(column).where(column.is_not(None))):
                    validate_json_value(f"{model.__tablename__}.{column.name}", schema, value)
                    checked += 1
        assert checked > 1000

        # Every dashboard report has data out of the box: its default filters, as of the demo's "now".
        from app.services.analytics import reports as rp

        today = NOW.date()
        ctx = rp.ReportContext(db.session, rp.parse_filters({}, today=today), today=today)
        empty = [key for key, report in sorted(rp.all_reports().items()) if report.query(ctx).empty]
        assert not empty, f"reports without demo data: {empty}"


def test_same_seed_gives_the_same_data_and_another_seed_does_not(app):
    def snapshot() -> tuple:
        with app.app_context():
            names = _scalars(select(PlatformUser.full_name).order_by(PlatformUser.email))
            programs = _scalars(select(Program.title).order_by(Program.id))
            states = Counter(s.value for s in _scalars(select(PlanItem.completion_state)))
            # Billing's history and the outbox follow the demo's clock, never the wall's (the runs are seconds apart).
            invoices = list(
                db.session.execute(select(Invoice.status, Invoice.amount, Invoice.issued_at).order_by(Invoice.id))
            )
            dunning = _scalars(select(DunningStep.created_at).order_by(DunningStep.id))
            dispatched = _scalars(select(DomainEvent.dispatched_at).order_by(DomainEvent.id))
            assert all(at is None or at <= NOW for at in dunning + dispatched)
            return names, programs, states, invoices, dunning, dispatched

    empty_all_tables(app)  # whatever ran before (the role sync's audit rows included) is not counted
    first = _seed(app, seed=11)
    first_snapshot = snapshot()
    empty_all_tables(app)
    second = _seed(app, seed=11)
    assert second.counts == first.counts
    assert snapshot() == first_snapshot
    # The passwords are random, never derived from the (public) seed.
    assert [e["password"] for e in second.logins] != [e["password"] for e in first.logins]
    empty_all_tables(app)
    _seed(app, seed=12)
    assert snapshot()[0] != first_snapshot[0]


def test_a_branch_of_the_demo_generator_is_the_same_in_every_process():
    """Billing draws from a branch of the demo's generator; two processes must derive the same one
    (``hash()`` of the state did not: it holds ``None``, whose hash was its address before 3.12)."""
    import subprocess
    import sys

    from app.services.demo.base import Ctx

    code = (
        "import datetime as dt; from app.services.demo.base import Ctx; "
        "print(Ctx(11, 30, dt.datetime(2026, 11, 20, tzinfo=dt.UTC)).branch().getrandbits(64))"
    )
    here = Ctx(11, 30, dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
    state = here.rng.getstate()
    expected = here.branch().getrandbits(64)
    assert here.rng.getstate() == state  # the demo's own stream goes on untouched
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert int(out.stdout) == expected


def test_seeding_a_non_empty_database_is_refused_and_changes_nothing(app):
    _seed(app)
    before = _counts(app)
    with pytest.raises(DemoDataError, match="already holds .* console account"):
        _seed(app, seed=99)
    assert _counts(app) == before


def test_any_existing_data_or_missing_roles_are_refused(app):
    with app.app_context():
        db.session.add(Product(name="Real product", category="COACHING", price=Decimal("10.00"), currency="EUR"))
        db.session.commit()
    before = _counts(app)
    with pytest.raises(DemoDataError, match=r"products: 1\b"):
        _seed(app)
    assert _counts(app) == before
    empty_all_tables(app)

    with app.app_context():
        db.session.delete(appbuilder.sm.find_role("Compliance"))
        db.session.flush()
        try:
            with pytest.raises(DemoDataError, match="flask roles sync"):
                seed_demo_data(appbuilder.sm, customers=5, seed=1, progress=False)
        finally:
            db.session.rollback()
        assert appbuilder.sm.find_role("Compliance") is not None


def test_bad_arguments_are_refused_before_writing(app):
    with app.app_context():
        with pytest.raises(DemoDataError, match="at least 1"):
            seed_demo_data(appbuilder.sm, customers=0, seed=1, progress=False)
        with pytest.raises(DemoDataError, match="timezone-aware"):
            seed_demo_data(appbuilder.sm, customers=5, seed=1, progress=False, now=dt.datetime(2026, 1, 1))
    assert not any(_counts(app).values())


def test_cli_prints_one_working_login_per_role(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed", "--customers", "12", "--seed", "3", "--quiet"])
    assert result.exit_code == 0, result.output
    logins = re.findall(r"^\s+(\w+)\s+username: (\S+)\s+password: (\S+)$", result.output, re.M)
    assert sorted(role for role, _, _ in logins) == ["Admin", "Coach", "Compliance", "Manager", "Support"]
    assert "users" in result.output and "engagement_events" in result.output
    for role, username, password in logins:
        client = app.test_client()
        login(client, username, password)
        assert f'data-role="{role}"' in client.get("/").get_data(as_text=True)

    again = app.test_cli_runner().invoke(args=["demo", "seed", "--customers", "12", "--quiet"])
    assert again.exit_code != 0
    assert "already holds" in again.output


def test_the_demo_rules_executions_come_from_the_engine_over_the_history(sqlite_app):
    from app.models.automation import AutomationExecution, AutomationRule, AutomationRuleVersion, ExecutionStatus
    from app.models.events import DomainEvent
    from app.services.demo.automation import RULES

    _seed(sqlite_app)
    with sqlite_app.app_context():
        rules = _scalars(select(AutomationRule))
        assert sorted(r.name for r in rules) == sorted(spec["name"] for spec in RULES)
        assert {r.status.value for r in rules} == {"ACTIVE"} and {r.version for r in rules} == {1}
        assert len(_scalars(select(AutomationRuleVersion))) == len(rules)
        runs = _scalars(select(AutomationExecution))
        assert len(runs) >= 20
        assert {r.status for r in runs} <= {ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.PENDING}
        for waiting in (r for r in runs if r.status == ExecutionStatus.PENDING):  # a message in quiet hours
            assert "quiet hours" in waiting.result_details and waiting.next_attempt_at > waiting.triggered_at
        runs = [r for r in runs if r.status != ExecutionStatus.PENDING]
        inactivity = next(r.id for r in rules if r.name == "Inactivity check-in")
        idle = [r for r in runs if r.rule_id == inactivity]
        assert idle and all(r.event_id is None and r.idempotency_key.startswith(f"r{inactivity}:idle:") for r in idle)
        runs = [r for r in runs if r.rule_id != inactivity]
        # Each one answers a real occurrence: its dispatched event, about its customer, before it ran.
        for run in runs:
            event = db.session.get(DomainEvent, run.event_id)
            assert event is not None and event.dispatched_at is not None
            assert event.customer_id == run.customer_id and run.idempotency_key == f"r{run.rule_id}:e{event.id}"
            assert run.triggered_at == event.occurred_at <= run.finished_at <= NOW + dt.timedelta(days=1), (
                run.status,
                run.result_details,
            )
        by_rule = {r.name: [x for x in runs if x.rule_id == r.id] for r in rules}
        # Failed payments in the replayed weeks depend on the billing history's outcomes, so a small demo
        # may have none; every execution it does have was checked against its event above.
        assert by_rule["Streak badge"] and by_rule["Missed-workout nudge"]
        # "Once per customer": never two executions of the badge rule for one customer.
        badge_customers = [x.customer_id for x in by_rule["Streak badge"]]
        assert len(badge_customers) == len(set(badge_customers))
        automation_messages = [m for m in _scalars(select(Message)) if m.sent_at > NOW - dt.timedelta(days=22)]
        assert automation_messages
