"""Extension singletons: created once here, bound to the app in create_app().

FAB's ``AppBuilder`` keeps per-app state (views, menu, security manager) and
cannot serve two apps, so each app gets its own, reached through the
``appbuilder`` proxy; that lets one test process hold a SQLite app and a
PostgreSQL app side by side.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, cast

from flask import current_app
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from werkzeug.local import LocalProxy

from app.models.base import Model

if TYPE_CHECKING:
    from flask_appbuilder import AppBuilder

db = SQLAlchemy(model_class=Model)
migrate = Migrate()
csrf = CSRFProtect()
appbuilder = cast("AppBuilder", LocalProxy(lambda: current_app.appbuilder))


@contextmanager
def committed() -> Iterator[None]:
    """The caller's side of "services flush, callers commit": commit what the block flushed, or roll
    it all back and re-raise. Views, jobs, CLI commands and tests use it around service calls."""
    try:
        yield
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
