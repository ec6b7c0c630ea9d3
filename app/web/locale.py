"""Flask-Babel's selectors: which language and time zone a page is rendered in.

They read the request (switcher choice, signed-in account, browser), so they live in the
web layer; outside a request they fall back to the process's choice, so the CLI and jobs
use the same selectors.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import get_locale, get_timezone

from app.i18n import process_locale
from app.services.timezones import describe_zone, effective_zone, zone_name


def select_locale() -> str:
    """The console language: switcher choice, then account setting, then browser, then English.

    Outside a request (CLI): the process environment's choice, see ``app.i18n.process_locale``.
    """
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


def select_timezone() -> str:
    """The zone times are shown in: the signed-in account's own, else the configured default."""
    default = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    if not has_request_context():  # jobs and CLI
        return default
    user = getattr(g, "user", None)
    account = user if user is not None and not user.is_anonymous else None
    return effective_zone(account, default)


def describe_console_timezone() -> Any:
    """The viewer's zone with its abbreviation and offset now, e.g. "Europe/Berlin (CET, UTC+01:00)"."""
    tz = get_timezone()
    return describe_zone(tz, zone_name(tz))


def install_selectors(app: Flask) -> None:
    """Swap FAB's browser-blind locale selector for ours, and expose locale and zone to templates."""
    # FAB's BabelManager initialises Flask-Babel with a selector that ignores the
    # browser; replace it on the configuration object Flask-Babel keeps.
    app.extensions["babel"].locale_selector = select_locale
    app.extensions["babel"].timezone_selector = select_timezone

    @app.context_processor
    def _console_locale() -> dict[str, Any]:
        # The zone is lazy: only pages that show the footer line (or a tooltip) pay for it.
        return {"console_locale": str(get_locale() or "en"), "console_timezone": describe_console_timezone}
