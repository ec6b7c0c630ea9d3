"""Dry-run benchmark: a rule's dry run over 30 days of 10M domain events, against naive Python, on PostgreSQL.

    python -m bench.automation_dry_run [--events 10000000] [--customers 100000] [--days 30] [--runs 3]
                                       [--naive-events 200000] [--reuse]

Builds (once; ``--reuse`` keeps it) a migrated database ``bench_dryrun_<events>`` holding
``--customers`` customers with coaches and ``--events`` domain events of ten types spread over
the last ``--days`` days, with catalogue-shaped JSON payloads, all generated in SQL with
``generate_series`` (indexes dropped during the load and rebuilt). Then times
``app.services.automation.dry_run.run`` (the SQL counts, the sample with its explanations and
action previews) for rules on a frequent, a middling and a rare event type, for every customer
and in one coach's row scope. Target (DESIGN.md): under 5 s for the 30-day window.

Baseline in the same run: the naive way, every event of the window read into Python and the
condition evaluated there (``dry_run_counts.python_counts``), timed on the newest
``--naive-events`` events of the type and extrapolated to the whole window.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.common import build_app, drop_database, insert_domain_events, named_database, step

TARGET_S = 5.0
COACHES = 200
ACTIONS = [
    {"type": "SEND_MESSAGE", "params": {"template": "Hi {first_name}, well done!"}},
    {"type": "ADD_TO_SEGMENT", "params": {"segment": "bench"}},
]


def rules() -> list[tuple[str, dict[str, Any]]]:
    """(label, RuleDraft fields): a frequent, a middling and a rare event type, with typical conditions."""
    return [
        ("plan.item_completed (35%): workouts in the last week, once per customer per 7 days", {
            "trigger_type": "EVENT", "trigger_event": "plan.item_completed",
            "condition": {"all": [{"field": "item_type", "op": "eq", "value": "EXERCISE"},
                                  {"field": "scheduled_date", "op": "gte", "value": "2000-01-01"}]},
            "frequency": "ONCE_PER_PERIOD", "frequency_days": 7,
        }),
        ("plan.item_completed (35%): the same, every time", {
            "trigger_type": "EVENT", "trigger_event": "plan.item_completed",
            "condition": {"all": [{"field": "item_type", "op": "eq", "value": "EXERCISE"},
                                  {"field": "scheduled_date", "op": "gte", "value": "2000-01-01"}]},
        }),
        ("progress.metric_recorded (12%): weight over 100 kg", {
            "trigger_type": "METRIC_THRESHOLD", "trigger_event": "progress.metric_recorded",
            "condition": {"all": [{"field": "metric_type", "op": "eq", "value": "weight"},
                                  {"field": "value", "op": "gt", "value": 100}]},
            "frequency": "ONCE_PER_CUSTOMER",
        }),
        ("payment.failed (2%): over 100 EUR by card or PayPal", {
            "trigger_type": "PAYMENT_FAILED", "trigger_event": "payment.failed",
            "condition": {"all": [{"field": "amount", "op": "gt", "value": 100},
                                  {"field": "method", "op": "in", "value": ["CARD", "PAYPAL"]}]},
        }),
    ]  # fmt: skip


def generate(conn: Any, customers: int, events: int, days: int) -> None:
    p = {"customers": customers, "events": events, "coaches": COACHES, "days": days}

    def run(sql: str, label: str | None = None) -> None:
        fn = lambda: conn.execute(text(sql), p)  # noqa: E731
        step(label, fn) if label else fn()

    run("SELECT setseed(0.31)")
    run(
        "INSERT INTO roles (code, description) VALUES ('CUSTOMER', 'Customer'), ('COACH', 'Coach') "
        "ON CONFLICT DO NOTHING"
    )
    run(
        "INSERT INTO users (id, email, full_name, locale, status, legal_hold, created_at, updated_at) "
        "SELECT md5('coach' || g)::uuid, 'coach' || g || '@bench.test', 'Coach ' || g, 'en', 'ACTIVE', false, "
        "now() - interval '400 days', now() FROM generate_series(0, :coaches - 1) g"
    )
    run(
        "INSERT INTO users (id, email, full_name, locale, status, legal_hold, created_at, updated_at) "
        "SELECT md5('cust' || g)::uuid, 'c' || g || '@bench.test', 'Customer ' || g, "
        "(array['en','es','de'])[1 + g % 3], 'ACTIVE', false, now() - interval '380 days', now() "
        "FROM generate_series(0, :customers - 1) g",
        "customers",
    )
    for code, prefix, count in (("COACH", "coach", ":coaches"), ("CUSTOMER", "cust", ":customers")):
        run(
            f"INSERT INTO user_roles (user_id, role_id) SELECT md5('{prefix}' || g)::uuid, "
            f"(SELECT id FROM roles WHERE code = '{code}') FROM generate_series(0, {count} - 1) g"
        )
    run(
        "INSERT INTO customer_profiles (user_id, timezone) SELECT md5('cust' || g)::uuid, "
        "(array['Europe/Madrid','Europe/Berlin','UTC'])[1 + g % 3] FROM generate_series(0, :customers - 1) g"
    )
    run(
        "INSERT INTO coach_assignments (customer_id, coach_id, assigned_at, is_primary) "
        "SELECT md5('cust' || g)::uuid, md5('coach' || (g % :coaches))::uuid, now() - interval '370 days', true "
        "FROM generate_series(0, :customers - 1) g",
        "coach assignments",
    )
    indexes = conn.execute(
        text("SELECT indexname, indexdef FROM pg_indexes "
             "WHERE tablename = 'domain_events' AND indexname NOT LIKE 'pk_%'")
    ).all()  # fmt: skip
    for name, _ in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    step(f"{events:,} domain events", lambda: insert_domain_events(conn, events, customers, days, dispatched=True))
    for _, definition in indexes:
        step(definition.split(" ON ")[0].replace("CREATE ", "").lower(), lambda d=definition: conn.execute(text(d)))


def prepare(args: argparse.Namespace) -> tuple[Any, str]:
    from app.extensions import db

    url, existed = named_database(f"bench_dryrun_{args.events}")
    if existed and not args.reuse:
        print("  dropping the earlier bench database (use --reuse to keep it)", flush=True)
        drop_database(url)
        url, existed = named_database(f"bench_dryrun_{args.events}")
    print(f"database: {make_url(url).database} (events={args.events:,}, customers={args.customers:,})", flush=True)
    app = build_app(url)
    with app.app_context():
        if not existed:
            from app.extensions import appbuilder
            from app.policy.sync import sync_roles

            sync_roles(appbuilder)
            db.session.commit()
            print("generating data:", flush=True)
            started = time.perf_counter()
            with db.engine.begin() as conn:
                conn.execute(text("SET LOCAL synchronous_commit = off"))
                conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
                generate(conn, args.customers, args.events, args.days)
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                step("VACUUM ANALYZE", lambda: conn.execute(text("VACUUM ANALYZE")))
            elapsed = time.perf_counter() - started
            print(f"  generated in {elapsed:.0f} s ({args.events / elapsed:,.0f} events/s)", flush=True)
        rows = db.session.scalar(text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'domain_events'"))
        print(f"  domain_events: about {rows:,} rows", flush=True)
    return app, url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--naive-events", type=int, default=200_000, help="Events the naive baseline reads.")
    parser.add_argument("--reuse", action="store_true", help="Keep the database of an earlier run (same --events).")
    args = parser.parse_args(argv)

    from app.extensions import db
    from app.models.base import utcnow
    from app.policy.scope import coach_customers
    from app.services.automation import dry_run, triggers
    from app.services.automation.conditions import compile_condition
    from app.services.automation.dry_run_counts import Frequency, Window, python_counts
    from app.services.automation.rules import RuleDraft

    app, _url = prepare(args)
    worst = 0.0
    with app.app_context():
        coach = db.session.scalar(text("SELECT md5('coach0')::uuid"))
        now = utcnow()
        print(f"\ndry run over {args.days} days, median of {args.runs} (target < {TARGET_S:.0f} s):")
        for label, fields in rules():
            draft = RuleDraft(name="Bench", actions=ACTIONS, **fields)
            samples, scoped = [], []
            report: dict[str, Any] = {}
            for _ in range(args.runs):
                started = time.perf_counter()
                report = dry_run.run(db.session, draft, days=args.days, now=now).as_dict()
                samples.append(time.perf_counter() - started)
                db.session.rollback()
            for _ in range(args.runs):
                started = time.perf_counter()
                dry_run.run(db.session, draft, days=args.days, now=now, customers=coach_customers(coach))
                scoped.append(time.perf_counter() - started)
                db.session.rollback()
            took = statistics.median(samples)
            worst = max(worst, took)
            print(f"  {label}")
            print(f"    {report['scanned']:>10,} events, {report['matched']:,} matched, {report['customers']:,} "
                  f"customers, {report['would_run']:,} would run, {len(report['sample'])} explained")  # fmt: skip
            print(f"    all customers: {took:6.2f} s ({report['scanned'] / took:>12,.0f} events/s)   "
                  f"one coach's scope: {statistics.median(scoped):6.2f} s")  # fmt: skip
            # The naive baseline: the newest events of the window, read and evaluated in Python, extrapolated.
            fields_of = triggers.condition_fields(draft.trigger_type, draft.trigger_event)
            condition = compile_condition(draft.condition, fields_of)
            share = min(1.0, args.naive_events / max(report["scanned"], 1))
            window = Window(draft.trigger_event, now - dt.timedelta(days=args.days * share), now)
            started = time.perf_counter()
            counted = python_counts(db.session, condition, window, Frequency(draft.frequency, draft.frequency_days))
            naive = time.perf_counter() - started
            db.session.rollback()
            rate = counted.scanned / naive if naive else 0.0
            whole = report["scanned"] / rate if rate else 0.0
            print(f"    naive Python: {counted.scanned:,} events in {naive:.2f} s = {rate:,.0f} events/s; the "
                  f"window would take {whole:,.0f} s ({whole / took:,.0f}x the dry run)")  # fmt: skip
    verdict = "OK" if worst < TARGET_S else "OVER TARGET"
    print(f"\nslowest dry run {worst:.2f} s (target < {TARGET_S:.0f} s): {verdict}")
    return 0 if worst < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
