"""Subscription renewals: 100,000 due subscriptions renewed by the set-based service, on PostgreSQL.

    python -m bench.renewals [--subscriptions 100000] [--naive 2000] [--batch 2000]

A fresh migrated database gets one customer per subscription (zones across the world), three
monthly products (EUR, GBP, USD) and ``--subscriptions`` ACTIVE subscriptions due today, on anchor
days 1..31, a tenth with a promotion for 3 periods. ``renewals.renew_due`` then renews them all in
batches of ``--batch`` with a commit per batch, as the daily job does: the invoice of the next
period (``ON CONFLICT DO NOTHING`` on the period key), the subscriptions moved on, promotions'
periods used, the outbox rows and the chained audit entries. Run again, it must renew nothing.
Target (issue 16): 100,000 in under 60 s.

Baseline in the same run, on ``--naive`` other due subscriptions: the per-row ORM loop (load the
subscription, ``invoices.issue_invoice``, move the period, flush; audited by the session hooks),
committed per 500.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from typing import Any

from bench.common import build_app, drop_database, fresh_database, step

TARGET_SECONDS = 60.0
ZONES = (
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "UTC",
    "Australia/Sydney",
    "Europe/Madrid",
)


def seed(n: int, today: dt.date) -> None:
    """Customers, profiles, products, a promotion and ``n`` due subscriptions, in a few INSERT ... SELECTs."""
    import sqlalchemy as sa

    from app.extensions import db

    zones = "ARRAY[" + ",".join(f"'{z}'" for z in ZONES) + "]"
    statements = [
        "INSERT INTO users (id, email, full_name, locale, status, legal_hold, created_at, updated_at) "
        "SELECT gen_random_uuid(), 'c' || g || '@bench.test', 'Customer ' || g, 'en', 'ACTIVE', false, now(), now() "
        "FROM generate_series(1, :n) g",
        f"INSERT INTO customer_profiles (user_id, timezone) SELECT id, ({zones})[1 + abs(hashtext(email)) % "
        f"{len(ZONES)}] FROM users",
        "INSERT INTO products (name, category, price, currency, interval_months, trial_days) VALUES "
        "('Coaching EUR', 'COACHING', 89.00, 'EUR', 1, 0), ('Coaching GBP', 'COACHING', 79.00, 'GBP', 1, 0), "
        "('Coaching USD', 'COACHING', 99.00, 'USD', 1, 0)",
        "INSERT INTO promotions (code, discount_type, value, start_date, usage_limit, times_redeemed, "
        "duration_periods) VALUES ('BENCH15', 'PERCENT', 15.00, :today - 400, NULL, 0, 3)",
        "INSERT INTO subscriptions (customer_id, product_id, status, start_date, renewal_date, current_period_start, "
        "current_period_end, billing_anchor_day, cancel_at_period_end, created_at) "
        "SELECT u.id, p.id, 'ACTIVE', :today - 31, :today, :today - 31, :today, "
        "1 + (row_number() OVER (ORDER BY u.email)) % 31, false, now() "
        "FROM users u JOIN products p ON p.id = (SELECT min(id) FROM products) + abs(hashtext(u.email || 'p')) % 3",
        "INSERT INTO promotion_redemptions (promotion_id, subscription_id, customer_id, redeemed_at, "
        "periods_remaining) SELECT (SELECT id FROM promotions), s.id, s.customer_id, now(), 3 FROM subscriptions s "
        "WHERE s.id % 10 = 0",
        "UPDATE promotions SET times_redeemed = (SELECT count(*) FROM promotion_redemptions)",
    ]
    conn = db.session.connection()
    for sql in statements:
        conn.execute(sa.text(sql), {"n": n, "today": today})
    db.session.commit()
    db.session.connection().execute(sa.text("ANALYZE"))
    db.session.commit()


def naive(ids: list[int], now: dt.datetime) -> float:
    """The per-row ORM loop a first version would write: seconds for ``ids``."""
    from app.extensions import db
    from app.models.commerce import Subscription
    from app.services.billing import periods
    from app.services.billing.invoices import issue_invoice

    start = time.perf_counter()
    for n, sub_id in enumerate(ids, start=1):
        sub = db.session.get(Subscription, sub_id)
        begin, end = periods.period_after(sub.renewal_date, sub.product.interval_months, sub.billing_anchor_day)
        issue_invoice(db.session, sub, begin, end, now=now)
        sub.current_period_start, sub.current_period_end, sub.renewal_date = begin, end, end
        db.session.flush()
        if n % 500 == 0:
            db.session.commit()
    db.session.commit()
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--naive", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args(argv)

    import sqlalchemy as sa

    from app.extensions import db
    from app.models.commerce import Invoice, Subscription
    from app.services.billing.renewals import renew_due

    now = dt.datetime.now(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    today = now.date()
    url = fresh_database("bench_renewals")
    app = step("migrate", lambda: build_app(url))
    try:
        with app.app_context():
            step("seed", lambda: seed(args.subscriptions + args.naive, today))
            sample = list(
                db.session.scalars(sa.select(Subscription.id).order_by(Subscription.id.desc()).limit(args.naive))
            )
            print(
                f"\n{args.subscriptions:,} due subscriptions (+{args.naive:,} for the baseline), batch {args.batch:,}"
            )
            t_naive = naive(sample, now)
            naive_rate = len(sample) / t_naive
            print(f"  baseline, ORM row by row     : {naive_rate:10,.0f} subscriptions/s")
            batches: list[Any] = []
            start = time.perf_counter()

            def commit(result: Any) -> None:
                db.session.commit()
                batches.append(time.perf_counter())

            result = renew_due(db.session, now, batch_size=args.batch, commit=commit)
            db.session.commit()
            elapsed = time.perf_counter() - start
            rate = result.renewed / elapsed
            verdict = "OK" if elapsed <= TARGET_SECONDS * args.subscriptions / 100_000 else "UNDER TARGET"
            print(
                f"  service, set-based batches   : {rate:10,.0f} subscriptions/s  x{rate / naive_rate:5.1f} faster;"
                f" {result.renewed:,} renewed, {result.invoices:,} invoices in {elapsed:.1f} s"
                f" (target 100,000 in {TARGET_SECONDS:.0f} s: {verdict})"
            )
            start = time.perf_counter()
            again = renew_due(db.session, now, batch_size=args.batch)
            db.session.commit()
            print(
                f"  run again (nothing due)      : {again.renewed} renewed, {again.invoices} invoices in"
                f" {time.perf_counter() - start:.2f} s"
            )
            total = db.session.scalar(sa.select(sa.func.count()).select_from(Invoice))
            print(f"  invoices now: {total:,} (one per subscription and period)")
    finally:
        if not args.keep:
            drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
