"""``create_app``: every piece of wiring, in one readable install sequence.

Anything an app needs per process (the audit trail's request context, the job kinds,
the console's views) is installed here onto the app, never as a side effect of
importing a module or of building the security manager, so two apps can live side by
side in one process (a SQLite and a PostgreSQL app in the same test run).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask, session
from flask_appbuilder import AppBuilder
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.exc import ArgumentError, OperationalError

from app import models  # noqa: F401  (register every table before anything reflects on them)
from app.cli import register_cli
from app.extensions import csrf, db, migrate
from app.services.audit.hooks import install as install_audit_trail
from app.services.automation.jobs import install as install_automation
from app.services.events.handlers import install as install_event_handlers
from app.services.jobs.kinds import load_job_kinds
from app.web import errors, headers, input_guard, menu_badges
from app.web.admin import register_admin
from app.web.api import install_api
from app.web.api.blueprint import is_api_request
from app.web.audit_context import install_audit_context
from app.web.locale import install_selectors
from app.web.security import accounts, post_only
from app.web.security import install as security
from app.web.views import register_views
from app.web.views.menu_groups import regroup_menu
from config import BaseConfig, ConfigError, get_config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def create_app(config: BaseConfig | str | None = None, **overrides: Any) -> Flask:
    """Build the Flask app. ``config`` is a config object or an APP_ENV name."""
    if config is None or isinstance(config, str):
        config = get_config(config)
    app = Flask("app", instance_path=str(config.INSTANCE_DIR), instance_relative_config=False)
    app.config.from_object(config)
    app.config.update(overrides)
    # FAB warns once per view for every column type it cannot filter (UUID keys);
    # the project's views declare their filters explicitly, so this is noise.
    logging.getLogger("flask_appbuilder.models.filters").setLevel(logging.ERROR)

    _install_database(app)
    csrf.init_app(app)
    input_guard.install(app)  # before any view: bounded URL keys, no NUL bytes, no absurdly deep JSON
    install_audit_trail()  # one AuditLogs row per ORM change, same transaction
    install_audit_context(app)  # who and from where, for the audit rows a request writes
    load_job_kinds(app)  # the job kinds declared beside the services, on this app
    install_event_handlers(app)  # who receives dispatched domain events
    install_automation(app)  # the automation engine, one of them
    security.configure(app)  # settings FAB's security manager reads when it is built
    _install_console(app)
    install_api(app)  # the REST API at /api/v1 (Bearer keys, problem details)
    register_admin(app)
    regroup_menu(app.appbuilder)  # the menu by task, once every view (console and /admin links) is in
    register_cli(app)
    _install_request_hooks(app)
    headers.install(app)  # CSP with a per-request nonce, HSTS, no framing (after register_admin)
    errors.install(app)  # console-styled error pages, JSON errors for JSON clients
    return app


def _install_database(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True, compare_type=True)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            # SQLite ignores foreign keys (and so every ``ondelete``) unless asked, per connection.
            event.listen(engine, "connect", _sqlite_foreign_keys_on)


def _sqlite_foreign_keys_on(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA foreign_keys=ON")


def _install_console(app: Flask) -> None:
    """FAB (security manager and views), the language and zone selectors, session limits."""
    with app.app_context():
        appbuilder = AppBuilder(update_perms=False)
        appbuilder.init_app(app, db.session)
        install_selectors(app)
        menu_badges.install(app)
        # Text a view fixes at registration is in the default language, whatever the shell's LANG says.
        with force_locale(app.config["BABEL_DEFAULT_LOCALE"]):
            register_views(appbuilder)
            accounts.register(appbuilder)
        security.install(app, appbuilder.sm)
        post_only.install(app, appbuilder)  # sign out and switch language by POST with CSRF


def _install_request_hooks(app: Flask) -> None:
    @app.before_request
    def _idle_timeout() -> None:
        # A permanent session makes PERMANENT_SESSION_LIFETIME an idle timeout,
        # refreshed on every request. The REST API has no session: no cookie is set there.
        # Set once: assigning it marks the session modified, which would resend it from static files.
        if not is_api_request() and not session.permanent:
            session.permanent = True


def check_database(app: Flask) -> None:
    """Fail with one line, not a traceback, when the database cannot be reached."""
    with app.app_context():
        try:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except (OperationalError, ArgumentError) as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]  # the driver's words, untranslated
            raise ConfigError(_("cannot reach the database: %(reason)s", reason=reason)) from None
