"""Test apps on real databases, one console account per role, and emptying the tables between tests."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy import text

from app.services.audit.checkpoints import checkpoint_file

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

    # Each app signs audit checkpoints into its own folder: test processes run side by side and
    # each empties its checkpoint file with its tables.
    overrides.setdefault("AUDIT_CHECKPOINT_DIR", Path(tempfile.mkdtemp(prefix="cd-checkpoints-")))
    app = create_app("test", SQLALCHEMY_DATABASE_URI=url, **overrides)
    with app.app_context():
        upgrade()
        sync_roles(appbuilder)
    return app


def empty_all_tables(app: Flask) -> None:
    from app.extensions import db
    from app.web.api.traffic import flush_access_log

    flush_access_log(app)  # rows buffered by the last test go in now, and out with the tables
    with app.app_context():
        db.session.rollback()
        db.session.remove()
        # The signed audit checkpoints live in the table and in files: both go with the rows.
        checkpoint_file().unlink(missing_ok=True)
        tables = [t for t in db.metadata.sorted_tables if t.name not in KEEP_TABLES]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(text("SET LOCAL coachdesk.maintenance = 'on'"))
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(tables):
                    conn.execute(table.delete())


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
