"""Lists at scale: bounded queries per page, exact-or-estimated counts, search, streamed filtered export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.analytics import EngagementEvent
from app.models.engagement import Message, Thread, ThreadContext
from app.models.identity import PlatformUser
from app.models.training import CustomerPlan, PlanItem
from app.web.views.base.columns import SecretColumnError
from app.web.views.base.datamodel import ScopedSQLAInterface
from app.web.views.base.model_view import CoachdeskModelView
from tests.support.web import login
from tests.support.world import db_dialect, make_world, pk_of

MAX_QUERIES_PER_PAGE = 12  # the page, its count, the viewer and their grants, names of references, saved views,
# the menu's unread count


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def _many_messages(app: Flask, n: int = 60) -> dict:
    with app.app_context():
        world = make_world("coach@coachdesk.test", tag="n")
        ids = {m: pk_of(o) for m, o in world.items()}
        people = [PlatformUser(email=f"p{i}@example.test", full_name=f"Person {i}", locale="en") for i in range(n)]
        db.session.add_all(people)
        db.session.flush()
        threads = [Thread(subject=f"T{i}", context_type=ThreadContext.SUPPORT, customer_id=p.id) for i, p in
                   enumerate(people)]  # fmt: skip
        db.session.add_all(threads)
        db.session.flush()
        for i, (p, t) in enumerate(zip(people, threads, strict=True)):
            db.session.add(Message(thread_id=t.id, sender_id=p.id, recipient_id=people[-1 - i].id, body=f"m{i}"))
            db.session.add(PlanItem(plan_id=int(ids[CustomerPlan]),
                                    scheduled_date=dt.date(2025, 1, 1) + dt.timedelta(days=i),
                                    item_type="EXERCISE", item_id=1))  # fmt: skip
        db.session.commit()
    return ids


PAGES = ("/messages/list/?psize_MessageView=100", "/plan-items/list/?psize_PlanItemView=100",
         "/threads/list/?psize_ThreadView=100", "/platform-users/list/?psize_PlatformUserView=100")  # fmt: skip


def test_list_pages_run_a_bounded_number_of_queries(app: Flask, accounts: dict) -> None:
    _many_messages(app)
    client = app.test_client()
    login(client, "admin", "admin-Passw0rd!")
    client.get(PAGES[0])  # warm-up: first-request work is not per page
    for url in PAGES:
        with counting(app) as statements:
            resp = client.get(url)
        assert resp.status_code == 200
        assert resp.get_data(as_text=True).count("/show/") >= 50, url
        assert len(statements) <= MAX_QUERIES_PER_PAGE, f"{url}: " + "\n".join(statements)


def test_coach_list_page_is_bounded_too(app: Flask, accounts: dict) -> None:
    _many_messages(app)
    client = app.test_client()
    login(client, "coach", "coach-Passw0rd!")
    client.get("/plan-items/list/")
    with counting(app) as statements:
        assert client.get("/plan-items/list/?psize_PlanItemView=100").status_code == 200
    assert len(statements) <= MAX_QUERIES_PER_PAGE


def test_counts_are_exact_below_the_limit_and_estimated_above(app: Flask, accounts: dict) -> None:
    with app.app_context():
        world = make_world(None, tag="c")
        customer = world[PlatformUser].id
        for i in range(60):
            kind = "login" if i % 2 else "workout"
            db.session.add(EngagementEvent(customer_id=customer, event_type=kind, payload_json={"i": i}))
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execute(sa.text("ANALYZE engagement_events")).close()
    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "EngagementEventView")
    client = app.test_client()
    login(client, "admin", "admin-Passw0rd!")
    page = client.get("/engagement-events/list/").get_data(as_text=True)
    assert 'data-estimated="no"' in page and "61" in page
    view.datamodel.exact_count_limit = 20
    try:
        page = client.get("/engagement-events/list/").get_data(as_text=True)
        filtered = client.get("/engagement-events/list/?f_event_type=login").get_data(as_text=True)
        small = client.get("/engagement-events/list/?f_event_type=signup").get_data(as_text=True)
    finally:
        view.datamodel.exact_count_limit = ScopedSQLAInterface.exact_count_limit
    if db_dialect(app) == "postgresql":
        assert 'data-estimated="yes"' in page and "about" in page
        assert 'data-estimated="yes"' in filtered
    else:  # SQLite counts exactly, cheaply
        assert 'data-estimated="no"' in page and "61" in page
        assert 'data-estimated="no"' in filtered and "31" in filtered  # 30 + the world's own login
    assert 'data-estimated="no"' in small and "No records found" in small


def test_search_box_matches_text_and_treats_wildcards_literally(app: Flask, accounts: dict) -> None:
    with app.app_context():
        make_world(None, tag="s")
        db.session.add(PlatformUser(email="percent@example.test", full_name="Ana 100% Fit", locale="en"))
        db.session.commit()
    client = app.test_client()
    login(client, "support", "support-Passw0rd!")
    page = client.get("/platform-users/list/?q=100%25").get_data(as_text=True)
    assert "Ana 100% Fit" in page and "Customer S" not in page
    page = client.get("/platform-users/list/?q=_").get_data(as_text=True)
    assert "No records found" in page
    page = client.get("/platform-users/list/?q=customer-s@").get_data(as_text=True)
    assert "Customer S" in page and "Ana 100% Fit" not in page


def test_export_streams_the_filtered_list_without_secrets(app: Flask, accounts: dict) -> None:
    with app.app_context():
        make_world(None, tag="e")
        for i in range(3):
            db.session.add(
                PlatformUser(email=f"s{i}@example.test", full_name=f"Suspended {i}", status="SUSPENDED",
                             password_hash=f"scrypt:hash-{i}", locale="en")
            )  # fmt: skip
        db.session.commit()
    client = app.test_client()
    login(client, "support", "support-Passw0rd!")
    resp = client.get(
        "/platform-users/export/?f_status=SUSPENDED&_oc_PlatformUserView=full_name&_od_PlatformUserView=asc"
    )
    assert resp.status_code == 200 and resp.is_streamed
    lines = resp.get_data(as_text=True).strip().splitlines()
    assert lines[0].startswith("Name,Email,Status")
    assert [line.split(",")[0] for line in lines[1:]] == ["Suspended 0", "Suspended 1", "Suspended 2"]
    assert "hash-" not in resp.get_data(as_text=True)


def test_export_sends_the_audit_hook(app: Flask, accounts: dict) -> None:
    from app.services.csv_export import export_started

    seen: list[dict] = []

    def receiver(sender, **kw):  # noqa: ANN001
        seen.append(kw)

    export_started.connect(receiver)
    try:
        client = app.test_client()
        login(client, "support", "support-Passw0rd!")
        client.get("/platform-users/export/?f_status=ACTIVE").close()
    finally:
        export_started.disconnect(receiver)
    assert seen and seen[0]["resource"] == "Users" and seen[0]["filters"] == {"f_status": "ACTIVE"}
    assert seen[0]["user"].username == "support"
    # ... and the audit trail records it: who, what, which filters (names only, never the values).
    from app.models import AuditLog, ConsoleUser

    with app.app_context():
        row = db.session.query(AuditLog).filter_by(action="export.list_csv").one()
        support = db.session.query(ConsoleUser).filter_by(username="support").one()
        assert row.resource_type == "Users" and row.metadata_json["filters"] == ["f_status"]
        assert row.actor_id == support.platform_user_id


def test_a_secret_column_in_a_view_is_a_start_up_error(sqlite_app: Flask) -> None:
    class Leaky(CoachdeskModelView):
        datamodel = ScopedSQLAInterface(PlatformUser)
        class_permission_name = "Users"
        list_columns = ["full_name", "password_hash"]
        show_columns = add_columns = edit_columns = ["full_name"]

    class LeakyExport(CoachdeskModelView):
        datamodel = ScopedSQLAInterface(Message)
        class_permission_name = "Messages"
        list_columns = show_columns = add_columns = edit_columns = ["body"]
        export_columns = ("body", "sender.password_hash")

    for view in (Leaky, LeakyExport):
        with sqlite_app.test_request_context(), pytest.raises(SecretColumnError, match="password_hash"):
            view()


def test_related_tabs_follow_the_viewers_permissions(app: Flask, accounts: dict) -> None:
    with app.app_context():
        user_id = pk_of(make_world("coach@coachdesk.test", tag="r")[PlatformUser])
    seen = {}
    for username in ("support", "compliance"):
        client = app.test_client()
        login(client, username, f"{username}-Passw0rd!")
        page = client.get(f"/platform-users/show/{user_id}")
        assert page.status_code == 200
        seen[username] = page.get_data(as_text=True)
    # Support reads subscriptions and tickets; Compliance reads neither, but does read consents and sessions.
    assert 'href="#SubscriptionView"' in seen["support"] and 'href="#SupportTicketView"' in seen["support"]
    assert 'href="#SubscriptionView"' not in seen["compliance"]
    assert 'href="#SupportTicketView"' not in seen["compliance"] and "Help r" not in seen["compliance"]
    assert 'href="#ConsentView"' in seen["compliance"] and 'href="#AuthSessionView"' in seen["compliance"]


def test_pages_of_an_eager_list_are_in_order_without_gaps_or_repeats(app: Flask, accounts: dict) -> None:
    """Keys are paged first and the customer joined per page: the walk must equal one ordered scan."""
    import re

    with app.app_context():
        world = make_world(None, tag="p")
        customers = [world[PlatformUser].id]
        for i in range(3):
            person = PlatformUser(email=f"pp{i}@example.test", full_name=f"Pager {i}", locale="en")
            db.session.add(person)
            db.session.flush()
            customers.append(person.id)
        base = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
        for i in range(40):  # four events share each timestamp: the id must break the ties
            db.session.add(EngagementEvent(customer_id=customers[i % 4], event_type="workout",
                                           occurred_at=base + dt.timedelta(hours=i // 4)))  # fmt: skip
        db.session.commit()
        expected = [
            str(pk)
            for pk in db.session.scalars(
                sa.select(EngagementEvent.id).order_by(EngagementEvent.occurred_at.desc(), EngagementEvent.id.desc())
            )
        ]
    client = app.test_client()
    login(client, "admin", "admin-Passw0rd!")
    client.get("/engagement-events/list/")
    seen: list[str] = []
    for page in range(0, (len(expected) + 6) // 7):
        url = f"/engagement-events/list/?psize_EngagementEventView=7&page_EngagementEventView={page}"
        with counting(app) as statements:
            body = client.get(url).get_data(as_text=True)
        assert len(statements) <= MAX_QUERIES_PER_PAGE
        ids = list(dict.fromkeys(re.findall(r"/engagement-events/show/(\d+)", body)))
        assert "Pager " in body  # the customer relation is rendered, by name
        seen += ids
    assert seen == expected
