"""Coachdesk, the back-office console of a coaching business.

The application is built by ``app.factory.create_app``. This package module only
forwards to it, lazily, so that importing a model or a service (a job worker, a
migration, a benchmark) does not import the whole web stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from config import ConfigError

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Any = None, **overrides: Any) -> Flask:
    """Build the Flask app (see ``app.factory.create_app``)."""
    from app.factory import create_app as build

    return build(config, **overrides)


def check_database(app: Flask) -> None:
    """Fail with one line, not a traceback, when the database cannot be reached."""
    from app.factory import check_database as check

    check(app)


__all__ = ["create_app", "check_database", "ConfigError"]
