"""Models and migrations agree: upgrade an empty database, autogenerate finds nothing; down and up again."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from tests.support import databases


def _diff(db) -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        return compare_metadata(context, db.metadata)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request, tmp_path):
    if request.param == "sqlite":
        yield databases.create_sqlite_database(tmp_path)
    else:
        url = databases.create_pg_database("cdmig")
        yield url
        databases.drop_pg_database(url)


def test_upgrade_matches_models_and_downgrade_round_trips(empty_db_url):
    from app import create_app
    from app.extensions import db

    app = create_app("test", SQLALCHEMY_DATABASE_URI=empty_db_url)
    with app.app_context():
        upgrade()
        assert _diff(db) == []
        model_tables = set(db.metadata.tables)
        assert model_tables <= set(inspect(db.engine).get_table_names())

        downgrade(revision="base")
        left = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert left == set()

        upgrade()
        assert _diff(db) == []
        db.session.remove()
        db.engine.dispose()
