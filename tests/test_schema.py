"""The migrated schema holds every seed entity with every seed column, on both databases."""

import pytest
from sqlalchemy import inspect

from app.models import SEED_MODELS
from tests.support.seed_model import seed_tables


def test_seed_document_parses_into_45_entities():
    tables = seed_tables()
    assert len(tables) == 45
    assert tables["users"][:2] == ["id", "email"]
    assert "role" in tables["session_participants"]


def test_every_seed_entity_is_a_model():
    assert {m.__tablename__ for m in SEED_MODELS} == set(seed_tables())


def test_migrated_database_has_every_seed_column(app):
    from app.extensions import db

    with app.app_context():
        inspector = inspect(db.engine)
        existing = set(inspector.get_table_names())
        missing = {}
        for table, columns in seed_tables().items():
            assert table in existing, f"table {table} missing"
            have = {c["name"] for c in inspector.get_columns(table)}
            lacking = [c for c in columns if c not in have]
            if lacking:
                missing[table] = lacking
        assert missing == {}


def test_every_foreign_key_is_indexed_and_says_what_happens_on_delete(app):
    from app.extensions import db

    with app.app_context():
        inspector = inspect(db.engine)
        problems = []
        for table in seed_tables():
            indexed = set()
            for ix in inspector.get_indexes(table):
                indexed.add(ix["column_names"][0])
            for uq in inspector.get_unique_constraints(table):
                indexed.add(uq["column_names"][0])
            pk = inspector.get_pk_constraint(table)["constrained_columns"]
            if pk:
                indexed.add(pk[0])
            for fk in inspector.get_foreign_keys(table):
                col = fk["constrained_columns"][0]
                if col not in indexed:
                    problems.append(f"{table}.{col} has no index")
                if not (fk.get("options") or {}).get("ondelete"):
                    problems.append(f"{table}.{col} has no ondelete")
        assert problems == []


@pytest.mark.parametrize("table", ["users", "auth_sessions", "scheduled_sessions", "audit_logs"])
def test_renamed_and_key_tables_exist(app, table):
    from app.extensions import db

    with app.app_context():
        assert table in inspect(db.engine).get_table_names()
