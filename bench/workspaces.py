"""Role workspaces (each role's home page): p95 of every role's workspace at scale, against naive versions.

    python -m bench.workspaces [--customers 100000] [--events 10000000] [--samples 50] [--reuse]

The data is the customer 360 benchmark's (``bench.customer360.generate``: customers with a coach each,
a thousand per coach, plans with daily items, sessions, threads with messages, tickets, subscriptions
with invoices and payments, ``--events`` engagement events), in the same database, so ``--reuse``
shares it with that benchmark. Each workspace is built by ``app.services.workspaces`` as the home page
builds it: the Coach's for ``--samples`` coaches, the others ``--samples`` times. The Coach's and
Support's are measured beside a naive version in the same run: the ORM loading each of the coach's
customers and asking per customer (missed items, last activity, unread messages), and Support loading
every open ticket and failed payment and sorting in Python. Target: every workspace's p95 under 300 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import zoneinfo
from collections.abc import Callable
from typing import Any

from bench.common import generated_app, scale_arguments
from bench.customer360 import generate, measure, p95

TARGET_MS = 300.0
INACTIVE_DAYS = 7
NAIVE_RUNS = 5  # the naive versions take seconds each at scale


def naive_coach(coach_id: Any, now: dt.datetime) -> Any:
    """Customers needing attention as a first version would find them: each customer asked in turn."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models.analytics import EngagementEvent
    from app.models.customers import CoachAssignment
    from app.models.engagement import Message, Thread
    from app.models.training import CompletionState, CustomerPlan, PlanItem

    session = db.session
    today = now.date()
    since = now - dt.timedelta(days=INACTIVE_DAYS)
    found = []
    for assignment in session.scalars(sa.select(CoachAssignment).where(CoachAssignment.coach_id == coach_id)):
        customer = assignment.customer
        missed = 0
        for plan in session.scalars(sa.select(CustomerPlan).where(CustomerPlan.customer_id == customer.id)):
            for item in session.scalars(
                sa.select(PlanItem).where(
                    PlanItem.plan_id == plan.id, PlanItem.scheduled_date >= today - dt.timedelta(days=7)
                )
            ):
                if item.scheduled_date < today and item.completion_state in (
                    CompletionState.MISSED,
                    CompletionState.PENDING,
                ):
                    missed += 1
        last = session.scalar(
            sa.select(EngagementEvent.occurred_at)
            .where(EngagementEvent.customer_id == customer.id)
            .order_by(EngagementEvent.occurred_at.desc())
            .limit(1)
        )
        unread = 0
        for thread in session.scalars(
            sa.select(Thread).where(Thread.customer_id == customer.id, Thread.coach_id == coach_id)
        ):
            unread += sum(
                1
                for m in session.scalars(sa.select(Message).where(Message.thread_id == thread.id))
                if m.read_at is None and m.sender_id == customer.id
            )
        if missed or unread or last is None or last < since:
            found.append((customer.full_name, missed, unread))
    return sorted(found, key=lambda f: (-(f[2] > 0), -f[1], f[0]))[:15]


def naive_support(now: dt.datetime) -> Any:
    """Every open ticket and failed payment loaded, sorted and cut in Python."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models.commerce import Payment, PaymentStatus
    from app.models.engagement import SupportTicket, TicketStatus

    session = db.session
    tickets = list(session.scalars(sa.select(SupportTicket)))
    open_ones = [t for t in tickets if t.status in (TicketStatus.OPEN, TicketStatus.PENDING)]
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    open_ones.sort(key=lambda t: (t.sla_due_at or far, t.id))
    late = sum(1 for t in open_ones if t.sla_due_at is not None and t.sla_due_at < now)
    failed = [p for p in session.scalars(sa.select(Payment)) if p.status == PaymentStatus.FAILED]
    failed = [p for p in failed if p.created_at >= now - dt.timedelta(days=14)]
    failed.sort(key=lambda p: p.created_at, reverse=True)
    return open_ones[:10], len(open_ones), late, failed[:10]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scale_arguments(parser)
    parser.add_argument("--samples", type=int, default=50, help="coaches measured; runs of the other workspaces")
    args = parser.parse_args(argv)

    import sqlalchemy as sa

    from app.extensions import db
    from app.models.identity import PlatformUser
    from app.services.workspaces import admin as admin_ws
    from app.services.workspaces import coach as coach_ws
    from app.services.workspaces import compliance as compliance_ws
    from app.services.workspaces import manager as manager_ws
    from app.services.workspaces import support as support_ws

    with generated_app(
        f"bench_c360_{args.customers}_{args.events}",  # the customer 360 benchmark's data
        args.reuse,
        lambda conn: generate(conn, args.customers, args.events),
        f"customers={args.customers:,}, events={args.events:,}",
    ):
        rng = random.Random(17)
        coaches = list(db.session.scalars(sa.select(PlatformUser.id).where(PlatformUser.email.like("coach%"))))
        sample = rng.sample(coaches, min(args.samples, len(coaches)))
        runs = list(range(args.samples))
        now = dt.datetime.now(dt.UTC)
        utc = zoneinfo.ZoneInfo("UTC")

        def once(build: Callable[[], Any]) -> Callable[[Any], Any]:
            return lambda _run: build()

        # (workspace, the service per id, its ids, the naive version per id, its ids): measured and printed in turn.
        cases: list[tuple[str, Callable[[Any], Any], list[Any], Callable[[Any], Any] | None, list[Any]]] = [
            (
                "Coach",
                lambda cid: coach_ws.build(db.session, cid, now, utc, INACTIVE_DAYS),
                sample,
                lambda cid: naive_coach(cid, now),
                sample[:NAIVE_RUNS],
            ),
            (
                "Support",
                once(lambda: support_ws.build(db.session, now)),
                runs,
                once(lambda: naive_support(now)),
                runs[:NAIVE_RUNS],
            ),
            ("Manager", once(lambda: manager_ws.build(db.session, now.date())), runs, None, []),
            ("Compliance", once(lambda: compliance_ws.build(db.session, now, "0 3 * * *")), runs, None, []),
            ("Admin", once(lambda: admin_ws.build(db.session, now)), runs, None, []),
        ]
        print(f"\n{len(sample)} coaches of {len(coaches):,}, {args.customers:,} customers; ms per workspace")
        head = f"{'service p50':>12}{'p95':>9}{'naive p50':>12}{'p95':>9}{'p95 ratio':>11}"
        print(f"  {'workspace':<12}{head}  target", flush=True)
        worst = 0.0
        for role, service, ids, baseline, baseline_ids in cases:
            mine = measure(service, ids)
            base = measure(baseline, baseline_ids) if baseline else None
            worst = max(worst, p95(mine))
            verdict = "OK" if p95(mine) < TARGET_MS else "OVER"
            naive = (
                f"{statistics.median(base):>12.1f}{p95(base):>9.1f}{p95(base) / p95(mine):>10.1f}x"
                if base
                else f"{'':>12}{'':>9}{'':>11}"
            )
            print(f"  {role:<12}{statistics.median(mine):>12.1f}{p95(mine):>9.1f}{naive}  {verdict}", flush=True)
        print(f"  worst p95: {worst:.1f} ms (target < {TARGET_MS:.0f} ms: {'OK' if worst < TARGET_MS else 'OVER'})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
