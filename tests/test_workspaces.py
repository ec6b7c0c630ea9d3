"""Role workspaces on the home page: each role's panels, their row scope, figures checked against the
rows behind them, every panel's link followed, and the admin's health probes with Redis down."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import zoneinfo
from typing import Any

import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.analytics import EngagementEvent
from app.models.base import utcnow
from app.models.commerce import (
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Product,
    ProductCategory,
    Subscription,
    SubscriptionStatus,
)
from app.models.compliance import DataRetentionPolicy, DeletionStrategy
from app.models.customers import CoachAssignment
from app.models.engagement import Message, SupportTicket, Thread, ThreadContext, TicketPriority, TicketStatus
from app.models.identity import ConsoleUser, PlatformRole, PlatformUser, RoleCode, UserRole
from app.models.jobs import JobRun
from app.models.scheduling import ParticipantRole, ScheduledSession, SessionParticipant, SessionType, WaitlistEntry
from app.models.training import CompletionState, CustomerPlan, ItemType, PlanItem, PlanStatus, Program, ProgramLevel
from app.services.accounts import create_console_account
from app.services.analytics.rollups import refresh_rollups
from app.services.compliance.data_subject import EXPORT_KIND
from app.services.compliance.jobs import VERIFY_KIND
from tests.support.apps import make_accounts
from tests.support.web import login

ZONE = "Pacific/Kiritimati"  # UTC+14: "today" there is often another day in UTC


def _customer(name: str, coach_id: Any = None) -> PlatformUser:
    user = PlatformUser(email=f"{name.lower().replace(' ', '-')}@example.test", full_name=name, locale="en")
    db.session.add(user)
    db.session.flush()
    role = db.session.scalar(sa.select(PlatformRole).where(PlatformRole.code == RoleCode.CUSTOMER))
    if role is None:
        role = PlatformRole(code=RoleCode.CUSTOMER, description="Customer")
        db.session.add(role)
        db.session.flush()
    db.session.add(UserRole(user_id=user.id, role_id=role.id))
    if coach_id is not None:
        db.session.add(CoachAssignment(customer_id=user.id, coach_id=coach_id))
    db.session.flush()
    return user


def _platform_id(username: str) -> Any:
    return db.session.scalar(sa.select(ConsoleUser.platform_user_id).where(ConsoleUser.username == username))


def _client(app: Flask, username: str) -> Any:
    client = app.test_client()
    login(client, username, f"{username}-Passw0rd!")
    return client


def _section(page: str, role: str) -> str:
    match = re.search(rf'<div class="cd-ws-section" data-role="{role}">(.*?)\n</div>\n', page, re.S)
    assert match, f"no {role} section"
    return match.group(1)


def _panel(section: str, key: str) -> str:
    match = re.search(rf'data-panel="{key}">(.*?)</section>', section, re.S)
    assert match, f"no panel {key}"
    return match.group(1)


def _follow(client: Any, html: str, marker: str, expect: str) -> None:
    """Follow the first link after ``marker`` and check the page it opens shows ``expect``."""
    start = html.index(marker)
    href = re.search(r'href="([^"]+)"', html[start:]).group(1).replace("&amp;", "&")
    page = client.get(href)
    assert page.status_code == 200, (href, page.status_code)
    assert expect in page.get_data(as_text=True), (href, expect)


def _session(coach_id: Any, start: dt.datetime, title: str, capacity: int = 10) -> ScheduledSession:
    row = ScheduledSession(
        session_type=SessionType.CLASS,
        start_time=start,
        end_time=start + dt.timedelta(hours=1),
        capacity=capacity,
        coach_id=coach_id,
        title=title,
    )
    db.session.add(row)
    db.session.flush()
    return row


def _plan(customer: PlatformUser, coach_id: Any, title: str, end: dt.date) -> CustomerPlan:
    program = Program(title=title, level=ProgramLevel.BEGINNER, created_by=coach_id)
    db.session.add(program)
    db.session.flush()
    plan = CustomerPlan(
        customer_id=customer.id,
        program_id=program.id,
        start_date=end - dt.timedelta(days=20),
        end_date=end,
        status=PlanStatus.ACTIVE,
    )
    db.session.add(plan)
    db.session.flush()
    return plan


def _unread(customer: PlatformUser, coach_id: Any, body: str) -> Thread:
    thread = Thread(
        subject=f"About {customer.full_name}",
        context_type=ThreadContext.CUSTOMER_COACH,
        customer_id=customer.id,
        coach_id=coach_id,
    )
    db.session.add(thread)
    db.session.flush()
    db.session.add(Message(thread_id=thread.id, sender_id=customer.id, recipient_id=coach_id, body=body))
    return thread


def test_coach_workspace_is_their_own_in_their_zone(sqlite_app: Flask) -> None:
    app = sqlite_app
    make_accounts(app)
    with app.app_context():
        create_console_account(
            app.appbuilder.sm,
            username="coachb",
            email="coachb@coachdesk.test",
            full_name="Coach Bee",
            role="Coach",
            password="coachb-Passw0rd!",
        )
        db.session.execute(sa.update(ConsoleUser).where(ConsoleUser.username == "coach").values(timezone=ZONE))
        mine, other = _platform_id("coach"), _platform_id("coachb")
        zone = zoneinfo.ZoneInfo(ZONE)
        today = utcnow().astimezone(zone).date()

        def local(day: dt.date, hour: int) -> dt.datetime:
            return dt.datetime.combine(day, dt.time(hour), tzinfo=zone).astimezone(dt.UTC)

        ada = _customer("Ada Mine", mine)
        bob = _customer("Bob Theirs", other)
        _session(mine, local(today, 7), "Sunrise Circuit")
        _session(mine, local(today + dt.timedelta(days=1), 18), "Evening Mobility")
        _session(mine, local(today + dt.timedelta(days=2), 1), "Later Session")
        _session(other, local(today, 9), "Other Coach Class")
        sunday = today + dt.timedelta(days=6 - today.weekday())
        plan = _plan(ada, mine, "Ada Strength", sunday)
        _plan(bob, other, "Bob Secret Program", sunday)
        db.session.add(
            PlanItem(
                plan_id=plan.id,
                scheduled_date=today - dt.timedelta(days=1),
                item_type=ItemType.EXERCISE,
                item_id=1,
                completion_state=CompletionState.PENDING,
            )
        )
        thread = _unread(ada, mine, "Can we talk?")
        _unread(bob, other, "Private to coach B")
        db.session.commit()
        ada_id, plan_id, thread_id = ada.id, plan.id, thread.id

    client = _client(app, "coach")
    page = client.get("/").get_data(as_text=True)
    assert 'data-role="Support"' not in page and 'data-role="Manager"' not in page
    section = _section(page, "Coach")
    today_panel, tomorrow_panel = _panel(section, "sessions-today"), _panel(section, "sessions-tomorrow")
    assert "Sunrise Circuit" in today_panel and "Evening Mobility" not in today_panel
    assert "Evening Mobility" in tomorrow_panel
    for hidden in ("Later Session", "Other Coach Class", "Bob Theirs", "Bob Secret Program"):
        assert hidden not in page, hidden
    attention = _panel(section, "attention")
    assert f'data-customer="{ada_id}"' in attention
    assert "1 missed item" in attention and "1 unread message" in attention and "No activity for 7 days" in attention
    ending = _panel(section, "plans-ending")
    assert f'data-plan="{plan_id}"' in ending and "Ada Strength" in ending
    # Times read in the coach's zone, without seconds.
    assert re.search(r'cd-ws-time">7:00\sAM–8:00\sAM<', today_panel), today_panel  # 07:00 in the coach's zone
    assert not re.search(r"\d{1,2}:\d{2}:\d{2}", section)

    _follow(client, today_panel, "data-session=", "Sunrise Circuit")
    _follow(client, attention, f'data-customer="{ada_id}"', "Ada Mine")
    _follow(client, attention, "label label-info", "Can we talk?")
    assert f"/inbox/{thread_id}" in attention
    _follow(client, ending, f'data-plan="{plan_id}"', "Ada Strength")


def test_support_workspace_orders_tickets_by_sla_and_flags_the_overdue_one(sqlite_app: Flask) -> None:
    app = sqlite_app
    make_accounts(app)
    now = utcnow()
    with app.app_context():
        cust = _customer("Cara Client")
        late = SupportTicket(
            requester_id=cust.id,
            subject="Late ticket",
            sla_due_at=now - dt.timedelta(hours=2),
            priority=TicketPriority.HIGH,
        )
        soon = SupportTicket(requester_id=cust.id, subject="Soon ticket", sla_due_at=now + dt.timedelta(hours=3))
        done = SupportTicket(
            requester_id=cust.id,
            subject="Solved ticket",
            status=TicketStatus.RESOLVED,
            sla_due_at=now - dt.timedelta(days=1),
        )
        db.session.add_all([soon, late, done])
        product = Product(name="Coaching", category=ProductCategory.COACHING, price=decimal.Decimal("49.90"))
        db.session.add(product)
        db.session.flush()
        sub = Subscription(
            customer_id=cust.id, product_id=product.id, status=SubscriptionStatus.ACTIVE, start_date=now.date()
        )
        db.session.add(sub)
        db.session.flush()
        invoice = Invoice(
            subscription_id=sub.id,
            amount=decimal.Decimal("49.90"),
            currency="EUR",
            due_date=now.date(),
            status=InvoiceStatus.OPEN,
            external_reference="INV-WS-1",
        )
        db.session.add(invoice)
        db.session.flush()
        failed = Payment(
            invoice_id=invoice.id,
            provider="sandbox",
            method=PaymentMethod.CARD,
            currency="EUR",
            amount=decimal.Decimal("49.90"),
            status=PaymentStatus.FAILED,
            failure_reason="card_declined",
        )
        ok = Payment(
            invoice_id=invoice.id,
            provider="sandbox",
            method=PaymentMethod.CARD,
            currency="EUR",
            amount=decimal.Decimal("12.00"),
            status=PaymentStatus.SUCCEEDED,
        )
        db.session.add_all([failed, ok])
        near = _session(None, now + dt.timedelta(hours=5), "Packed Spin", capacity=1)
        far = _session(None, now + dt.timedelta(days=5), "Far Away Yoga", capacity=1)
        for n in range(2):
            waiter = _customer(f"Waiter {n}")
            for queued in (near, far):
                db.session.add(
                    SessionParticipant(session_id=queued.id, customer_id=waiter.id, role=ParticipantRole.WAITLIST)
                )
                db.session.flush()
                db.session.add(WaitlistEntry(session_id=queued.id, customer_id=waiter.id))
        db.session.commit()
        late_id, soon_id, done_id, failed_id, ok_id, near_id = late.id, soon.id, done.id, failed.id, ok.id, near.id

    client = _client(app, "support")
    page = client.get("/").get_data(as_text=True)
    assert 'data-role="Coach"' not in page and 'data-role="Admin"' not in page
    tickets = _panel(_section(page, "Support"), "tickets")
    assert tickets.index(f'data-ticket="{late_id}"') < tickets.index(f'data-ticket="{soon_id}"')
    assert f'data-ticket="{done_id}"' not in tickets
    assert re.findall(r'data-ticket="(\d+)" class="cd-ws-overdue" data-overdue="1"', tickets) == [str(late_id)]
    assert "1 ticket is past its SLA." in tickets
    payments = _panel(_section(page, "Support"), "failed-payments")
    assert f'data-payment="{failed_id}"' in payments and f'data-payment="{ok_id}"' not in payments
    waitlists = _panel(_section(page, "Support"), "waitlists")
    assert f'data-session="{near_id}"' in waitlists and "2 waiting" in waitlists and "Far Away Yoga" not in waitlists

    _follow(client, tickets, f'data-ticket="{late_id}"', "Late ticket")
    _follow(client, payments, f'data-payment="{failed_id}"', "card_declined")
    _follow(client, waitlists, f'data-session="{near_id}"', "Packed Spin")


def test_manager_tiles_match_the_rows_and_open_their_dashboards(sqlite_app: Flask) -> None:
    app = sqlite_app
    make_accounts(app)
    now = utcnow()
    with app.app_context():
        customers = [_customer(f"Active {n}") for n in range(4)]
        for c in customers[:3]:  # three active this month, one of them twice
            db.session.add(EngagementEvent(customer_id=c.id, event_type="login", occurred_at=now))
        db.session.add(EngagementEvent(customer_id=customers[0].id, event_type="login", occurred_at=now))
        product = Product(name="Coaching", category=ProductCategory.COACHING, price=decimal.Decimal("49.90"))
        db.session.add(product)
        db.session.flush()
        db.session.add(
            Subscription(
                customer_id=customers[0].id,
                product_id=product.id,
                status=SubscriptionStatus.ACTIVE,
                start_date=now.date().replace(day=1),
            )
        )
        session_ = _session(None, now.replace(day=1, hour=12, minute=0), "Fill Class", capacity=4)
        db.session.add(SessionParticipant(session_id=session_.id, customer_id=customers[1].id))
        db.session.commit()
        month_start = dt.datetime.combine(now.date().replace(day=1), dt.time(), tzinfo=dt.UTC)
        active = db.session.scalar(
            sa.select(sa.func.count(sa.distinct(EngagementEvent.customer_id))).where(
                EngagementEvent.occurred_at >= month_start
            )
        )
        booked = db.session.scalar(sa.select(sa.func.count()).select_from(SessionParticipant))
        refresh_rollups(db.session, today=now.date())

    client = _client(app, "manager")
    page = client.get("/").get_data(as_text=True)
    section = _section(page, "Manager")
    assert 'data-role="Compliance"' not in page

    def tile(key: str) -> str:
        return re.search(rf'data-tile="{key}" data-value="([^"]*)"', section).group(1)

    assert active == 3 and tile("active") == "3"
    assert decimal.Decimal(tile("mrr")) == decimal.Decimal("49.9")
    assert float(tile("fill")) == booked / 4
    assert section.count("<polyline") == 5
    for key, expect in (("active", "Engagement"), ("mrr", "Revenue"), ("fill", "Attendance")):
        _follow(client, section, f'data-tile="{key}"', expect)


def test_compliance_workspace_shows_requests_verification_jobs_and_retention(sqlite_app: Flask) -> None:
    app = sqlite_app
    make_accounts(app)
    now = utcnow()
    with app.app_context():
        subject = _customer("Dana Subject")
        request = JobRun(kind=EXPORT_KIND, queue="exports", params={"user_id": str(subject.id)}, status="queued")
        verify = JobRun(
            kind=VERIFY_KIND,
            queue="default",
            params={},
            status="failed",
            finished_at=now,
            result={"ok": False, "rows": 12},
            error="audit chain broken at 7: hash mismatch",
        )
        old_ok = JobRun(
            kind=VERIFY_KIND,
            queue="default",
            params={},
            status="succeeded",
            created_at=now - dt.timedelta(days=1),
            result={"ok": True, "rows": 10},
        )
        running = JobRun(kind="billing.daily", queue="default", params={}, status="running", started_at=now)
        done = JobRun(kind="billing.dunning", queue="default", params={}, status="succeeded")
        db.session.add_all([old_ok, request, verify, running, done])
        db.session.add(
            DataRetentionPolicy(
                entity="auth_sessions",
                retention_period_days=30,
                deletion_strategy=DeletionStrategy.HARD_DELETE,
                enabled=True,
            )
        )
        db.session.add(
            DataRetentionPolicy(
                entity="messages", retention_period_days=90, deletion_strategy=DeletionStrategy.ANONYMIZE, enabled=False
            )
        )
        db.session.commit()
        request_id, verify_id, running_id, done_id = request.id, verify.id, running.id, done.id

    client = _client(app, "compliance")
    page = client.get("/").get_data(as_text=True)
    section = _section(page, "Compliance")
    requests = _panel(section, "subject-requests")
    assert f'data-run="{request_id}"' in requests and "Dana Subject" in requests
    verification = _panel(section, "verification")
    assert f'data-run="{verify_id}" data-ok="no"' in verification and "Verification failed" in verification
    jobs = _panel(section, "jobs")
    assert jobs.index(f'data-run="{running_id}"') < jobs.index(f'data-run="{verify_id}"')
    assert f'data-run="{done_id}"' not in jobs
    retention = _panel(section, "retention")
    assert "auth_sessions" in retention and "messages" not in retention
    next_run = dt.datetime.fromisoformat(re.search(r'data-next="([^"]+)"', retention).group(1))
    assert (next_run.hour, next_run.minute) == (2, 30) and now < next_run <= now + dt.timedelta(days=1)

    _follow(client, requests, f'data-run="{request_id}"', f"<td>{request_id}</td>")
    _follow(client, jobs, f'data-run="{verify_id}"', f">{verify_id}<")
    _follow(client, retention, "data-policy=", "auth_sessions")


def test_admin_health_with_redis_up_then_down(sqlite_app: Flask, redis_url: str, monkeypatch: Any) -> None:
    app = sqlite_app
    make_accounts(app)
    with app.app_context():
        run = JobRun(kind="deliveries.run", queue="default", params={}, status="succeeded", finished_at=utcnow())
        db.session.add(run)
        db.session.commit()
        run_id = run.id
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    client = _client(app, "admin")
    section = _section(client.get("/").get_data(as_text=True), "Admin")
    assert 'data-probe="database" data-ok="yes"' in section and 'data-probe="redis" data-ok="yes"' in section
    assert 'data-queue="default"' in _panel(section, "queues")
    runs = _panel(section, "last-runs")
    assert f'data-run="{run_id}"' in runs
    _follow(client, runs, f'data-run="{run_id}"', "deliveries.run")

    monkeypatch.setitem(app.config, "REDIS_URL", "unix:///nonexistent/coachdesk-redis.sock")
    resp = client.get("/")
    assert resp.status_code == 200
    section = _section(resp.get_data(as_text=True), "Admin")
    assert 'data-probe="redis" data-ok="no"' in section and "ConnectionError" in section
    assert 'data-probe="database" data-ok="yes"' in section
    assert "Queue counts are unavailable" in _panel(section, "queues")


def test_every_section_for_a_person_with_every_role_on_postgresql(pg_app: Flask) -> None:
    """All queries run on PostgreSQL, and a person with several roles sees each role's section."""
    app = pg_app
    make_accounts(app)
    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.find_user(username="coach")
        for role in ("Support", "Manager", "Compliance", "Admin"):
            user.roles.append(sm.find_role(role))
        db.session.commit()
        mine = _platform_id("coach")
        ada = _customer("Ada Mine", mine)
        _unread(ada, mine, "Hello")
        db.session.add(SupportTicket(requester_id=ada.id, subject="PG ticket", sla_due_at=utcnow()))
        db.session.commit()
    client = _client(app, "coach")
    resp = client.get("/")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    for role in ("Coach", "Support", "Manager", "Compliance", "Admin"):
        assert f'data-role="{role}"' in page, role
    assert "1 unread message" in _panel(_section(page, "Coach"), "attention")
    assert "PG ticket" in _panel(_section(page, "Support"), "tickets")
