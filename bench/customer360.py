"""Customer 360 page: p95 of the header and each tab for random customers, against a naive ORM version.

    python -m bench.customer360 [--customers 100000] [--events 10000000] [--samples 200] [--reuse]

A database gets ``--customers`` customers (profiles, a coach each, consents, a subscription with
monthly invoices and payments, an active plan with items over 120 days, sessions, a thread with
messages, tickets, badges, progress metrics, audit rows about their records) and ``--events``
engagement events over 365 days, all loaded set-based with ``generate_series``. Then, for
``--samples`` random customers, each part of the page is built by ``app.services.customer360``
(as Admin, and the header and plan tab as the customer's coach too) and by a naive version in the
same run: the ORM loading each entity with its joined relations, children per parent (N+1), with
no LIMIT, figures computed in Python. Target: every part's p95 under 300 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from bench.common import generated_app, scale_arguments, step

TARGET_MS = 300.0
COACH_EVERY = 1000  # customers per coach

DATA_SQL = [
    ("roles", "INSERT INTO roles (code, description) VALUES ('CUSTOMER', 'Customer'), ('COACH', 'Coach') "
              "ON CONFLICT DO NOTHING"),
    ("customers", "INSERT INTO users (id, email, full_name, locale, status, legal_hold, created_at, updated_at) "
     "SELECT md5('cust' || g)::uuid, 'c' || g || '@bench.test', 'Customer ' || g, 'en', 'ACTIVE', false, "
     "now() - interval '400 days', now() FROM generate_series(0, :customers - 1) g"),
    ("coaches", "INSERT INTO users (id, email, full_name, locale, status, legal_hold, created_at, updated_at) "
     "SELECT md5('coach' || g)::uuid, 'coach' || g || '@bench.test', 'Coach ' || g, 'en', 'ACTIVE', false, "
     "now(), now() FROM generate_series(0, :coaches - 1) g"),
    ("user roles", "INSERT INTO user_roles (user_id, role_id) SELECT md5('cust' || g)::uuid, "
     "(SELECT id FROM roles WHERE code = 'CUSTOMER') FROM generate_series(0, :customers - 1) g"),
    ("profiles", "INSERT INTO customer_profiles (user_id, timezone) SELECT md5('cust' || g)::uuid, "
     "(array['Europe/Madrid','America/New_York','UTC'])[1 + g % 3] FROM generate_series(0, :customers - 1) g"),
    ("assignments", "INSERT INTO coach_assignments (customer_id, coach_id, assigned_at, is_primary) "
     "SELECT md5('cust' || g)::uuid, md5('coach' || (g % :coaches))::uuid, now() - interval '300 days', true "
     "FROM generate_series(0, :customers - 1) g"),
    ("consents", "INSERT INTO consents (user_id, consent_type, granted_at, revoked_at) "
     "SELECT md5('cust' || g)::uuid, t, now() - interval '390 days', "
     "CASE WHEN t = 'marketing' AND g % 5 = 0 THEN now() - interval '30 days' END "
     "FROM generate_series(0, :customers - 1) g, unnest(array['terms','marketing','health_data']) t"),
    ("products", "INSERT INTO products (name, category, price, currency, interval_months, trial_days) "
     "SELECT 'Plan ' || g, 'MEMBERSHIP', 49.90, 'EUR', 1, 0 FROM generate_series(1, 3) g"),
    ("subscriptions", "INSERT INTO subscriptions (customer_id, product_id, status, start_date, renewal_date, "
     "cancel_at_period_end, created_at) SELECT md5('cust' || g)::uuid, (SELECT min(id) FROM products) + g % 3, "
     "CASE WHEN g % 20 = 0 THEN 'PAST_DUE' ELSE 'ACTIVE' END, current_date - 365, current_date + 10, false, "
     "now() - interval '365 days' FROM generate_series(0, :customers - 1) g"),
    ("invoices (12 a subscription)", "INSERT INTO invoices (subscription_id, amount, subtotal, currency, due_date, "
     "paid_at, status, external_reference, period_start, period_end) SELECT s.id, 49.90, 49.90, 'EUR', "
     "current_date - 365 + 30 * m, CASE WHEN m < 11 OR s.id % 20 <> 0 THEN now() - (365 - 30 * m) * interval "
     "'1 day' END, CASE WHEN m < 11 OR s.id % 20 <> 0 THEN 'PAID' ELSE 'OPEN' END, 'INV-' || s.id || '-' || m, "
     "current_date - 365 + 30 * m, current_date - 335 + 30 * m FROM subscriptions s, generate_series(0, 11) m"),
    ("payments", "INSERT INTO payments (invoice_id, provider, method, amount, currency, status, created_at) "
     "SELECT id, 'sandbox', 'CARD', amount, currency, 'SUCCEEDED', paid_at FROM invoices WHERE status = 'PAID'"),
    ("programs", "INSERT INTO programs (title, level, visibility, weeks, version, created_at, updated_at) "
     "SELECT 'Program ' || g, 'BEGINNER', 'PUBLIC', 12, 1, now(), now() FROM generate_series(1, 20) g"),
    ("exercises", "INSERT INTO exercises (name, category, difficulty) SELECT 'Exercise ' || g, 'strength', "
     "'BEGINNER' FROM generate_series(1, 200) g"),
    ("plans", "INSERT INTO customer_plans (customer_id, program_id, start_date, status, start_week, created_at, "
     "updated_at) SELECT md5('cust' || g)::uuid, (SELECT min(id) FROM programs) + g % 20, current_date - 90, "
     "'ACTIVE', 1, now(), now() FROM generate_series(0, :customers - 1) g"),
    ("plan items (120 days, one a day)", "INSERT INTO plan_items (plan_id, scheduled_date, item_type, item_id, "
     "completion_state, completion_at, order_index) SELECT p.id, p.start_date + d, 'EXERCISE', "
     "(SELECT min(id) FROM exercises) + (p.id + d) % 200, CASE WHEN d >= 90 THEN 'PENDING' WHEN (p.id + d) % 3 = 0 "
     "THEN 'MISSED' ELSE 'COMPLETED' END, CASE WHEN d < 90 AND (p.id + d) % 3 <> 0 THEN now() - (90 - d) * "
     "interval '1 day' END, 0 FROM customer_plans p, generate_series(0, 119) d"),
    ("sessions", "INSERT INTO scheduled_sessions (session_type, start_time, end_time, timezone, capacity, status, "
     "coach_id, title, version) SELECT 'CLASS', date_trunc('hour', now()) + (g - :sessions / 2) * interval '3 hours', "
     "date_trunc('hour', now()) + (g - :sessions / 2) * interval '3 hours' + interval '1 hour', 'UTC', 30, "
     "'SCHEDULED', md5('coach' || (g % :coaches))::uuid, 'Class ' || g, 1 FROM generate_series(0, :sessions - 1) g"),
    ("participants (8 a customer)", "INSERT INTO session_participants (session_id, customer_id, role, "
     "attendance_status, booked_at) SELECT DISTINCT ON (sid, cust) sid, cust, 'PRIMARY', 'REGISTERED', now() FROM ("
     "SELECT (SELECT min(id) FROM scheduled_sessions) + (g * 7 + k * 997) % :sessions AS sid, "
     "md5('cust' || g)::uuid AS cust FROM generate_series(0, :customers - 1) g, generate_series(0, 7) k) x"),
    ("threads", "INSERT INTO threads (subject, last_message_at, context_type, customer_id, coach_id, created_at) "
     "SELECT 'Check-in ' || g, now() - (g % 30) * interval '1 day', 'CUSTOMER_COACH', md5('cust' || g)::uuid, "
     "md5('coach' || (g % :coaches))::uuid, now() - interval '200 days' FROM generate_series(0, :customers - 1) g"),
    ("messages (6 a thread)", "INSERT INTO messages (thread_id, sender_id, body, sent_at) SELECT t.id, "
     "CASE WHEN k % 2 = 0 THEN t.customer_id ELSE t.coach_id END, 'Message ' || k || ' about the plan', "
     "now() - (200 - k * 30) * interval '1 day' FROM threads t, generate_series(0, 5) k"),
    ("tickets", "INSERT INTO support_tickets (requester_id, subject, priority, status, created_at) "
     "SELECT md5('cust' || (g % :customers))::uuid, 'Ticket ' || g, "
     "(array['LOW','NORMAL','HIGH','URGENT'])[1 + g % 4], "
     "CASE WHEN g % 3 = 0 THEN 'OPEN' ELSE 'CLOSED' END, now() - (g % 300) * interval '1 day' "
     "FROM generate_series(0, :customers / 2 - 1) g"),
    ("badges", "INSERT INTO badges (code, name, criteria_json) SELECT 'B' || g, 'Badge ' || g, "
     "'{\"kind\": \"MANUAL\"}'::jsonb FROM generate_series(1, 10) g"),
    ("customer badges", "INSERT INTO customer_badges (customer_id, badge_id, awarded_at) "
     "SELECT md5('cust' || g)::uuid, "
     "(SELECT min(id) FROM badges) + k, now() - k * interval '20 days' FROM generate_series(0, :customers - 1) g, "
     "generate_series(0, 2) k"),
    ("progress metrics (30 a customer)", "INSERT INTO progress_metrics (customer_id, metric_type, value, unit, "
     "recorded_at, source) SELECT md5('cust' || g)::uuid, CASE WHEN k % 2 = 0 THEN 'weight' ELSE 'steps' END, "
     "CASE WHEN k % 2 = 0 THEN 80 - k * 0.1 ELSE 8000 + (g + k) % 4000 END, CASE WHEN k % 2 = 0 THEN 'kg' ELSE "
     "'steps' END, now() - (k * 6) * interval '1 day', 'MANUAL' FROM generate_series(0, :customers - 1) g, "
     "generate_series(0, 29) k"),
]  # fmt: skip


def generate(conn: Any, customers: int, events: int) -> None:
    p = {"customers": customers, "coaches": max(1, customers // COACH_EVERY), "sessions": max(100, customers // 10)}
    conn.execute(text("SELECT setseed(0.36)"))
    for label, sql in DATA_SQL:
        step(label, lambda sql=sql: conn.execute(text(sql), p))
    # Audit rows about the customers' records (the hooks would have written these as the rows were made),
    # plus as many about other tables, chained hashes left out (the bench reads, it does not verify).
    audit = (
        "INSERT INTO audit_logs (actor_id, action, resource_type, resource_id, metadata_json, created_at) "
        "SELECT NULL, 'create', '{table}', {key}, '{{}}'::jsonb, now() - interval '1 day' FROM {table}"
    )
    for table, key in (("users", "id::text"), ("customer_profiles", "user_id::text"), ("consents", "id::text"),
                       ("subscriptions", "id::text"), ("customer_plans", "id::text"), ("threads", "id::text"),
                       ("support_tickets", "id::text"), ("invoices", "id::text")):  # fmt: skip
        step(f"audit rows: {table}", lambda t=table, k=key: conn.execute(text(audit.format(table=t, key=k))))
    step("audit rows: profile updates", lambda: conn.execute(text(
        "INSERT INTO audit_logs (action, resource_type, resource_id, metadata_json, created_at) "
        "SELECT 'update', 'customer_profiles', user_id::text, '{\"fields\": [\"timezone\"]}'::jsonb, now() "
        "FROM customer_profiles, generate_series(1, 3)")))  # fmt: skip
    indexes = conn.execute(
        text("SELECT indexname, indexdef FROM pg_indexes "
             "WHERE tablename = 'engagement_events' AND indexname NOT LIKE 'pk_%'")
    ).all()  # fmt: skip
    for name, _ in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    step(
        f"{events:,} engagement events",
        lambda: conn.execute(
            text(
                "INSERT INTO engagement_events (customer_id, event_type, payload_json, occurred_at) "
                "SELECT md5('cust' || floor(random() * :customers)::int)::uuid, "
                "(array['app_open','app_open','workout_completed','habit_checked'])[1 + g % 4], '{}'::jsonb, "
                "now() - random() * interval '365 days' FROM generate_series(0::bigint, :events - 1) g"
            ),
            {"customers": customers, "events": events},
        ),
    )
    for _, definition in indexes:
        step(definition.split(" ON ")[0].replace("CREATE ", "").lower(), lambda d=definition: conn.execute(text(d)))


def naive_parts() -> dict[str, Callable[[Any, dt.datetime], Any]]:
    """The same figures the way a first version would get them: ORM entities, children per parent, no LIMIT."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models.analytics import EngagementEvent, ProgressMetric
    from app.models.commerce import Invoice, Payment, Subscription
    from app.models.compliance import AuditLog
    from app.models.customers import CoachAssignment, CustomerProfile
    from app.models.engagement import Message, SupportTicket, Thread
    from app.models.identity import Consent, PlatformUser
    from app.models.scheduling import SessionParticipant
    from app.models.training import CompletionState, CustomerBadge, CustomerPlan, PlanItem

    s = db.session

    def rows(model: Any, *where: Any) -> list[Any]:
        return list(s.scalars(sa.select(model).where(*where)).unique())

    def header(cid: Any, now: dt.datetime) -> Any:
        user = s.get(PlatformUser, cid)
        profile = s.get(CustomerProfile, cid)
        coaches = [a.coach.full_name for a in rows(CoachAssignment, CoachAssignment.customer_id == cid)]
        subs = rows(Subscription, Subscription.customer_id == cid)
        past_due = [i for sub in subs for i in rows(Invoice, Invoice.subscription_id == sub.id)
                    if i.status.value == "OPEN" and i.due_date < now.date()]  # fmt: skip
        last = max((e.occurred_at for e in rows(EngagementEvent, EngagementEvent.customer_id == cid)), default=None)
        plan_rate = plan(cid, now)
        urgent = [t for t in rows(SupportTicket, SupportTicket.requester_id == cid) if t.priority.value == "URGENT"]
        return user, profile, coaches, past_due, last, plan_rate, urgent

    def plan(cid: Any, now: dt.datetime) -> Any:
        today = now.date()
        result = {}
        items = [
            i
            for p in rows(CustomerPlan, CustomerPlan.customer_id == cid)
            for i in rows(PlanItem, PlanItem.plan_id == p.id)
        ]
        for days in (7, 30, 90):
            due = [i for i in items if today - dt.timedelta(days=days) <= i.scheduled_date < today
                   and i.completion_state != CompletionState.SKIPPED]  # fmt: skip
            result[days] = (sum(i.completion_state == CompletionState.COMPLETED for i in due), len(due))
        return result, sorted(items, key=lambda i: i.scheduled_date)

    def sessions(cid: Any, now: dt.datetime) -> Any:
        booked = rows(SessionParticipant, SessionParticipant.customer_id == cid)
        return sorted(booked, key=lambda p: p.session.start_time)

    def billing(cid: Any, now: dt.datetime) -> Any:
        subs = rows(Subscription, Subscription.customer_id == cid)
        invoices = [i for sub in subs for i in rows(Invoice, Invoice.subscription_id == sub.id)]
        return subs, invoices, [p for i in invoices for p in rows(Payment, Payment.invoice_id == i.id)]

    def messages(cid: Any, now: dt.datetime) -> Any:
        threads = rows(Thread, Thread.customer_id == cid)
        return threads, [m for t in threads for m in rows(Message, Message.thread_id == t.id)]

    def audit(cid: Any, now: dt.datetime) -> Any:
        keys = {("users", str(cid)), ("customer_profiles", str(cid))}
        for table, model, owner in (("consents", Consent, Consent.user_id),
                                    ("subscriptions", Subscription, Subscription.customer_id),
                                    ("customer_plans", CustomerPlan, CustomerPlan.customer_id),
                                    ("threads", Thread, Thread.customer_id),
                                    ("support_tickets", SupportTicket, SupportTicket.requester_id)):  # fmt: skip
            keys |= {(table, str(r.id)) for r in rows(model, owner == cid)}
        found = rows(AuditLog, AuditLog.resource_id.in_([k for _, k in keys]))
        return sorted((a for a in found if (a.resource_type, a.resource_id) in keys), key=lambda a: -a.id)

    return {
        "header": header,
        "plan": plan,
        "sessions": sessions,
        "billing": billing,
        "messages": messages,
        "tickets": lambda cid, now: rows(SupportTicket, SupportTicket.requester_id == cid),
        "consents": lambda cid, now: rows(Consent, Consent.user_id == cid),
        "badges": lambda cid, now: rows(CustomerBadge, CustomerBadge.customer_id == cid),
        "metrics": lambda cid, now: rows(ProgressMetric, ProgressMetric.customer_id == cid),
        "audit": audit,
    }


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) >= 20 else max(samples)


def measure(fn: Callable[[Any], Any], ids: list[Any]) -> list[float]:
    from app.extensions import db

    took = []
    for cid in ids:
        start = time.perf_counter()
        fn(cid)
        took.append((time.perf_counter() - start) * 1000)
        db.session.rollback()  # a fresh transaction and an empty identity map per request, as the page gets
        db.session.expunge_all()
    return took


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scale_arguments(parser)
    parser.add_argument("--samples", type=int, default=200, help="random customers measured per part")
    args = parser.parse_args(argv)

    import sqlalchemy as sa

    from app.extensions import db
    from app.models.identity import PlatformUser
    from app.policy.roles import ADMIN, ALL_RESOURCES, COACH, ROLE_GRANTS
    from app.policy.scope import Actor, coach_customers, customer_coaches
    from app.services import customer360

    name = f"bench_c360_{args.customers}_{args.events}"
    with generated_app(
        name,
        args.reuse,
        lambda conn: generate(conn, args.customers, args.events),
        f"customers={args.customers:,}, events={args.events:,}",
    ):
        rng = random.Random(17)
        ids = [uuid for (uuid,) in db.session.execute(sa.select(PlatformUser.id).where(
            PlatformUser.email.like("c%@bench.test"), ~PlatformUser.email.like("coach%")))]  # fmt: skip
        sample = rng.sample(ids, min(args.samples, len(ids)))
        admin = Actor(None, frozenset({ADMIN}))
        every = frozenset(ALL_RESOURCES)
        coach_id = db.session.scalar(customer_coaches(sample[0]).limit(1))
        coach = Actor(coach_id, frozenset({COACH})) if coach_id else None
        coach_reads = frozenset(r for r, g in ROLE_GRANTS[COACH].items() if "can_read" in g)
        now = dt.datetime.now(dt.UTC)

        def service(part: str, actor: Actor, readable: frozenset[str]) -> Callable[[Any], Any]:
            if part == "header":
                return lambda cid: customer360.header(
                    actor, db.session.get(PlatformUser, cid), readable, now=now
                )  # fmt: skip
            return lambda cid: customer360.tab_data(part, actor, cid, readable, now=now)

        naive = naive_parts()
        parts = ["header", *customer360.visible_tabs(every)]
        print(f"\n{len(sample)} random customers of {args.customers:,}, {args.events:,} events; ms per part")
        print(f"  {'part':<18}{'service p50':>12}{'p95':>9}{'naive p50':>12}{'p95':>9}{'p95 ratio':>11}  target")
        worst = 0.0
        for part in parts:
            mine = measure(service(part, admin, every), sample)
            base = measure(lambda cid, f=naive[part]: f(cid, now), sample)
            worst = max(worst, p95(mine))
            verdict = "OK" if p95(mine) < TARGET_MS else "OVER"
            print(f"  {part:<18}{statistics.median(mine):>12.1f}{p95(mine):>9.1f}{statistics.median(base):>12.1f}"
                  f"{p95(base):>9.1f}{p95(base) / p95(mine):>10.1f}x  {verdict}", flush=True)  # fmt: skip
        if coach is not None:
            mine_ids = list(db.session.scalars(coach_customers(coach.user_id)))[: len(sample)]
            for part in ("header", "plan", "messages"):
                took = measure(service(part, coach, coach_reads), mine_ids)
                worst = max(worst, p95(took))
                print(f"  {part + ' (coach)':<18}{statistics.median(took):>12.1f}{p95(took):>9.1f}")
        print(f"  worst p95: {worst:.1f} ms (target < {TARGET_MS:.0f} ms: {'OK' if worst < TARGET_MS else 'OVER'})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
