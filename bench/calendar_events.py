"""Calendar events benchmark: ``scheduling.calendar.events`` for one busy week, beside a naive version.

    python -m bench.calendar_events [--sessions 200000] [--per-session 10] [--week-sessions 2000]
                                    [--customers 20000] [--coaches 50] [--runs 30] [--naive-runs 3] [--reuse]

Builds (once; ``--reuse`` keeps it) a migrated database ``bench_calendar_<sessions>``: coaches and
customers, ``--sessions`` scheduled sessions spread so that every week holds ``--week-sessions``
(200,000 sessions = 100 weeks of 2,000), ``--per-session`` participants each (8 seats booked, the rest
waitlisted, some late cancellations), all generated in SQL with ``generate_series``, then
``VACUUM ANALYZE`` (again on ``--reuse``, after making sure the seats index of migration 0011 is
there, so the seat counts are an index-only scan). It then times, in the same run:

- ours: ``events()`` for one week as Support (all 2,000 sessions) and as a coach (their own), with
  the JSON serialisation an endpoint does (``as_dict``);
- naive: the ORM way: load ``ScheduledSession`` objects for the week (the coach relation as the
  model loads it) and count each session's booked and waitlisted participants with one query each.

Statements are counted with a ``before_cursor_execute`` listener. Target (DESIGN.md): p95 under
150 ms for 2,000 sessions and 20,000 participants, with a fixed number of statements. Uses
``BENCH_DATABASE_URL`` or the embedded PostgreSQL server.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from bench.common import build_app, drop_database, named_database, step

TARGET_P95_MS = 150.0
SEATS_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_session_participants_seats "
    "ON session_participants (session_id, role, attendance_status)"
)
# Week 0 starts on this Monday; the measured week is in the middle of the table.
EPOCH = dt.datetime(2030, 1, 7, tzinfo=dt.UTC)


def database_url(sessions: int) -> tuple[str, bool]:
    return named_database(f"bench_calendar_{sessions}")


def generate(conn: Any, args: argparse.Namespace) -> None:
    p = {
        "sessions": args.sessions,
        "per": args.per_session,
        "week": args.week_sessions,
        "customers": args.customers,
        "coaches": args.coaches,
        "epoch": EPOCH,
    }

    def run(sql: str, label: str | None = None) -> None:
        fn = lambda: conn.execute(text(sql), p)  # noqa: E731
        step(label, fn) if label else fn()

    run(
        "INSERT INTO users (id, email, full_name, locale, status, legal_hold, created_at, updated_at) "
        "SELECT md5('coach' || g)::uuid, 'coach' || g || '@bench.test', 'Coach ' || g, 'en', 'ACTIVE', false, "
        "now(), now() FROM generate_series(0, :coaches - 1) g"
    )
    run("INSERT INTO roles (code, description) VALUES ('COACH', 'Coach') ON CONFLICT DO NOTHING")
    run(
        "INSERT INTO user_roles (user_id, role_id) SELECT md5('coach' || g)::uuid, r.id "
        "FROM generate_series(0, :coaches - 1) g, roles r WHERE r.code = 'COACH'"
    )
    run(
        "INSERT INTO users (id, email, full_name, locale, status, legal_hold, created_at, updated_at) "
        "SELECT md5('cust' || g)::uuid, 'c' || g || '@bench.test', 'Customer ' || g, 'en', 'ACTIVE', false, "
        "now(), now() FROM generate_series(0, :customers - 1) g",
        "customers",
    )
    # Session g: week g / week, spread over the week's days 06:00-21:00 UTC, a coach and a room each.
    run(
        "INSERT INTO scheduled_sessions (id, session_type, start_time, end_time, timezone, location, capacity, "
        "status, coach_id, title, version) "
        "SELECT g, (array['CLASS','ONE_ON_ONE','VIRTUAL','HYBRID'])[1 + g % 4], s, s + interval '1 hour', "
        "'Europe/Madrid', 'Room ' || (g % 40), 8, CASE WHEN g % 50 = 0 THEN 'CANCELLED' ELSE 'SCHEDULED' END, "
        "md5('coach' || (g % :coaches))::uuid, 'Class ' || g, 1 "
        "FROM (SELECT g, CAST(:epoch AS timestamptz) + (g / :week) * interval '7 days' "
        "  + ((g % :week) % 7) * interval '1 day' + interval '6 hours' "
        "  + ((g % :week) / 7 % 60) * interval '15 minutes' "
        "  AS s FROM generate_series(0, :sessions - 1) g) x",
        f"{args.sessions:,} sessions",
    )
    run("SELECT setval(pg_get_serial_sequence('scheduled_sessions', 'id'), :sessions)")
    run(
        "INSERT INTO session_participants (session_id, customer_id, role, attendance_status, booked_at) "
        "SELECT s, md5('cust' || ((s * 7 + k * 2003) % :customers))::uuid, "
        "CASE WHEN k < 8 THEN 'PRIMARY' ELSE 'WAITLIST' END, "
        "CASE WHEN k = 3 AND s % 5 = 0 THEN 'LATE_CANCEL' ELSE 'REGISTERED' END, now() "
        "FROM generate_series(0, :sessions - 1) s, generate_series(0, :per - 1) k",
        f"{args.sessions * args.per_session:,} participants",
    )


def prepare(args: argparse.Namespace) -> tuple[Any, str]:
    from app.extensions import appbuilder, db
    from app.policy.sync import sync_roles

    url, existed = database_url(args.sessions)
    if existed and not args.reuse:
        print("  dropping the earlier bench database (use --reuse to keep it)", flush=True)
        drop_database(url)
        url, existed = database_url(args.sessions)
    print(f"database: {make_url(url).database}", flush=True)
    app = build_app(url)
    with app.app_context():
        if not existed:
            print("generating data:", flush=True)
            sync_roles(appbuilder)
            db.session.commit()
            with db.engine.begin() as conn:
                conn.execute(text("SET LOCAL synchronous_commit = off"))
                generate(conn, args)
        # No transaction of ours may stay open here: an older snapshot keeps VACUUM from marking the
        # new rows all-visible, and the seat counts' index-only scan then visits the heap for every row.
        db.session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # A database built before the seats index joined migration 0011 gets it here (--reuse).
            conn.execute(text(SEATS_INDEX))
            step("VACUUM ANALYZE", lambda: conn.execute(text("VACUUM ANALYZE")))
    return app, url


def naive_events(db_session: Any, actor: Any, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """The ORM way: session objects, then two count queries per session."""
    from app.models.scheduling import ParticipantRole, ScheduledSession, SessionParticipant
    from app.policy.scope import scoped_select

    rows = db_session.scalars(
        scoped_select(ScheduledSession, actor, ScheduledSession.start_time < end, ScheduledSession.end_time > start)
    ).unique()
    out = []
    for s in rows:
        counts = []
        for role in (ParticipantRole.PRIMARY, ParticipantRole.WAITLIST):
            counts.append(
                db_session.scalar(
                    sa.select(sa.func.count())
                    .select_from(SessionParticipant)
                    .where(
                        SessionParticipant.session_id == s.id,
                        SessionParticipant.role == role,
                        SessionParticipant.attendance_status.not_in(["CANCELLED", "LATE_CANCEL"]),
                    )
                )
            )
        out.append(
            {
                "id": s.id,
                "title": s.title,
                "start": s.start_time.isoformat(),
                "end": s.end_time.isoformat(),
                "coach_name": s.coach.full_name if s.coach else None,
                "booked": counts[0],
                "waitlisted": counts[1],
            }
        )
    return out


def percentile(samples: list[float], q: int) -> float:
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(sorted(samples), n=100, method="inclusive")[q - 1]


def measure(engine: Any, fn: Callable[[], list], runs: int) -> tuple[float, float, int, int]:
    """p50 and p95 in ms over ``runs`` calls after one warm-up; statements and rows of the last call."""
    from app.extensions import db

    counter = {"n": 0}

    def count(*_: Any) -> None:
        counter["n"] += 1

    fn()
    db.session.rollback()
    samples = []
    for _ in range(runs):
        db.session.expire_all()
        counter["n"] = 0
        event.listen(engine, "before_cursor_execute", count)
        start = time.perf_counter()
        rows = fn()
        samples.append((time.perf_counter() - start) * 1000)
        event.remove(engine, "before_cursor_execute", count)
        db.session.rollback()
    return percentile(samples, 50), percentile(samples, 95), counter["n"], len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=200_000)
    parser.add_argument("--per-session", type=int, default=10)
    parser.add_argument("--week-sessions", type=int, default=2_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--coaches", type=int, default=50)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--naive-runs", type=int, default=3)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    args = parser.parse_args(argv)

    from app.extensions import db
    from app.policy.scope import Actor
    from app.services.scheduling import calendar

    app, url = prepare(args)
    # As wsgi.py does in the preloaded master: the app's start-up objects out of the collector, so a
    # full collection during a timed call does not walk them (about 150 ms here).
    gc.collect()
    gc.freeze()
    weeks = max(1, args.sessions // args.week_sessions)
    start = EPOCH + dt.timedelta(days=7 * (weeks // 2))
    end = start + dt.timedelta(days=7)
    ok = True
    with app.app_context():
        engine = db.engine
        support = Actor(None, frozenset({"Support"}))
        coach_id = db.session.scalar(text("SELECT md5('coach0')::uuid"))
        coach = Actor(coach_id, frozenset({"Coach"}))
        week_participants = db.session.scalar(
            text("SELECT count(*) FROM session_participants p JOIN scheduled_sessions s ON s.id = p.session_id "
                 "WHERE s.start_time >= :a AND s.start_time < :b"),
            {"a": start, "b": end},
        )  # fmt: skip
        print(
            f"\nweek of {start:%Y-%m-%d}: {week_participants:,} participants; table: {args.sessions:,} sessions, "
            f"{args.sessions * args.per_session:,} participants; target p95 < {TARGET_P95_MS:.0f} ms\n"
        )
        print(f"{'case':<22} {'rows':>6} {'p50 ms':>8} {'p95 ms':>8} {'statements':>11}")
        results = {}
        for label, actor in (("Support, all coaches", support), ("Coach, own sessions", coach)):
            ours = measure(
                engine, lambda a=actor: [e.as_dict() for e in calendar.events(db.session, a, start, end)], args.runs
            )
            naive = measure(engine, lambda a=actor: naive_events(db.session, a, start, end), args.naive_runs)
            results[label] = (ours, naive)
            for name, (p50, p95, stmts, rows) in (("ours", ours), ("naive", naive)):
                print(f"{label + ' ' + name:<30} {rows:>6} {p50:>8.1f} {p95:>8.1f} {stmts:>11}")
            print(f"  naive/ours at p95: {naive[1] / ours[1]:.1f}x; statements {naive[2]} vs {ours[2]}")
            ok = ok and ours[1] < TARGET_P95_MS and ours[2] == 2 and ours[3] == naive[3]
    print(f"\n{'PASS' if ok else 'FAIL'}: ours p95 < {TARGET_P95_MS:.0f} ms with 2 statements, same rows as naive")
    if args.drop:
        drop_database(url)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
