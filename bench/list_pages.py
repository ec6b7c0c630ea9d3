"""List-page benchmark: our EngagementEvents list against a stock FAB ModelView, 10M events on PostgreSQL.

    python -m bench.list_pages [--events 10000000] [--customers 100000] [--runs 20] [--stock-runs 3] [--reuse]

Builds (once; ``--reuse`` keeps it) a migrated database ``bench_listpages_<events>`` with
``--customers`` customers, a few coaches with CoachAssignments and ``--events`` engagement
events, all generated in SQL with ``generate_series``, then ``ANALYZE``. In the same app
run it registers a stock FAB ``ModelView`` over the same model (plain ``SQLAInterface``,
``list_columns`` with the customer relation like ours, FAB defaults otherwise) and times full
HTTP requests through the Flask test client, as an Admin and as a Coach, for the first page,
a filtered page and deep pages; SQL statements per request are counted with a
``before_cursor_execute`` listener. Targets (DESIGN.md): p95 < 150 ms at any depth, at most
10 statements per page. Uses ``BENCH_DATABASE_URL`` or the embedded PostgreSQL server.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from bench.common import build_app, drop_database, named_database, step

TARGET_P95_MS = 150.0
TARGET_STATEMENTS = 10
PAGE_SIZE = 100
EVENT_TYPES = "array['login','workout','meal_logged','habit_checked','message_read','video_watched']"
ADMIN = ("bench_admin", "bench-admin-Passw0rd!")
COACH = ("bench_coach", "bench-coach-Passw0rd!")
OURS = "EngagementEventView"
STOCK = "StockEngagementEventView"


def stock_view_class() -> type:
    """FAB's ModelView as shipped: plain SQLAInterface, defaults; same resource as ours so the same roles reach it."""
    from flask_appbuilder import ModelView
    from flask_appbuilder.models.sqla.interface import SQLAInterface

    from app.models.analytics import EngagementEvent
    from app.web.views.base.model_view import METHOD_PERMISSIONS

    class StockEngagementEventView(ModelView):
        route_base = "/bench-stock-events"
        datamodel = SQLAInterface(EngagementEvent)
        class_permission_name = "EngagementEvents"
        method_permission_name = METHOD_PERMISSIONS
        list_columns = ["customer", "event_type", "occurred_at"]

    return StockEngagementEventView


# --------------------------------------------------------------------------- data


def database_url(events: int) -> tuple[str, bool]:
    return named_database(f"bench_listpages_{events}")


def generate(conn: Any, customers: int, events: int, coaches: int) -> None:
    """Customers, coaches, assignments and events in SQL; customer ids are md5-derived so events need no join."""
    p = {"customers": customers, "events": events, "coaches": coaches}

    def run(sql: str, label: str | None = None) -> None:
        fn = lambda: conn.execute(text(sql), p)  # noqa: E731
        step(label, fn) if label else fn()

    run("SELECT setseed(0.17)")
    run(
        "INSERT INTO users (id, email, full_name, locale, status, legal_hold, created_at, updated_at) "
        "SELECT md5('coach' || g)::uuid, 'coach' || g || '@bench.test', 'Coach ' || g, 'en', 'ACTIVE', false, "
        "now() - interval '400 days', now() FROM generate_series(0, :coaches - 1) g"
    )
    run(
        "INSERT INTO users (id, email, full_name, locale, status, legal_hold, created_at, updated_at) "
        "SELECT md5('cust' || g)::uuid, 'c' || g || '@bench.test', 'Customer ' || g, 'en', 'ACTIVE', false, "
        "now() - interval '380 days', now() FROM generate_series(0, :customers - 1) g",
        "customers",
    )
    run(
        "INSERT INTO coach_assignments (customer_id, coach_id, assigned_at, is_primary) "
        "SELECT md5('cust' || g)::uuid, md5('coach' || (g % :coaches))::uuid, now() - interval '370 days', true "
        "FROM generate_series(0, :customers - 1) g",
        "coach assignments",
    )
    # Bulk load without the secondary indexes, then build them (far faster than row-by-row maintenance).
    indexes = conn.execute(
        text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'engagement_events' "
            "AND indexname NOT LIKE 'pk_%'"
        )
    ).all()
    for name, _ in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    run(
        "INSERT INTO engagement_events (customer_id, event_type, occurred_at) "
        f"SELECT md5('cust' || ((g * 7919) % :customers))::uuid, ({EVENT_TYPES})[1 + (g * 31 + g / 7) % 6], "
        "now() - random() * interval '365 days' FROM generate_series(0::bigint, :events - 1) g",
        f"{events:,} engagement events",
    )
    for _, definition in indexes:
        step(definition.split(" ON ")[0].replace("CREATE INDEX ", "index "), lambda d=definition: conn.execute(text(d)))


def prepare(args: argparse.Namespace) -> tuple[Any, str]:
    from app.extensions import appbuilder, db
    from app.models.identity import PlatformUser
    from app.policy.sync import sync_roles
    from app.services.accounts import create_console_account

    url, existed = database_url(args.events)
    if existed and not args.reuse:
        print("  dropping the earlier bench database (use --reuse to keep it)", flush=True)
        drop_database(url)
        url, existed = database_url(args.events)
    print(f"database: {make_url(url).database} (events={args.events:,}, customers={args.customers:,})", flush=True)
    app = build_app(url, WTF_CSRF_ENABLED=False)
    with app.test_request_context():
        app.appbuilder.add_view_no_menu(stock_view_class())
    with app.app_context():
        if existed and appbuilder.sm.find_user(username=ADMIN[0]) is None:
            raise SystemExit(f"{make_url(url).database} is incomplete (an earlier build stopped): run without --reuse")
        if not existed:
            print("generating data:", flush=True)
            sync_roles(appbuilder)
            with db.engine.begin() as conn:
                conn.execute(text("SET LOCAL synchronous_commit = off"))
                generate(conn, args.customers, args.events, args.coaches)
            coach_user = db.session.get(PlatformUser, db.session.scalar(text("SELECT md5('coach0')::uuid")))
            for (username, password), role, platform_user in ((ADMIN, "Admin", None), (COACH, "Coach", coach_user)):
                create_console_account(
                    appbuilder.sm,
                    username=username,
                    email=f"{username}@bench.test",
                    full_name=f"Bench {role}",
                    role=role,
                    password=password,
                    platform_user=platform_user,
                )
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                step("VACUUM ANALYZE", lambda: conn.execute(text("VACUUM ANALYZE")))
        rows = db.session.scalar(text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'engagement_events'"))
        print(f"  engagement_events: about {rows:,} rows", flush=True)
    return app, url


# --------------------------------------------------------------------------- measuring


@dataclass
class Result:
    p50: float
    p95: float
    statements: int
    runs: int
    status: int
    note: str = ""


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def measure(client: Any, engine: Any, url: str, runs: int, budget_s: float | None = None) -> Result:
    """Time ``runs`` full GETs after one warm-up; statements counted on the last run."""
    counter = {"n": 0}

    def on_execute(*_: Any) -> None:
        counter["n"] += 1

    first = time.perf_counter()
    resp = client.get(url)
    warm_s = time.perf_counter() - first
    if budget_s is not None and warm_s * runs > budget_s:
        runs = max(1, int(budget_s // max(warm_s, 1e-3)))
    samples = []
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        for _ in range(runs):
            counter["n"] = 0
            start = time.perf_counter()
            resp = client.get(url)
            samples.append((time.perf_counter() - start) * 1000)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    body = resp.get_data(as_text=True)
    note = "clamped: 'Page numbers stop at'" if "Page numbers stop at" in body else ""
    return Result(percentile(samples, 50), percentile(samples, 95), counter["n"], runs, resp.status_code, note)


def login(client: Any, username: str, password: str) -> None:
    resp = client.post("/login/", data={"username": username, "password": password})
    assert resp.status_code == 302, f"bench login as {username} failed ({resp.status_code})"


def cases(events: int, coach_rows: int) -> list[tuple[str, str, str, str]]:
    """(case, user, our query string, stock query string); ``{cursor:user:depth}`` is filled in later."""
    cursor_depths = {"admin": (events // 2,), "coach": (coach_rows // 2,)}
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=90)).date()
    until = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).date()
    ours_filter = f"f_event_type=workout&f_occurred_at_from={since}&f_occurred_at_to={until}"
    stock_filter = (
        f"_flt_3_event_type=workout&_flt_1_occurred_at={since}T00:00:00%2B00:00"
        f"&_flt_2_occurred_at={until}T23:59:59%2B00:00"
    )
    ps = f"psize_{{v}}={PAGE_SIZE}"

    def q(view: str, *parts: str) -> str:
        return "&".join(p.replace("{v}", view) for p in (ps, *parts))

    rows = []
    for user in ("admin", "coach"):
        # Page numbers reach offset 10,000 (admin) or 500 (row-scoped coach); deeper, Next carries a cursor.
        deepest = (10_000 if user == "admin" else 500) // PAGE_SIZE
        rows += [
            (f"{user}: first page", user, q(OURS), q(STOCK)),
            (f"{user}: filtered (type + 60 days)", user, q(OURS, ours_filter), q(STOCK, stock_filter)),
            (
                f"{user}: page {deepest} (offset {deepest * PAGE_SIZE:,})",
                user,
                q(OURS, f"page_{{v}}={deepest}"),
                q(STOCK, f"page_{{v}}={deepest}"),
            ),  # fmt: skip
        ]
        for depth in cursor_depths[user]:
            rows.append(
                (
                    f"{user}: Next at offset {depth:,}",
                    user,
                    q(OURS, f"cursor_{{v}}={{cursor:{user}:{depth}}}"),
                    q(STOCK, f"page_{{v}}={depth // PAGE_SIZE}"),
                )
            )
    return rows


CURSOR_RE = re.compile(r"\{cursor:(\w+):(\d+)\}")


def cursor_at(app: Any, user: str, depth: int) -> str:
    """The Next cursor of the page that ends at row ``depth`` of ``user``'s list (found with a slow OFFSET, untimed)."""
    from app.extensions import db
    from app.models.analytics import EngagementEvent
    from app.services import keyset

    with app.app_context():
        stmt = sa.select(EngagementEvent.occurred_at, EngagementEvent.id)
        if user == "coach":
            coach = sa.text("SELECT customer_id FROM coach_assignments WHERE coach_id = md5('coach0')::uuid")
            stmt = stmt.where(EngagementEvent.customer_id.in_(coach.columns(sa.column("customer_id", sa.Uuid))))
        stmt = stmt.order_by(EngagementEvent.occurred_at.desc(), EngagementEvent.id.desc()).offset(depth - 1).limit(1)
        value, key = db.session.execute(stmt).one()
        db.session.remove()
    return keyset.encode(keyset.Cursor(True, value, key))


def coach_row_count(app: Any) -> int:
    from app.extensions import db

    with app.app_context():
        sql = "SELECT count(*) FROM engagement_events WHERE customer_id IN " \
            "(SELECT customer_id FROM coach_assignments WHERE coach_id = md5('coach0')::uuid)"  # fmt: skip
        n = db.session.scalar(sa.text(sql))
        db.session.remove()
    return int(n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--coaches", type=int, default=20)
    parser.add_argument("--runs", type=int, default=20, help="timed requests per case for our view")
    parser.add_argument("--stock-runs", type=int, default=20, help="timed requests per case for the stock view")
    parser.add_argument("--stock-budget", type=float, default=60.0, help="seconds per stock case (fewer runs if slow)")
    parser.add_argument("--reuse", action="store_true", help="reuse bench_listpages_<events> if it exists")
    parser.add_argument("--drop", action="store_true", help="drop the database afterwards")
    args = parser.parse_args(argv)

    from app.extensions import db

    app, url = prepare(args)
    clients = {"admin": app.test_client(), "coach": app.test_client()}
    login(clients["admin"], *ADMIN)
    login(clients["coach"], *COACH)
    failures = 0
    try:
        with app.app_context():
            engine = db.engine
        print(
            f"\nfull HTTP GET, page size {PAGE_SIZE}; ours {args.runs} runs, stock up to {args.stock_runs} "
            f"(bounded to ~{args.stock_budget:.0f} s per case); targets p95 < {TARGET_P95_MS:.0f} ms, "
            f"<= {TARGET_STATEMENTS} statements"
        )
        header = (
            f"{'case':<36} {'ours p50/p95 ms':>16} {'stock p50/p95 ms':>18} {'stock/ours':>10} "
            f"{'stmts o/s':>10} {'verdict':>8}  notes"
        )
        print(header)
        print("-" * len(header))
        for label, user, ours_qs, stock_qs in cases(args.events, coach_row_count(app)):
            client = clients[user]
            found = CURSOR_RE.search(ours_qs)
            if found:
                ours_qs = CURSOR_RE.sub(cursor_at(app, found.group(1), int(found.group(2))), ours_qs)
            ours = measure(client, engine, f"/engagement-events/list/?{ours_qs}", args.runs)
            stock = measure(client, engine, f"/bench-stock-events/list/?{stock_qs}", args.stock_runs, args.stock_budget)
            ok = ours.status == 200 and ours.p95 < TARGET_P95_MS and ours.statements <= TARGET_STATEMENTS
            failures += not ok
            notes = [n for n in (ours.note and f"ours {ours.note}",) if n]
            if stock.runs < args.stock_runs:
                notes.append(f"stock bounded to {stock.runs} runs")
            if stock.status != 200 or ours.status != 200:
                notes.append(f"HTTP ours {ours.status} stock {stock.status}")
            print(
                f"{label:<36} {ours.p50:>7.0f}/{ours.p95:<8.0f} {stock.p50:>8.0f}/{stock.p95:<9.0f} "
                f"{stock.p50 / ours.p50:>9.1f}x {ours.statements:>4}/{stock.statements:<5} "
                f"{'PASS' if ok else 'FAIL':>8}  {'; '.join(notes)}",
                flush=True,
            )
        print(f"\nload average {os.getloadavg()[0]:.1f}; ratio = stock p50 / ours p50")
        print(f"overall: {'PASS' if not failures else f'FAIL ({failures} cases)'}")
        return 1 if failures else 0
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if args.drop:
            drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
