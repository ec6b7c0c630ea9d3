"""Bulk actions on console lists: the selected rows are loaded in one scoped query, changed in one transaction.

An ``@action`` method is a write: its permission is ``can_write`` on the view's resource.
The permission is checked before anything about the action is revealed (``HardenedViewMixin``).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import FunctionType
from typing import Any

from flask import abort, flash, g, redirect, request
from flask_appbuilder import expose
from flask_babel import gettext as _
from sqlalchemy.exc import DataError, IntegrityError

from app.services.data_access import MAX_PAGE_SIZE, get_many_scoped


class ActionsMixin:
    """Put before ``HardenedViewMixin``: FAB's action routes with the row scope and clean errors."""

    #: An unknown action name is checked against the write permission.
    unknown_action_permission = "can_write"

    datamodel: Any
    actions: dict[str, Any]

    @classmethod
    def _action_permissions(cls) -> dict[str, str]:
        """Every ``@action`` method, named for FAB's ``method_permission_name``: all are writes."""
        found: dict[str, str] = {}
        for klass in cls.__mro__:
            for name, value in vars(klass).items():
                if isinstance(value, FunctionType) and hasattr(value, "_action"):
                    found.setdefault(name, "write")
        return found

    @expose("/action/<string:name>/<pk>", methods=["POST"])
    def action(self, name: str, pk: str) -> Any:
        self._require_action_permission(name)
        action = self.actions.get(name)
        if action is None:
            abort(404)
        item = self.datamodel.get(pk)
        if item is None:
            abort(404)
        return action.func([item])

    @expose("/action_post", methods=["POST"])
    def action_post(self) -> Any:
        name = request.form.get("action", "")
        self._require_action_permission(name)
        action = self.actions.get(name)
        if action is None:
            abort(400)
        items = get_many_scoped(
            self.datamodel.session, self.datamodel.obj, g.user, request.form.getlist("rowid")[:MAX_PAGE_SIZE],
            for_write=True,
        )  # fmt: skip
        if not items:
            flash(_("No records selected (or none you may change)."), "warning")
            return redirect(self.get_redirect())
        return action.func(items)

    def run_bulk(self, items: Sequence[Any], change: Any, done_message: str) -> Any:
        """Apply ``change(items, actor)`` (a service function) in one transaction and report."""
        session = self.datamodel.session
        try:
            count = change(session, items, g.user)
            session.commit()
        except (IntegrityError, DataError) as exc:
            session.rollback()
            flash(self.describe_db_error(exc), "danger")
        except ValueError as exc:
            session.rollback()
            flash(str(exc), "danger")
        else:
            flash(done_message % {"count": count}, "success")
        return redirect(self.get_redirect())
