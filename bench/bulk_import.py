"""Bulk import: 50,000 customers from a CSV through the real commit job, against a per-row ORM insert.

    python -m bench.bulk_import [--rows 50000] [--naive 5000]

A fresh migrated PostgreSQL database (embedded unless BENCH_DATABASE_URL) gets 20 coaches. A CSV of
``--rows`` customers (email, name, phone, status, gender, zone, birth date, a coach by email) is
stored as an upload and committed by the ``imports.commit`` job run in this process, exactly as a
worker runs it: parse, validate (one query per thousand emails for the unique key, one per
thousand coach emails), then Core ``executemany`` INSERTs of users, roles, profiles and coach
assignments in batches, one transaction, one audit row. Target (issue 17): 50,000 rows in under 60 s.

Baseline in the same run, on ``--naive`` other customers: the ORM one row at a time (a
``PlatformUser``, its ``UserRole``, ``CustomerProfile`` and ``CoachAssignment`` added and flushed per
row, audited per row by the session hooks), committed once.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
from pathlib import Path

from bench.common import build_app, drop_database, fresh_database, step

TARGET_SECONDS = 60.0
ZONES = ("Europe/Madrid", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC")
GENDERS = ("FEMALE", "MALE", "NON_BINARY", "")


def make_csv(rows: int, prefix: str) -> bytes:
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(["email", "full_name", "phone", "status", "gender", "timezone", "date_of_birth", "coach_email"])
    for i in range(rows):
        out.writerow(
            [
                f"{prefix}{i}@bench.test",
                f"Customer {prefix} {i}",
                f"+34 600 {i:06d}",
                "ACTIVE",
                GENDERS[i % len(GENDERS)],
                ZONES[i % len(ZONES)],
                f"19{60 + i % 40}-0{1 + i % 9}-1{i % 10}",
                f"coach{i % 20}@bench.test",
            ]
        )
    return buffer.getvalue().encode()


def seed_coaches() -> None:
    from app.extensions import db
    from app.models.identity import PlatformUser, RoleCode, UserRole
    from app.services.accounts import ensure_platform_role

    role = ensure_platform_role(RoleCode.COACH)
    for i in range(20):
        coach = PlatformUser(email=f"coach{i}@bench.test", full_name=f"Coach {i}")
        db.session.add(coach)
        db.session.flush()
        db.session.add(UserRole(user_id=coach.id, role_id=role.id))
    db.session.commit()


def naive(rows: int) -> float:
    """Per-row ORM inserts of ``rows`` customers, flushed one by one, committed once."""
    import datetime as dt

    import sqlalchemy as sa

    from app.extensions import db
    from app.models.customers import CoachAssignment, CustomerProfile
    from app.models.identity import PlatformUser, RoleCode, UserRole
    from app.services.accounts import ensure_platform_role

    role_id = ensure_platform_role(RoleCode.CUSTOMER).id
    coaches = dict(
        db.session.execute(
            sa.select(PlatformUser.email, PlatformUser.id).where(PlatformUser.email.like("coach%"))
        ).all()
    )
    start = time.perf_counter()
    for i in range(rows):
        user = PlatformUser(email=f"naive{i}@bench.test", full_name=f"Naive {i}", phone=f"+34 700 {i:06d}")
        db.session.add(user)
        db.session.flush()
        db.session.add(UserRole(user_id=user.id, role_id=role_id))
        db.session.add(
            CustomerProfile(
                user_id=user.id, timezone=ZONES[i % len(ZONES)], date_of_birth=dt.date(1960 + i % 40, 1 + i % 9, 10)
            )
        )
        db.session.add(CoachAssignment(customer_id=user.id, coach_id=coaches[f"coach{i % 20}@bench.test"]))
        db.session.flush()
    db.session.commit()
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--naive", type=int, default=5000)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args(argv)

    import sqlalchemy as sa

    from app.extensions import db
    from app.models.identity import PlatformUser
    from app.models.jobs import JobStatus
    from app.services.imports import files, service
    from app.services.jobs.context import run_inline

    url = fresh_database("bench_import")
    folder = Path(tempfile.mkdtemp(prefix="bench-imports-"))
    app = step("migrate", lambda: build_app(url, IMPORTS_DIR=folder))
    try:
        with app.app_context():
            step("coaches", seed_coaches)
            body = step("csv", lambda: make_csv(args.rows, "c"))
            print(f"\n{args.rows:,} customers in a {len(body) / 2**20:.1f} MB CSV (+{args.naive:,} for the baseline)")
            t_naive = naive(args.naive)
            naive_rate = args.naive / t_naive
            print(f"  baseline, ORM row by row : {t_naive:6.1f} s for {args.naive:,} ({naive_rate:8,.0f} rows/s)")
            start = time.perf_counter()
            upload = files.store("customers", "bench.csv", body, console_user_id=0)
            run = service.jobs.start_job(
                service.KIND, {"token": upload.token, "table": "customers", "console_user_id": 0}, enqueue=False
            )
            done = run_inline(run)
            elapsed = time.perf_counter() - start
            assert done is not None and done.status == JobStatus.SUCCEEDED, (done.status, done.error)
            rate = args.rows / elapsed
            verdict = "OK" if elapsed <= TARGET_SECONDS * args.rows / 50_000 else "OVER TARGET"
            print(
                f"  import job (Core batches): {elapsed:6.1f} s for {args.rows:,} ({rate:8,.0f} rows/s)"
                f"  x{rate / naive_rate:5.1f} faster (target 50,000 in {TARGET_SECONDS:.0f} s: {verdict})"
            )
            total = db.session.scalar(sa.select(sa.func.count()).select_from(PlatformUser))
            print(f"  users now: {total:,}")
    finally:
        if not args.keep:
            drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
