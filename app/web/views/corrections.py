"""Computed records in the console: read-only views, and the Admin's audited correction page.

Engagement events, cohort snapshots, challenge results, customer badges and recommendations are
written by services and jobs; their views (``ComputedRecordView``) have no add, edit, delete or
action routes. Their show page offers "Correct..." to whoever holds write on
``TelemetryCorrections`` (Admin): a form with the columns ``services.corrections`` allows for that
table and a reason, posted with CSRF after a recent second-factor check. Refusals answer the
service's 4xx with the form and its message; nothing is changed then.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from app.extensions import db
from app.services import corrections
from app.services.data_access import get_scoped
from app.web.step_up import requires_recent_mfa
from app.web.views.json_api import current_actor

SHOW_TEMPLATE = "corrections/show.html"
# Form keys that are not columns.
_CONTROL_KEYS = frozenset({"csrf_token", "operation", "reason"})
# table -> the FAB view (class name) that shows its rows, filled as the views are built.
RECORD_VIEWS: dict[str, str] = {}


class ComputedRecordView:
    """Mixin (before ``CoachdeskModelView``): a read-only view of computed rows, with the correction link."""

    read_only = True
    show_template = SHOW_TEMPLATE
    datamodel: Any
    extra_args: Any

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        table = self.datamodel.obj.__tablename__
        if table in corrections.CORRECTABLE:
            RECORD_VIEWS[table] = type(self).__name__
            self.extra_args = {
                **(self.extra_args or {}),
                "correction_table": table,
                "correction_view": TelemetryCorrectionView.__name__,
            }


class TelemetryCorrectionView(BaseView):
    route_base = "/corrections"
    class_permission_name = "TelemetryCorrections"
    method_permission_name = {"form": "write", "correct": "write"}
    default_view = "form"

    def _row(self, table: str, row_id: int) -> tuple[corrections.Correctable, Any]:
        try:
            entry = corrections.correctable(table)
        except corrections.CorrectionRefused:
            abort(404)
        row = get_scoped(db.session, entry.model, current_actor(), row_id, for_write=True)
        if row is None:
            abort(404)
        return entry, row

    def _page(self, table: str, row_id: int, *, error: Any = None, status: int = 200) -> Any:
        entry, row = self._row(table, row_id)
        view = RECORD_VIEWS.get(table)
        body = self.render_template(
            "corrections/form.html",
            table=table,
            row_id=row_id,
            row=row,
            fields=sorted(entry.fields),
            deletable=entry.deletable,
            current=corrections.recordable(row),
            withheld=corrections.withheld(entry.model),
            show_url=url_for(f"{view}.show", pk=row_id) if view else None,
            error=error,
            form=request.form if request.method == "POST" else {},
            reason_max=corrections.REASON_MAX,
        )
        return body, status

    @expose("/<table>/<int:row_id>")
    @has_access
    def form(self, table: str, row_id: int) -> Any:
        return self._page(table, row_id)

    @expose("/<table>/<int:row_id>", methods=["POST"])
    @has_access
    @requires_recent_mfa()
    def correct(self, table: str, row_id: int) -> Any:
        self._row(table, row_id)  # unknown table or row: 404 before anything is read from the form
        operation = request.form.get("operation")
        if operation not in ("update", "delete"):
            return self._page(table, row_id, error=_("Choose to change values or to delete the record."), status=400)
        changes = {k: v for k, v in request.form.items() if k not in _CONTROL_KEYS}
        try:
            done = corrections.correct(
                table,
                row_id,
                changes=changes or None,
                delete=operation == "delete",
                reason=request.form.get("reason", ""),
                actor=current_actor(),
            )
            db.session.commit()
        except corrections.CorrectionRefused as exc:
            db.session.rollback()
            return self._page(table, row_id, error=str(exc.message), status=exc.status)
        view = RECORD_VIEWS.get(table)
        if done.after is None:
            flash(_("Record %(id)s deleted; the correction is in the audit trail.", id=done.row_id), "success")
            return redirect(url_for(f"{view}.list") if view else url_for(".form", table=table, row_id=row_id))
        flash(_("Record %(id)s corrected; the correction is in the audit trail.", id=done.row_id), "success")
        return redirect(url_for(f"{view}.show", pk=row_id) if view else url_for(".form", table=table, row_id=row_id))


def register(appbuilder: Any) -> None:
    appbuilder.add_view_no_menu(TelemetryCorrectionView)
