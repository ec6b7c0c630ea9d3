"""Capacity under concurrency on PostgreSQL: parallel bookings, each in its own transaction, never over-book.

Each thread books through the service and commits, as a request would. While it holds the session's
row lock (after ``book`` returns, before its commit) it notes its turn: the lock is what orders the
bookings, so the notes are the commit order, and the waitlist must follow it exactly.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import sqlalchemy as sa

from app.extensions import db
from app.models.base import utcnow
from app.models.identity import RoleCode
from app.models.scheduling import ParticipantRole, SessionParticipant, WaitlistEntry
from app.policy.scope import Actor
from app.services.scheduling import booking
from tests.support.booking_support import RULES, invariant_problems, make_session
from tests.support.plan_support import make_customer, make_user

CLIENTS = 100
SEATS = 20


def _run_parallel(app, work, n: int) -> tuple[list, list]:
    barrier = threading.Barrier(n)
    results: list = []
    errors: list = []

    def client(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                results.append(work(i))
                db.session.commit()
            except Exception as exc:  # reported by the test, never swallowed
                db.session.rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return results, errors


def test_100_parallel_bookings_on_20_seats(pg_app):
    with pg_app.app_context():
        desk = make_user("Desk", RoleCode.SUPPORT)
        db.session.commit()
        actor = Actor(desk.id, frozenset({"Support"}))
        customers = [make_customer(f"Racer {i}") for i in range(CLIENTS)]
        session_id = make_session(None, utcnow() + dt.timedelta(days=7), capacity=SEATS)
    turns: list = []

    def work(i: int):
        result = booking.book(db.session, actor, session_id, customers[i], rules=RULES)
        turns.append(customers[i])  # still under the session's row lock: this is the commit order
        return result.outcome

    outcomes, errors = _run_parallel(pg_app, work, CLIENTS)
    assert errors == []
    assert Counter(outcomes) == {"booked": SEATS, "waitlisted": CLIENTS - SEATS}
    with pg_app.app_context():
        roster_rows = sa.select(SessionParticipant).where(SessionParticipant.session_id == session_id)
        rows = list(db.session.scalars(roster_rows))
        assert len(rows) == CLIENTS and len({r.customer_id for r in rows}) == CLIENTS
        primary = {r.customer_id for r in rows if r.role == ParticipantRole.PRIMARY}
        assert len(primary) == SEATS
        assert primary == set(turns[:SEATS])
        queue = list(
            db.session.scalars(
                sa.select(WaitlistEntry.customer_id)
                .where(WaitlistEntry.session_id == session_id, WaitlistEntry.promoted_at.is_(None))
                .order_by(WaitlistEntry.joined_at, WaitlistEntry.id)
            )
        )
        assert queue == turns[SEATS:]
        assert [p.customer_id for p, _e in booking.roster(db.session, actor, session_id).waitlist] == turns[SEATS:]
        assert booking.seat_counts(db.session, [session_id]) == {session_id: (SEATS, CLIENTS - SEATS)}
        assert invariant_problems() == []


def test_one_customer_booked_in_parallel_gets_one_seat(pg_app):
    with pg_app.app_context():
        desk = make_user("Desk", RoleCode.SUPPORT)
        db.session.commit()
        actor = Actor(desk.id, frozenset({"Support"}))
        customer = make_customer("Eager")
        session_id = make_session(None, utcnow() + dt.timedelta(days=7), capacity=SEATS)

    def work(i: int):
        return booking.book(db.session, actor, session_id, customer, rules=RULES).outcome

    outcomes, errors = _run_parallel(pg_app, work, 10)
    assert errors == []
    assert Counter(outcomes) == {"booked": 1, "already_booked": 9}
    with pg_app.app_context():
        count = sa.select(sa.func.count()).select_from(SessionParticipant)
        assert db.session.scalar(count.where(SessionParticipant.session_id == session_id)) == 1
