"""Benchmark: bookings per second from 8 concurrent clients through the booking engine (``python -m bench.bookings``).

Runs on an embedded PostgreSQL server (or ``BENCH_DATABASE_URL``) in a fresh migrated database, with
the audit chain on (every booking writes its chained audit rows and its outbox event, as in
production). Target: at least 300 bookings/s from 8 clients. Each client is a process (forked, its
own connection; ``BENCH_THREADS=1`` runs them as threads of one process instead), booking one
(session, customer) pair per transaction and committing.

Baseline, measured in the same run on a second set of sessions: a naive check-then-insert booking
(count the seats, then insert, no row lock), audited the same way. It is what the engine must not
be: its over-booked seats are counted and printed. The engine's run must over-book none.
"""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing
import os
import random
import threading
import time
import uuid
from typing import Any

import sqlalchemy as sa

from bench.common import build_app, drop_database, fresh_database

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
SESSIONS = int(os.environ.get("BENCH_SESSIONS", "40"))
CAPACITY = int(os.environ.get("BENCH_CAPACITY", "20"))
PER_SESSION = int(os.environ.get("BENCH_PER_SESSION", "30"))  # bookings aimed at each session (> capacity)
THREADS = os.environ.get("BENCH_THREADS", "") not in ("", "0")  # clients as threads, not processes
TARGET = 300.0


def _seed(n_customers: int) -> dict[str, Any]:
    from app.extensions import db
    from app.models.base import utcnow
    from app.models.identity import PlatformUser, RoleCode, UserRole
    from app.models.scheduling import ScheduledSession, SessionType
    from app.policy.scope import Actor
    from app.services.accounts import ensure_platform_role

    customer_role = ensure_platform_role(RoleCode.CUSTOMER).id
    desk = PlatformUser(email="desk@bench.test", full_name="Front Desk")
    db.session.add(desk)
    customers = [PlatformUser(email=f"c{i}@bench.test", full_name=f"Customer {i}") for i in range(n_customers)]
    db.session.add_all(customers)
    db.session.flush()
    db.session.add(UserRole(user_id=desk.id, role_id=ensure_platform_role(RoleCode.SUPPORT).id))
    db.session.add_all(UserRole(user_id=c.id, role_id=customer_role) for c in customers)
    base = utcnow() + dt.timedelta(days=30)
    sets = []
    for run in range(2):  # one set of sessions for the engine, one for the naive baseline
        sessions = [
            ScheduledSession(
                session_type=SessionType.CLASS,
                start_time=base + dt.timedelta(hours=2 * (run * SESSIONS + k)),
                end_time=base + dt.timedelta(hours=2 * (run * SESSIONS + k), minutes=60),
                capacity=CAPACITY,
                title=f"Bench class {run}-{k}",
            )
            for k in range(SESSIONS)
        ]
        db.session.add_all(sessions)
        db.session.flush()
        sets.append([s.id for s in sessions])
    db.session.commit()
    return {
        "actor": Actor(desk.id, frozenset({"Support"})),
        "customers": [c.id for c in customers],
        "engine_sessions": sets[0],
        "naive_sessions": sets[1],
    }


def _work(sessions: list[int], customers: list[uuid.UUID], seed: int) -> list[tuple[int, uuid.UUID]]:
    """PER_SESSION distinct customers per session, interleaved so clients collide on the same sessions."""
    rng = random.Random(seed)
    pairs = [(sid, cid) for sid in sessions for cid in rng.sample(customers, PER_SESSION)]
    rng.shuffle(pairs)
    return pairs


def _naive_book(db: Any, session_id: int, customer_id: uuid.UUID) -> None:
    """Check then insert, without the session's lock: the race the engine closes."""
    import sqlalchemy as sa

    from app.models.base import utcnow
    from app.models.scheduling import ParticipantRole, ScheduledSession, SessionParticipant, WaitlistEntry
    from app.services.scheduling.rules import holds_seat

    session = db.get(ScheduledSession, session_id)
    held = db.scalar(
        sa.select(sa.func.count()).select_from(SessionParticipant).where(
            SessionParticipant.session_id == session_id, holds_seat()
        )
    )  # fmt: skip
    seat = held < session.capacity
    now = utcnow()
    role = ParticipantRole.PRIMARY if seat else ParticipantRole.WAITLIST
    db.add(SessionParticipant(session_id=session_id, customer_id=customer_id, role=role, booked_at=now))
    db.flush()
    if not seat:
        db.add(WaitlistEntry(session_id=session_id, customer_id=customer_id, joined_at=now))
        db.flush()


def _client(app: Any, chunk: list[tuple[int, uuid.UUID]], book: Any, actor_id: uuid.UUID, barrier: Any) -> int:
    """One client: its own connection, one booking per transaction, as a console request does it; returns failures."""
    from app.extensions import db
    from app.services.audit.context import AuditContext, acting_as

    failures = 0
    # As in a console request: the audit rows name the desk user, IP and agent.
    context = AuditContext(actor_id=actor_id, ip_address="127.0.0.1", user_agent="bench")
    with app.app_context(), acting_as(context):
        barrier.wait()
        for session_id, customer_id in chunk:
            try:
                book(db.session, session_id, customer_id)
                db.session.commit()
            except Exception:
                db.session.rollback()
                failures += 1
        db.session.remove()
    return failures


def _process_client(app: Any, chunk: Any, book: Any, actor_id: uuid.UUID, barrier: Any, failures: Any, i: int) -> None:
    """A forked client: drop the parent's pooled connections (never use them here), then run as a thread would."""
    from app.extensions import db

    with app.app_context():
        db.engine.dispose(close=False)
    failures[i] = _client(app, chunk, book, actor_id, barrier)


def _run(app: Any, pairs: list[tuple[int, uuid.UUID]], book: Any, actor_id: uuid.UUID) -> tuple[float, int]:
    """Spread ``pairs`` over CLIENTS clients (processes, or threads with BENCH_THREADS=1); (bookings/s, failures).

    Processes are the deployment's shape (one worker process per request, each its own
    connection pool); threads share one interpreter lock, so they measure the GIL as much as
    the engine. Timing starts when every client is connected and waiting at the barrier.
    """
    chunks = [pairs[i::CLIENTS] for i in range(CLIENTS)]
    if THREADS:
        failures = [0] * CLIENTS
        barrier: Any = threading.Barrier(CLIENTS + 1)

        def client(i: int) -> None:
            failures[i] = _client(app, chunks[i], book, actor_id, barrier)

        workers: list[Any] = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    else:
        ctx = multiprocessing.get_context("fork")
        barrier = ctx.Barrier(CLIENTS + 1)
        failures = ctx.Array("i", CLIENTS)
        workers = [
            ctx.Process(target=_process_client, args=(app, chunks[i], book, actor_id, barrier, failures, i))
            for i in range(CLIENTS)
        ]
    for w in workers:
        w.start()
    barrier.wait()
    start = time.perf_counter()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    if not THREADS and any(w.exitcode != 0 for w in workers):
        raise RuntimeError(f"a client process failed: exit codes {[w.exitcode for w in workers]}")
    return len(pairs) / elapsed, sum(failures)


def _overbooked(sessions: list[int]) -> tuple[int, int]:
    """(sessions over capacity, seats beyond capacity) among ``sessions``."""
    from app.extensions import db
    from app.services.scheduling.booking import seat_counts

    held = [booked for booked, _waiting in seat_counts(db.session, sessions).values()]
    over = [n - CAPACITY for n in held if n > CAPACITY]
    return len(over), sum(over)


def main() -> int:
    from app.extensions import db
    from app.models.compliance import AuditLog
    from app.services.audit.verify import verify_range
    from app.services.scheduling.booking import book
    from app.services.scheduling.rules import BookingRules

    url = fresh_database("bench_bookings")
    pool = {"pool_size": CLIENTS + 2, "max_overflow": 0, "pool_pre_ping": False}
    app = build_app(url, SQLALCHEMY_ENGINE_OPTIONS=pool)
    try:
        with app.app_context():
            seed = _seed(max(PER_SESSION * 4, 400))
        rules = BookingRules.from_config(app.config)
        actor = seed["actor"]
        engine_pairs = _work(seed["engine_sessions"], seed["customers"], 1)
        naive_pairs = _work(seed["naive_sessions"], seed["customers"], 2)
        print(
            f"database: PostgreSQL ({url.split('@')[-1]}); {CLIENTS} clients; {SESSIONS} sessions x {CAPACITY} seats, "
            f"{PER_SESSION} bookings aimed at each ({len(engine_pairs)} per run); audit chain on"
        )

        def engine(db_session: Any, session_id: int, customer_id: uuid.UUID) -> None:
            book(db_session, actor, session_id, customer_id, rules=rules)

        with app.app_context():
            audit_before = db.session.query(AuditLog).count()
        # As wsgi.py does in the preloaded master before the workers fork: start-up objects out of the
        # garbage collector, so full collections do not walk them.
        gc.collect()
        gc.freeze()
        naive_rate, naive_failures = _run(app, naive_pairs, _naive_book, actor.user_id)
        engine_rate, engine_failures = _run(app, engine_pairs, engine, actor.user_id)
        with app.app_context():
            audited = db.session.query(AuditLog).count() - audit_before
            naive_over = _overbooked(seed["naive_sessions"])
            engine_over = _overbooked(seed["engine_sessions"])
            chain = verify_range(0, db.session.scalar(sa.select(sa.func.max(AuditLog.id))) or 0)
        verdict = "met" if engine_rate >= TARGET and engine_over == (0, 0) and chain.ok else "NOT met"
        print(f"  audit rows written by both runs          : {audited:,}")
        print(f"  audit chain after the runs               : {'holds' if chain.ok else 'BROKEN'} ({chain.rows:,} rows)")
        print(
            f"  baseline, naive check-then-insert        : {naive_rate:8.0f} bookings/s, "
            f"{naive_over[1]} seats over capacity in {naive_over[0]} sessions, {naive_failures} failed"
        )
        print(
            f"  booking engine (row lock, events, rules) : {engine_rate:8.0f} bookings/s, "
            f"{engine_over[1]} seats over capacity, {engine_failures} failed"
        )
        print(f"  engine / naive                           : x{engine_rate / naive_rate:5.2f}")
        print(f"  target >= {TARGET:.0f} bookings/s with no over-booking: {verdict}")
        return 0 if verdict == "met" else 1
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_database(url)


if __name__ == "__main__":
    raise SystemExit(main())
