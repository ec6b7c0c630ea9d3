"""The customer 360 page: figures against the rows behind them, row scope, per-role panels, links that open records."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any
from urllib.parse import urlparse

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models.compliance import AuditLog
from app.models.customers import CustomerProfile
from app.models.engagement import SupportTicket, TicketPriority
from app.models.identity import PlatformUser
from app.models.training import CompletionState, CustomerPlan, ItemType, PlanItem
from app.policy.roles import ADMIN
from app.policy.scope import Actor
from app.services import customer360
from app.services.customer360 import history
from app.services.training.schedule import local_today, zone
from app.web.views.customer360 import TAB_TITLES
from tests.support.web import login
from tests.support.world import make_world, two_coaches  # noqa: F401

LINK_RE = re.compile(r'<a href="([^"]+)" class="cd-c360-link" data-entity="(\w+)">([^<]*)</a>')
ADMIN_ACTOR = Actor(None, frozenset({ADMIN}))
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def app(sqlite_app: Flask) -> Flask:
    """Page tests run on SQLite (the one PostgreSQL test asks for ``pg_app`` itself)."""
    return sqlite_app


def signed_in(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    login(client, role.lower(), f"{role.lower()}-Passw0rd!")
    return client


def page_url(customer_id: Any, tab: str | None = None) -> str:
    return f"/customers/{customer_id}/360" + (f"/{tab}" if tab else "")


def tabs_shown(html: str) -> list[str]:
    return re.findall(r'role="tab" id="cd-c360-tab-(\w+)"', html)


def add_plan_items(plan_id: int, today: dt.date, states: dict[int, list[CompletionState]], item_id: int) -> None:
    """Plan items ``days`` days before ``today`` in the given states."""
    for days, day_states in states.items():
        for n, state in enumerate(day_states):
            db.session.add(
                PlanItem(
                    plan_id=plan_id,
                    scheduled_date=today - dt.timedelta(days=days),
                    item_type=ItemType.EXERCISE,
                    item_id=item_id,
                    completion_state=state,
                    completion_at=NOW if state == C else None,
                    order_index=n,
                )
            )


C, M, S, P = CompletionState.COMPLETED, CompletionState.MISSED, CompletionState.SKIPPED, CompletionState.PENDING
# days ago -> states. 7 days (day 7 included): 2 of 5 due done (skipped is not due); 30: 3 of 8; 90: 4 of 10;
# 95 days ago and today (not over yet): outside every window.
STATES = {1: [C, M, S], 6: [C, P], 7: [M], 20: [C, M, M], 60: [C, M], 95: [C, C], 0: [M]}
EXPECTED = {7: (2, 5), 30: (3, 8), 90: (4, 10)}


def expected_from_rows(plan_id: int, today: dt.date) -> dict[int, tuple[int, int]]:
    """The adherence figures recomputed in Python from the plan's rows."""
    rows = db.session.scalars(sa.select(PlanItem).where(PlanItem.plan_id == plan_id)).all()
    result = {}
    for days in (7, 30, 90):
        start = today - dt.timedelta(days=days)
        due = [r for r in rows if start <= r.scheduled_date < today and r.completion_state != S]
        result[days] = (sum(r.completion_state == C for r in due), len(due))
    return result


def test_page_and_every_tab_show_the_records_and_their_links_open_them(app: Flask, accounts: dict) -> None:
    with app.app_context():
        world = make_world("coach@coachdesk.test", tag="z")
        customer = world[PlatformUser]
        cid = customer.id
        today = local_today(zone("Europe/Madrid"))
        plan = world[CustomerPlan]
        add_plan_items(plan.id, today, STATES, world[PlanItem].item_id)
        db.session.add(SupportTicket(requester_id=cid, subject="Locked out", priority=TicketPriority.URGENT))
        db.session.commit()
        assert expected_from_rows(plan.id, today) == EXPECTED
    client = signed_in(app, "Admin")
    page = client.get(page_url(cid))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Customer Z" in html and "customer-z@example.test" in html
    assert tabs_shown(html) == list(TAB_TITLES)  # Admin reads every panel
    for days, (done, due) in EXPECTED.items():
        assert f'data-days="{days}" data-due="{due}" data-completed="{done}"' in html
    flags = set(re.findall(r'data-flag="(\w+)"', html))
    # 3 of 8 = 38% < 50% over 30 days: low adherence; the world's invoice is due 2025-03-01 and OPEN: past due;
    # the world's one engagement event is from its creation time (now): active; the urgent ticket is open.
    assert flags == {"past_due", "low_adherence", "urgent_ticket"}
    seen_entities = set()
    for tab in TAB_TITLES:
        resp = client.get(page_url(cid, tab))
        assert resp.status_code == 200, tab
        fragment = resp.get_data(as_text=True)
        assert "<html" not in fragment and f'data-section="{tab}"' in fragment
        links = LINK_RE.findall(fragment)
        assert links, f"no record links in the {tab} tab"
        for href, entity, text in links[:3]:
            seen_entities.add(entity)
            record = client.get(href)
            assert record.status_code == 200, href
            body = record.get_data(as_text=True)
            # the record's own text (its name, date or value), or the customer it belongs to
            assert text.strip() in body or "Customer Z" in body, (href, text)
        # the same tab without JS: the whole page with that tab open
        full = client.get(page_url(cid) + f"?tab={tab}")
        assert full.status_code == 200 and f'data-section="{tab}"' in full.get_data(as_text=True)
    assert seen_entities >= {
        "CustomerPlans", "PlanItems", "ScheduledSessions", "Subscriptions", "Invoices", "Payments", "Threads",
        "SupportTickets", "Consents", "CustomerBadges", "ProgressMetrics", "AuditLogs",
    }  # fmt: skip
    with app.app_context():
        stmt = sa.select(SupportTicket.subject).where(SupportTicket.requester_id == cid)
        names = set(db.session.scalars(stmt))
    tickets = client.get(page_url(cid, "tickets")).get_data(as_text=True)
    assert all(name in tickets for name in names)


def test_bad_ids_and_unknown_tabs_are_404(app: Flask, accounts: dict) -> None:
    with app.app_context():
        cid = make_world(None, tag="q")[PlatformUser].id
    client = signed_in(app, "Admin")
    for url in (
        page_url("not-a-uuid"),
        page_url(uuid.uuid4()),
        page_url("not-a-uuid", "plan"),
        page_url(uuid.uuid4(), "plan"),
        page_url(cid, "nonsense"),
        page_url(cid) + "?tab=nonsense",
    ):
        assert client.get(url).status_code == 404, url


def test_a_coach_sees_their_customer_and_gets_404_for_another(app: Flask, two_coaches: dict) -> None:  # noqa: F811
    client = two_coaches["client"]
    own, other = two_coaches["a"][PlatformUser], two_coaches["b"][PlatformUser]
    assert client.get(page_url(other)).status_code == 404
    for tab in TAB_TITLES:
        assert client.get(page_url(other, tab)).status_code == 404, tab
    page = client.get(page_url(own))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # Coaches hold no billing, ticket, consent or audit grants: those panels are not there, nor their flags.
    assert tabs_shown(html) == ["plan", "sessions", "messages", "badges", "metrics"]
    assert 'data-flag="past_due"' not in html and 'data-flag="urgent_ticket"' not in html
    for tab in ("billing", "tickets", "consents", "audit"):
        assert client.get(page_url(own, tab)).status_code == 403
    messages = client.get(page_url(own, "messages")).get_data(as_text=True)
    assert "Thread a" in messages and "Thread b" not in messages
    # The coach's list of platform users links each name to the 360 page, which opens.
    listing = client.get("/platform-users/list/").get_data(as_text=True)
    assert f'href="{page_url(own)}"' in listing and f'href="{page_url(other)}"' not in listing
    assert client.get(page_url(own)).status_code == 200


@pytest.mark.parametrize(
    ("role", "tabs"),
    [
        ("Support", ["plan", "sessions", "billing", "messages", "tickets", "consents", "badges", "metrics"]),
        ("Manager", ["plan", "sessions", "billing", "tickets", "badges", "metrics"]),
        ("Compliance", ["consents", "audit"]),
    ],
)
def test_each_role_sees_the_panels_it_may_read(app: Flask, accounts: dict, role: str, tabs: list[str]) -> None:
    with app.app_context():
        cid = make_world("coach@coachdesk.test", tag="r")[PlatformUser].id
    client = signed_in(app, role)
    html = client.get(page_url(cid)).get_data(as_text=True)
    assert tabs_shown(html) == tabs
    for tab in TAB_TITLES:
        assert client.get(page_url(cid, tab)).status_code == (200 if tab in tabs else 403), (role, tab)
    # The show page links to the 360 page, which opens.
    show = client.get(f"/platform-users/show/{cid}").get_data(as_text=True)
    assert f'href="{page_url(cid)}"' in show
    if role == "Compliance":
        assert "Open profile" not in html  # no CustomerProfiles grant: no profile fields or link
        assert 'data-flag="low_adherence"' not in html


def test_adherence_and_audit_history_on_postgresql(pg_app: Flask) -> None:
    with pg_app.app_context():
        world = make_world(None, tag="p")
        cid = world[PlatformUser].id
        plan = world[CustomerPlan]
        now = dt.datetime(2025, 6, 15, 12, tzinfo=dt.UTC)
        today = local_today(zone("Europe/Madrid"), now)
        add_plan_items(plan.id, today, STATES, world[PlanItem].item_id)
        db.session.get(CustomerProfile, cid).timezone = "America/New_York"  # an audited change of the profile
        db.session.commit()
        db.session.get(CustomerProfile, cid).timezone = "Europe/Madrid"
        db.session.commit()
        data = customer360.tab_data("plan", ADMIN_ACTOR, cid, frozenset(TAB_NAMES_READ), now=now)
        assert {d: (a["completed"], a["due"]) for d, a in data["adherence"].items()} == EXPECTED
        assert expected_from_rows(plan.id, today) == EXPECTED
        audit = history.audit_tab(ADMIN_ACTOR, cid, frozenset({"AuditLogs"}), now)
        shown = [e["id"] for e in audit["entries"]]
        keys = history.record_keys(cid)
        rows = db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id.desc())).all()
        about = [r.id for r in rows if r.resource_id in keys.get(r.resource_type, [])][: history.AUDIT_LIMIT]
        assert shown == about
        tables = {e["resource_type"] for e in audit["entries"]}
        assert {"users", "customer_profiles", "subscriptions", "customer_plans", "consents"} <= tables
        profile_updates = [e for e in audit["entries"] if e["resource_type"] == "customer_profiles"]
        assert sum(e["action"] == "update" for e in profile_updates) == 2
        other = make_world(None, tag="o")[PlatformUser].id
        assert all(e["resource_id"] != str(other) for e in audit["entries"])


TAB_NAMES_READ = {"CustomerPlans", "PlanItems"}


def test_each_part_runs_the_same_number_of_queries_however_much_the_customer_has(app: Flask) -> None:
    """Bounded queries: ten times the threads, messages, tickets, consents, invoices and metrics, same statements."""
    from app.models.analytics import MetricSource, ProgressMetric
    from app.models.commerce import Invoice, InvoiceStatus, Subscription
    from app.models.engagement import Message, Thread, ThreadContext
    from app.models.identity import Consent

    every = frozenset(
        {"CustomerPlans", "PlanItems", "ScheduledSessions", "SessionParticipants", "Subscriptions", "Invoices",
         "Payments", "Threads", "Messages", "SupportTickets", "Consents", "CustomerBadges", "ProgressMetrics",
         "AuditLogs", "EngagementEvents", "CustomerProfiles", "CoachAssignments", "Users"}
    )  # fmt: skip
    with app.app_context():
        world = make_world(None, tag="n")
        cid = world[PlatformUser].id
        statements: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        def queries() -> dict[str, int]:
            result = {}
            customer = db.session.get(PlatformUser, cid)
            for part in ["header", *customer360.visible_tabs(every)]:
                statements.clear()
                sa.event.listen(db.engine, "before_cursor_execute", count)
                try:
                    if part == "header":
                        customer360.header(ADMIN_ACTOR, customer, every)
                    else:
                        customer360.tab_data(part, ADMIN_ACTOR, cid, every)
                finally:
                    sa.event.remove(db.engine, "before_cursor_execute", count)
                result[part] = len(statements)
            return result

        before = queries()
        sub = world[Subscription]
        for n in range(10):
            thread = Thread(subject=f"T{n}", context_type=ThreadContext.CUSTOMER_COACH, customer_id=cid)
            db.session.add(thread)
            db.session.flush()
            db.session.add_all([Message(thread_id=thread.id, sender_id=cid, body=f"m{n}-{k}") for k in range(3)])
            db.session.add(SupportTicket(requester_id=cid, subject=f"S{n}"))
            db.session.add(Consent(user_id=cid, consent_type=f"c{n}"))
            db.session.add(
                Invoice(subscription_id=sub.id, amount=1, currency="EUR", due_date=dt.date(2025, 1, 1 + n),
                        status=InvoiceStatus.OPEN, period_start=dt.date(2024, 1, 1 + n))
            )  # fmt: skip
            db.session.add(
                ProgressMetric(customer_id=cid, metric_type=f"m{n % 3}", value=n, unit="kg", source=MetricSource.MANUAL)
            )
        db.session.commit()
        after = queries()
        assert before == after
        assert max(after.values()) <= 12


@pytest.mark.e2e
def test_tabs_load_on_click_and_the_page_fits_390_px_in_chromium(app: Flask, accounts: dict) -> None:
    from tests.e2e.browser import pass_mfa, recording_page, require_chromium, serving

    require_chromium()
    with app.app_context():
        cid = make_world("coach@coachdesk.test", tag="w")[PlatformUser].id
    with serving(app) as base, recording_page(base, viewport={"width": 390, "height": 844}) as page:
        page.goto("/login/")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "admin-Passw0rd!")
        page.click("form[name=login] [type=submit]")
        pass_mfa(page, app, "admin")
        page.goto(page_url(cid))
        assert page.locator('[data-section="plan"]').count() == 1  # the first tab came with the page
        assert page.locator('[data-section="billing"]').count() == 0  # the others wait for a click
        page.click('a[data-tab="billing"]')
        page.wait_for_selector('#cd-c360-panel-billing [data-section="billing"]')
        assert page.url.endswith("?tab=billing") and page.locator("#cd-c360-panel-plan").is_hidden()
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert fits, "the 360 page scrolls sideways at 390 px"
        page.click('#cd-c360-panel-billing a[data-entity="Invoices"]')
        page.wait_for_url(re.compile(r"/invoices/show/\d+"))
        assert page.requested_hosts == {urlparse(base).netloc}
