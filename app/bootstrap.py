"""First-start preparation of the embedded default: migrate, sync roles, seed, demo logins."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select

from app import check_database


def prepare_embedded(app: Flask, demo_customers: int = 300) -> list[str]:
    """Bring the embedded database up to date and return the demo login lines to print."""
    check_database(app)

    from app.extensions import appbuilder, db
    from app.models.identity import ConsoleUser
    from app.security.sync import sync_roles
    from app.services.demo_data import seed_demo_data

    logins_file = Path(app.config["INSTANCE_DIR"]) / "demo_logins.json"
    with app.app_context():
        upgrade()
        sync_roles(appbuilder)
        if db.session.scalar(select(func.count()).select_from(ConsoleUser)) == 0:
            result = seed_demo_data(appbuilder.sm, customers=demo_customers, seed=7, progress=True)
            logins_file.write_text(json.dumps(result.logins, indent=2))
            logins_file.chmod(0o600)
    if not logins_file.exists():
        return ["Sign in with your console account."]
    logins = json.loads(logins_file.read_text())
    return ["Demo logins (one per role):"] + [
        f"  {entry['role']:<11} username: {entry['username']:<12} password: {entry['password']}" for entry in logins
    ]
