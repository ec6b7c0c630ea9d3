"""Application factory: wires extensions, security, i18n, views and CLI."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, has_request_context, request, session
from sqlalchemy.exc import ArgumentError, OperationalError

from config import BaseConfig, ConfigError, get_config

log = logging.getLogger(__name__)


def create_app(config: BaseConfig | str | None = None, **overrides: Any) -> Flask:
    """Build the Flask app. ``config`` is a config object or an APP_ENV name."""
    if config is None or isinstance(config, str):
        config = get_config(config)
    app = Flask(__name__, instance_path=str(config.INSTANCE_DIR), instance_relative_config=False)
    app.config.from_object(config)
    app.config.update(overrides)
    # FAB warns once per view for every column type it cannot filter (UUID keys);
    # the project's views declare their filters explicitly, so this is noise.
    logging.getLogger("flask_appbuilder.models.filters").setLevel(logging.ERROR)

    from flask_appbuilder import AppBuilder

    from app import models  # noqa: F401  (register every table before anything reflects on them)
    from app.extensions import csrf, db, migrate

    db.init_app(app)
    _enforce_sqlite_foreign_keys()
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    _install_background_work()
    from app.web.audit_context import install_audit_context

    install_audit_context(app)  # audit rows of a request name its user, address and agent

    with app.app_context():
        appbuilder = AppBuilder(update_perms=False)
        appbuilder.init_app(app, db.session)
        _install_locale_selector(app)
        from flask_babel import force_locale

        from app.web.views import register_views

        # Text a view fixes at registration is in the default language, whatever the shell's LANG says.
        with force_locale(app.config["BABEL_DEFAULT_LOCALE"]):
            register_views(appbuilder)

    from app.web.admin import register_admin

    register_admin(app)
    from app.cli import register_cli

    register_cli(app)
    _register_request_hooks(app)
    return app


def _install_background_work() -> None:
    from app.jobs import load_job_kinds
    from app.services.audit.hooks import install as install_audit_trail

    install_audit_trail()  # one AuditLogs row per ORM change, same transaction
    load_job_kinds()


def _enforce_sqlite_foreign_keys() -> None:
    """SQLite ignores foreign keys (and so every ``ondelete``) unless asked, per connection."""
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if getattr(_enforce_sqlite_foreign_keys, "installed", False):
        return

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute("PRAGMA foreign_keys=ON")

    _enforce_sqlite_foreign_keys.installed = True  # type: ignore[attr-defined]


def _migrations_dir() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def select_locale() -> str:
    """The console language: switcher choice, then account setting, then browser, then English.

    Outside a request (CLI): the process environment's choice, see ``process_locale``.
    """
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI and scripts; jobs force the default language (jobs.execute_run)
        return process_locale(current_app.config)
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    user = getattr(g, "user", None)
    account_locale = getattr(user, "locale", None) if user is not None and not user.is_anonymous else None
    if account_locale in languages:
        return account_locale
    return request.accept_languages.best_match(list(languages)) or current_app.config["BABEL_DEFAULT_LOCALE"]


def process_locale(config: Any) -> str:
    """The language outside a request: ``COACHDESK_LOCALE``, then LC_ALL/LC_MESSAGES/LANG, then the default.

    ``LOCALE_FROM_ENVIRONMENT = False`` (the test settings) ignores the environment, so output
    does not depend on the shell it runs in.
    """
    from app.i18n import environment_locale

    default = config["BABEL_DEFAULT_LOCALE"]
    if not config.get("LOCALE_FROM_ENVIRONMENT", True):
        return default
    return environment_locale(config["LANGUAGES"], default)


def select_timezone() -> str:
    """The zone times are shown in: the signed-in account's own, else the configured default."""
    from flask import current_app

    from app.services.timezones import effective_zone

    default = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    if not has_request_context():  # jobs and CLI
        return default
    user = getattr(g, "user", None)
    account = user if user is not None and not user.is_anonymous else None
    return effective_zone(account, default)


def _install_locale_selector(app: Flask) -> None:
    # FAB's BabelManager initialises Flask-Babel with a selector that ignores the
    # browser; swap in ours on the configuration object Flask-Babel keeps.
    app.extensions["babel"].locale_selector = select_locale
    app.extensions["babel"].timezone_selector = select_timezone


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def _idle_timeout() -> None:
        # A permanent session makes PERMANENT_SESSION_LIFETIME an idle timeout,
        # refreshed on every request.
        session.permanent = True

    @app.context_processor
    def _console_locale() -> dict[str, str]:
        from flask_babel import get_locale

        return {"console_locale": str(get_locale() or "en")}

    @app.context_processor
    def _console_timezone() -> dict[str, Any]:
        # Lazy: only pages that show the footer line (or a tooltip) pay for it.
        return {"console_timezone": _describe_console_timezone}

    @app.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


def _describe_console_timezone() -> Any:
    """The viewer's zone with its abbreviation and offset now, e.g. "Europe/Berlin (CET, UTC+01:00)"."""
    from flask_babel import get_timezone

    from app.services.timezones import describe_zone, zone_name

    tz = get_timezone()
    return describe_zone(tz, zone_name(tz))


def check_database(app: Flask) -> None:
    """Fail with one line, not a traceback, when the database cannot be reached."""
    from app.extensions import db

    with app.app_context():
        try:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except (OperationalError, ArgumentError) as exc:
            from flask_babel import gettext as _

            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]  # the driver's words, untranslated
            raise ConfigError(_("cannot reach the database: %(reason)s", reason=reason)) from None


__all__ = ["create_app", "check_database", "ConfigError"]
