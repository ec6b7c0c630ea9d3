"""The embedded default: first-start preparation (migrate, sync roles, seed) and the background processes."""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
from pathlib import Path

from flask import Flask
from flask_babel import gettext as _
from flask_migrate import upgrade
from sqlalchemy import func, select

from app import check_database


def prepare_embedded(app: Flask, demo_customers: int = 300) -> list[str]:
    """Bring the embedded database up to date and return the demo login lines to print."""
    check_database(app)

    from app.extensions import appbuilder, db
    from app.models.identity import ConsoleUser
    from app.policy.sync import sync_roles
    from app.services.demo_data import login_line, seed_demo_data

    logins_file = Path(app.config["INSTANCE_DIR"]) / "demo_logins.json"
    with app.app_context():
        upgrade()
        sync_roles(appbuilder)
        if db.session.scalar(select(func.count()).select_from(ConsoleUser)) == 0:
            result = seed_demo_data(appbuilder.sm, customers=demo_customers, seed=7, progress=True)
            logins_file.write_text(json.dumps(result.logins, indent=2))
            logins_file.chmod(0o600)
    with app.app_context():  # the operator's language (COACHDESK_LOCALE or LANG), see app.i18n.process_locale
        if not logins_file.exists():
            return [_("Sign in with your console account.")]
        logins = json.loads(logins_file.read_text())
        return [_("Demo logins (one per console role):")] + [login_line(entry) for entry in logins]


class Background:
    """The embedded default's background processes: one RQ worker (with scheduler) and the cron."""

    def __init__(self, processes: list[subprocess.Popen]) -> None:
        self.processes = processes

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()  # warm shutdown: the worker finishes its current batch
        for proc in self.processes:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def start_background(app: Flask) -> Background:
    """Start Redis (embedded unless REDIS_URL is set), one worker with the scheduler, and the one cron process."""
    from app.services.jobs.queues import start_embedded_redis

    url = app.config.get("REDIS_URL") or start_embedded_redis(Path(app.config["INSTANCE_DIR"]))
    app.config["REDIS_URL"] = url
    env = dict(os.environ, REDIS_URL=url, FLASK_APP="app:create_app", APP_ENV=app.config["APP_ENV"])
    flask = [sys.executable, "-m", "flask", "jobs"]
    processes = [
        subprocess.Popen([*flask, "worker", "--with-scheduler"], env=env),
        subprocess.Popen([*flask, "cron"], env=env),
    ]
    background = Background(processes)
    atexit.register(background.stop)
    return background
