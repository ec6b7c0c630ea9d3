"""Badge evaluation: every badge's criteria for every customer over the engagement events, on PostgreSQL.

    python -m bench.badges [--customers 100000] [--events 10000000] [--sample 300] [--reuse]

A database gets ``--customers`` customers (profiles in three zones) and ``--events`` engagement
events over 365 days (app opens, workouts, habit ticks; loaded with ``generate_series``, indexes
rebuilt after). Then ``awards.badges.evaluate_badges`` evaluates six badges that read the events
(counts with and without a window, streaks of days in the customer's zone with and without a
window) for every customer at once, inserting the awards, their ``badge.awarded`` events and
the audit rows, and commits; then once more (nothing new to award). Target (DESIGN.md): under 60 s.

Baseline in the same run, on ``--sample`` customers: a per-customer loop (read the customer's
events, compute each badge in Python with the customer's zone, add each award as an ORM row with
``events.emit``), extrapolated to all customers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bench.common import generated_app, scale_arguments, step

TARGET = 60.0
BADGES = [
    ("WORKOUTS_25_90D", {"kind": "COMPLETIONS", "threshold": 25, "window_days": 90, "event_type": "workout_completed"}),
    ("OPENS_100", {"kind": "COMPLETIONS", "threshold": 100, "event_type": "app_open"}),
    ("WORKOUTS_50", {"kind": "COMPLETIONS", "threshold": 50, "event_type": "workout_completed"}),
    ("OPEN_STREAK_5", {"kind": "STREAK", "threshold": 5, "event_type": "app_open"}),
    ("OPEN_STREAK_3_7D", {"kind": "STREAK", "threshold": 3, "window_days": 7, "event_type": "app_open"}),
    ("HABIT_STREAK_3", {"kind": "STREAK", "threshold": 3, "event_type": "habit_checked"}),
]  # fmt: skip


def generate(conn: Any, customers: int, events: int) -> None:
    p = {"customers": customers, "events": events}

    def run(sql: str, label: str | None = None) -> None:
        fn = lambda: conn.execute(text(sql), p)  # noqa: E731
        step(label, fn) if label else fn()

    run("SELECT setseed(0.16)")
    run("INSERT INTO roles (code, description) VALUES ('CUSTOMER', 'Customer') ON CONFLICT DO NOTHING")
    run(
        "INSERT INTO users (id, email, full_name, locale, status, legal_hold, created_at, updated_at) "
        "SELECT md5('cust' || g)::uuid, 'c' || g || '@bench.test', 'Customer ' || g, 'en', 'ACTIVE', false, "
        "now() - interval '380 days', now() FROM generate_series(0, :customers - 1) g",
        "customers",
    )
    run(
        "INSERT INTO user_roles (user_id, role_id) SELECT md5('cust' || g)::uuid, "
        "(SELECT id FROM roles WHERE code = 'CUSTOMER') FROM generate_series(0, :customers - 1) g"
    )
    run(
        "INSERT INTO customer_profiles (user_id, timezone) SELECT md5('cust' || g)::uuid, "
        "(array['Europe/Madrid','America/New_York','UTC'])[1 + g % 3] FROM generate_series(0, :customers - 1) g"
    )
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
                "(array['app_open','app_open','app_open','app_open','app_open','workout_completed',"
                "'workout_completed','workout_completed','habit_checked','habit_checked'])[1 + g % 10], "
                "'{}'::jsonb, now() - random() * interval '365 days' FROM generate_series(0::bigint, :events - 1) g"
            ),
            p,
        ),
    )
    for _, definition in indexes:
        step(definition.split(" ON ")[0].replace("CREATE ", "").lower(), lambda d=definition: conn.execute(text(d)))


def _streak(days: list[int], need: int, after: int | None) -> bool:
    run, last = 0, None
    for day in days:
        run = run + 1 if last is not None and day == last + 1 else 1
        last = day
        if run >= need and (after is None or day > after):
            return True
    return False


def naive(sample: list[Any], now: dt.datetime) -> tuple[float, int]:
    """Per customer: read their events, decide each badge in Python, add each award through the ORM."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models.analytics import EngagementEvent
    from app.models.training import Badge, CustomerBadge
    from app.services import events

    badges = {b.code: b for b in db.session.scalars(sa.select(Badge))}
    awarded = 0
    start = time.perf_counter()
    for customer_id, zone in sample:
        tz = ZoneInfo(zone)
        held = set(
            db.session.scalars(sa.select(CustomerBadge.badge_id).where(CustomerBadge.customer_id == customer_id))
        )
        rows = db.session.execute(
            sa.select(EngagementEvent.event_type, EngagementEvent.occurred_at).where(
                EngagementEvent.customer_id == customer_id, EngagementEvent.occurred_at <= now
            )
        ).all()
        today = (now.astimezone(tz).date() - dt.date(1970, 1, 1)).days
        for code, crit in BADGES:
            badge = badges[code]
            if badge.id in held:
                continue
            window = crit.get("window_days")
            mine = [t for kind, t in rows if kind == crit["event_type"]]
            if crit["kind"] == "COMPLETIONS":
                since = now - dt.timedelta(days=window) if window else None
                met = sum(1 for t in mine if since is None or t > since) >= crit["threshold"]
            else:
                days = sorted({(t.astimezone(tz).date() - dt.date(1970, 1, 1)).days for t in mine})
                met = _streak(days, crit["threshold"], today - window if window else None)
            if met:
                award = CustomerBadge(customer_id=customer_id, badge_id=badge.id, awarded_at=now)
                db.session.add(award)
                db.session.flush()
                events.emit(db.session, events.BADGE_AWARDED, customer_id=customer_id, customer_badge_id=award.id,
                            badge_id=badge.id, badge_code=badge.code)  # fmt: skip
                awarded += 1
        db.session.commit()
    return time.perf_counter() - start, awarded


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scale_arguments(parser)
    parser.add_argument("--sample", type=int, default=300, help="customers in the per-customer baseline")
    args = parser.parse_args(argv)

    import sqlalchemy as sa

    from app.extensions import db
    from app.models.customers import CustomerProfile
    from app.models.training import Badge, CustomerBadge
    from app.services.awards.badges import evaluate_badges

    with generated_app(
        f"bench_badges_{args.customers}_{args.events}",
        args.reuse,
        lambda conn: generate(conn, args.customers, args.events),
        f"customers={args.customers:,}, events={args.events:,}",
    ):
        # Each run starts from no badges at all.
        db.session.execute(sa.delete(CustomerBadge))
        db.session.execute(sa.delete(Badge))
        db.session.execute(text("DELETE FROM domain_events WHERE event_type = 'badge.awarded'"))
        db.session.add_all(Badge(code=code, name=code.title(), criteria_json=crit) for code, crit in BADGES)
        db.session.commit()
        now = dt.datetime.now(dt.UTC)
        sample = db.session.execute(
            sa.select(CustomerProfile.user_id, CustomerProfile.timezone).order_by(CustomerProfile.user_id)
            .limit(args.sample)
        ).all()  # fmt: skip
        t_naive, naive_awards = naive(sample, now)
        per_customer = t_naive / max(1, len(sample))
        projected = per_customer * args.customers
        print(f"\n{len(BADGES)} badges, {args.customers:,} customers, {args.events:,} events")
        print(f"  baseline, per customer (sample of {len(sample)}): {per_customer * 1000:.1f} ms per customer, "
              f"{naive_awards} awards; projected to all: {projected:,.0f} s")  # fmt: skip
        db.session.execute(sa.delete(CustomerBadge))
        db.session.execute(text("DELETE FROM domain_events WHERE event_type = 'badge.awarded'"))
        db.session.commit()
        start = time.perf_counter()
        marks: list[float] = [start]

        def committed(done: int, total: int) -> None:
            db.session.commit()
            marks.append(time.perf_counter())

        result = evaluate_badges(db.session, as_of=now, after_badge=committed)
        db.session.commit()
        took = time.perf_counter() - start
        each = ", ".join(f"{code} {b - a:.1f} s" for (code, _c), a, b in zip(BADGES, marks, marks[1:], strict=False))
        print(f"  per badge: {each}")
        verdict = "OK" if took < TARGET else "OVER TARGET"
        print(f"  service, every customer at once: {took:.1f} s, {result.awarded:,} awards {result.per_badge}")
        print(f"    x{projected / took:.0f} faster than the baseline  (target < {TARGET:.0f} s: {verdict})")
        start = time.perf_counter()
        again = evaluate_badges(db.session, as_of=now)
        db.session.commit()
        print(f"  service, again (nothing new): {time.perf_counter() - start:.1f} s, {again.awarded} awards")
        sample_ids = [c for c, _z in sample]
        both = db.session.scalar(
            sa.select(sa.func.count()).select_from(CustomerBadge).where(CustomerBadge.customer_id.in_(sample_ids))
        )
        print(f"  agreement on the sample: service {both} awards, baseline {naive_awards}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
