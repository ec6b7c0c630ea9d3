"""Global search: results per kind, row scope and grants, literal wildcards, bad input, links, and PostgreSQL's plan."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.commerce import Invoice, InvoiceStatus, Product, ProductCategory, Subscription, SubscriptionStatus
from app.models.engagement import SupportTicket
from app.models.identity import ConsoleUser, PlatformUser, RoleCode
from app.models.training import Program, ProgramLevel, Visibility
from app.policy.scope import Actor
from app.services import search as search_service
from app.services.accounts import create_console_account
from tests.support.apps import Account, make_accounts
from tests.support.plan_support import ensure_platform_role, make_customer
from tests.support.web import login


@pytest.fixture
def sqlite_accounts(sqlite_app: Flask) -> dict[str, Account]:
    return make_accounts(sqlite_app)


LINK_RE = re.compile(r'<li class="cd-search-result"><a href="([^"]+)">([^<]+)</a>')


def _coach_id(username: str) -> uuid.UUID:
    return db.session.scalars(sa.select(ConsoleUser).where(ConsoleUser.username == username)).one().platform_user_id


def _world(app: Flask) -> dict:
    """Two coaches' customers with a program, a ticket and an invoice each, and literal-wildcard look-alikes."""
    with app.app_context():
        create_console_account(
            app.appbuilder.sm, username="coachb", email="coachb@coachdesk.test", full_name="Coach Bee",
            role="Coach", password="coachb-Passw0rd!",
        )  # fmt: skip
        coach_a, coach_b = _coach_id("coach"), _coach_id("coachb")
        zelda = make_customer("Zelda Quarrington", coach_id=coach_a)
        bruno = make_customer("Bruno Quarrington", coach_id=coach_b)
        pct = make_customer("Percy Hundred", coach_id=coach_a)
        under = make_customer("Uma Under", coach_id=coach_a)
        plain = make_customer("Pablo Plain", coach_id=coach_a)
        for uid, email, phone in (
            (zelda, "zelda.q@example.test", "+34 611 222 333"),
            (bruno, "bruno.q@example.test", "+34 699 888 777"),
            (pct, "percy@example.test", None),
            (under, "a_b@example.test", None),
            (plain, "axb@example.test", None),
        ):
            user = db.session.get(PlatformUser, uid)
            user.email, user.phone = email, phone
        programs = {
            "a": Program(title="Quarry Strength A", level=ProgramLevel.BEGINNER, created_by=coach_a),
            "b": Program(title="Quarry Strength B", level=ProgramLevel.BEGINNER, created_by=coach_b),
            "public": Program(
                title="Quarry Public", level=ProgramLevel.ADVANCED, created_by=coach_b, visibility=Visibility.PUBLIC
            ),
        }
        db.session.add_all(programs.values())
        product = Product(name="Coaching", category=ProductCategory.COACHING, price=decimal.Decimal("49.90"))
        db.session.add(product)
        db.session.flush()
        sub = Subscription(
            customer_id=zelda, product_id=product.id, status=SubscriptionStatus.ACTIVE, start_date=dt.date(2025, 3, 1)
        )
        db.session.add(sub)
        db.session.flush()
        invoice = Invoice(
            subscription_id=sub.id, amount=decimal.Decimal("49.90"), currency="EUR", due_date=dt.date(2025, 3, 1),
            status=InvoiceStatus.OPEN, external_reference="QRY-2025-0042",
        )  # fmt: skip
        tickets = {
            "zelda": SupportTicket(requester_id=zelda, subject="Quarrel about a refund"),
            "pct": SupportTicket(requester_id=pct, subject="Refund 100% please"),
            "plain": SupportTicket(requester_id=plain, subject="Refund 1000 please"),
        }
        db.session.add(invoice)
        db.session.add_all(tickets.values())
        db.session.commit()
        return {
            "zelda": zelda,
            "bruno": bruno,
            "under": under,
            "plain": plain,
            "programs": {k: p.id for k, p in programs.items()},
            "tickets": {k: t.id for k, t in tickets.items()},
            "invoice": invoice.id,
        }


def _client(app: Flask, username: str, password: str):
    client = app.test_client()
    login(client, username, password)
    return client


def _suggest(client, q: str) -> dict:
    resp = client.get("/search/suggest", query_string={"q": q})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def _titles(data: dict) -> dict[str, list[str]]:
    return {g["kind"]: [item["title"] for item in g["items"]] for g in data["groups"]}


def test_admin_finds_every_kind_and_each_link_opens_the_record(
    sqlite_app: Flask, sqlite_accounts: dict[str, Account]
) -> None:
    world = _world(sqlite_app)
    client = _client(sqlite_app, "admin", sqlite_accounts["Admin"].password)
    found = _titles(_suggest(client, "quar"))
    assert found == {
        "customers": ["Bruno Quarrington", "Zelda Quarrington"],
        "programs": ["Quarry Public", "Quarry Strength A", "Quarry Strength B"],
        "tickets": ["Quarrel about a refund"],
    }
    assert _titles(_suggest(client, "QRY-2025"))["invoices"] == ["QRY-2025-0042"]
    # An exact invoice number, with or without '#'.
    assert _titles(_suggest(client, f"#{world['invoice']}"))["invoices"] == ["QRY-2025-0042"]
    # A phone fragment as stored, and an email fragment.
    assert _titles(_suggest(client, "611 222"))["customers"] == ["Zelda Quarrington"]
    assert _titles(_suggest(client, "bruno.q@"))["customers"] == ["Bruno Quarrington"]

    # The full results page (no JS): every result is a link; follow each one to its record's page.
    page = client.get("/search/", query_string={"q": "quar"})
    assert page.status_code == 200
    links = LINK_RE.findall(page.get_data(as_text=True))
    assert sorted(title for _url, title in links) == sorted(
        ["Bruno Quarrington", "Zelda Quarrington", "Quarry Public", "Quarry Strength A", "Quarry Strength B",
         "Quarrel about a refund"]
    )  # fmt: skip
    for url, title in links:
        opened = client.get(url)
        assert opened.status_code == 200, url
        assert title in opened.get_data(as_text=True), url
    invoice_url = _suggest(client, "QRY-2025")["groups"][0]["items"][0]["url"]
    opened = client.get(invoice_url)
    assert opened.status_code == 200 and "QRY-2025-0042" in opened.get_data(as_text=True)


def test_a_coach_finds_only_their_customers_and_readable_programs_and_no_tickets(
    sqlite_app: Flask, sqlite_accounts: dict[str, Account]
) -> None:
    _world(sqlite_app)
    client = _client(sqlite_app, "coach", sqlite_accounts["Coach"].password)
    found = _titles(_suggest(client, "quar"))
    # Coach B's customer and private program stay hidden; PUBLIC programs are every coach's to read.
    # Coaches hold no SupportTickets or Invoices grant: those kinds are not even asked.
    assert found == {"customers": ["Zelda Quarrington"], "programs": ["Quarry Public", "Quarry Strength A"]}
    assert _suggest(client, "QRY-2025")["groups"] == []
    page = client.get("/search/", query_string={"q": "Bruno"}).get_data(as_text=True)
    assert "Bruno Quarrington" not in page and "Nothing found" in page


def test_compliance_without_ticket_or_program_grants_gets_customers_only(
    sqlite_app: Flask, sqlite_accounts: dict[str, Account]
) -> None:
    _world(sqlite_app)
    client = _client(sqlite_app, "compliance", sqlite_accounts["Compliance"].password)
    assert _titles(_suggest(client, "quar")) == {"customers": ["Bruno Quarrington", "Zelda Quarrington"]}


def test_like_wildcards_typed_literally_match_literally(sqlite_app: Flask, sqlite_accounts: dict[str, Account]) -> None:
    _world(sqlite_app)
    client = _client(sqlite_app, "support", sqlite_accounts["Support"].password)
    assert _titles(_suggest(client, "100%"))["tickets"] == ["Refund 100% please"]
    assert _titles(_suggest(client, "a_b@"))["customers"] == ["Uma Under"]
    assert _suggest(client, "%%%")["groups"] == []
    assert _suggest(client, "__")["groups"] == []


def test_short_and_bad_input(sqlite_app: Flask, sqlite_accounts: dict[str, Account]) -> None:
    _world(sqlite_app)
    client = _client(sqlite_app, "admin", sqlite_accounts["Admin"].password)
    short = _suggest(client, "q")
    assert short["groups"] == [] and "at least 2" in short["hint"]
    assert "at least 2" in client.get("/search/?q=q").get_data(as_text=True)
    # Two characters: the start of a value or of a word.
    assert _titles(_suggest(client, "pa"))["customers"] == ["Pablo Plain"]
    assert _suggest(client, "")["groups"] == []
    for bad in ("x" * 101, "quar\x01", "quar\x7f"):
        for url in ("/search/", "/search/suggest"):
            resp = client.get(url, query_string={"q": bad})
            assert resp.status_code == 400, (url, bad)
            assert "search text" in resp.get_data(as_text=True)
    assert client.get("/search/suggest", query_string={"q": "quar\x00"}).status_code == 400
    assert client.get("/search/suggest?q=%FF%FE").status_code in (200, 400)  # undecodable bytes: never a 500
    assert client.post("/search/suggest", data={"q": "quar"}).status_code in (400, 405)
    huge = _suggest(client, "#99999999999999999999")  # beyond a 64-bit key: no invoice number match, no error
    assert huge["groups"] == []


def test_the_navbar_box_is_on_console_pages(sqlite_app: Flask, sqlite_accounts: dict[str, Account]) -> None:
    client = _client(sqlite_app, "manager", sqlite_accounts["Manager"].password)
    html = client.get("/").get_data(as_text=True)
    assert 'id="cd-global-search-q"' in html and "coachdesk/search.js" in html
    assert client.get("/search/suggest?q=zz").status_code == 200


def test_postgresql_answers_from_the_trigram_indexes(pg_app: Flask) -> None:
    """The statements as written can use the GIN trigram indexes (full scans off: at this size they are cheaper)."""
    admin = Actor(None, frozenset({"Admin"}))
    expected = {
        "customers": ("ix_users_full_name_trgm", "ix_users_email_trgm"),
        "programs": ("ix_programs_title_trgm",),
        "tickets": ("ix_support_tickets_subject_trgm",),
        "invoices": ("ix_invoices_external_reference_trgm",),
    }
    with pg_app.app_context():
        # A few thousand customers (set-based) with statistics, so the planner weighs real selectivity.
        ensure_platform_role(RoleCode.CUSTOMER)
        db.session.commit()
        with db.engine.begin() as setup:
            setup.exec_driver_sql(
                "INSERT INTO users (id, email, full_name, phone, locale, status, legal_hold, created_at, updated_at) "
                "SELECT md5('s' || g)::uuid, 'p' || g || '@example.test', 'Person ' || md5('n' || g), "
                "'+34 6' || lpad(g::text, 8, '0'), 'en', 'ACTIVE', false, now(), now() "
                "FROM generate_series(1, 3000) g"
            )
            setup.exec_driver_sql(
                "INSERT INTO user_roles (user_id, role_id) SELECT id, (SELECT id FROM roles WHERE code = 'CUSTOMER') "
                "FROM users"
            )
            setup.exec_driver_sql("ANALYZE users; ANALYZE user_roles; ANALYZE roles")
        conn = db.session.connection()
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")
        for query in ("quarr", "qu"):
            for kind, indexes in expected.items():
                stmt = search_service.statement(kind, admin, query)
                sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
                plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql))
                for index in indexes:
                    assert index in plan, f"{kind} {query!r} does not use {index}:\n{plan}"
            # Digits: emails and phones (a name holds none).
            stmt = search_service.statement("customers", admin, query.replace("quarr", "611 2").replace("qu", "61"))
            sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
            plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql))
            assert "ix_users_phone_trgm" in plan and "ix_users_email_trgm" in plan, plan
        db.session.rollback()


def test_sqlite_and_postgresql_find_the_same(app: Flask, accounts: dict[str, Account]) -> None:
    world = _world(app)
    admin = Actor(None, frozenset({"Admin"}))
    zelda, bruno = str(world["zelda"]), str(world["bruno"])
    with app.app_context():
        for query, keys in (("Zelda", [zelda]), ("ZELDA  q", [zelda]), ("quarrington", [bruno, zelda]), ("q", [])):
            results = search_service.search(db.session, admin, query, ["customers"])
            assert [hit.key for hit in results.hits.get("customers", [])] == keys, query
