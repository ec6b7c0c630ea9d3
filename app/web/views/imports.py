"""Bulk import pages under ``/imports/<table>/``: upload, preview, commit as a job, its progress.

The page needs ``BulkImport`` (read to look, write to upload and commit); each table needs write
on the entities it fills as well (``TableSpec.resources``: Users and CustomerProfiles for customers),
so a role imports only what its grants let it create one by one. A person sees their own uploads
and runs; Admin sees every run.
"""

from __future__ import annotations

import io
from typing import Any

from flask import abort, current_app, flash, g, jsonify, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from app.extensions import db
from app.models.jobs import JobRun
from app.models.labels import choices
from app.services.imports import files, service
from app.services.imports.specs import SPECS, TableSpec, get_spec
from app.services.jobs import runs as job_runs
from app.services.jobs.errors import JobsUnavailable
from app.web.views.json_api import current_actor

FORMATS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def importable_tables() -> list[TableSpec]:
    """The tables the signed-in person may import into (write on each of the table's resources)."""
    sm = current_app.appbuilder.sm
    if not sm.has_access("can_write", "BulkImport"):
        return []
    return [s for s in SPECS.values() if all(sm.has_access("can_write", r) for r in s.resources)]


def import_url_for(view_name: str) -> str | None:
    """The import page of a console list (by its view's name), if the person may import there."""
    for spec in importable_tables():
        if spec.list_endpoint.split(".")[0] == view_name:
            return url_for("ImportView.table", table=spec.key)
    return None


class ImportView(BaseView):
    route_base = "/imports"
    default_view = "index"
    class_permission_name = "BulkImport"
    method_permission_name = {
        "index": "read",
        "table": "read",
        "template": "read",
        "preview": "read",
        "errors": "read",
        "run": "read",
        "status": "read",
        "upload": "write",
        "commit": "write",
    }

    # ------------------------------------------------------------------ helpers

    def _spec(self, table: str) -> TableSpec:
        spec = get_spec(table)
        if spec is None:
            abort(404)
        if spec not in importable_tables():
            abort(403)
        return spec

    def _upload(self, spec: TableSpec, token: str) -> files.Upload:
        upload = files.load(token)
        if upload is None or upload.table != spec.key:
            abort(404)
        if upload.console_user_id != g.user.id and not current_actor().is_admin:
            abort(404)
        return upload

    def _run(self, spec: TableSpec, run_id: int) -> JobRun:
        run = db.session.get(JobRun, run_id)
        params = (run.params or {}) if run is not None else {}
        if run is None or run.kind != service.KIND or params.get("table") != spec.key:
            abort(404)
        if params.get("console_user_id") != g.user.id and not current_actor().is_admin:
            abort(404)
        return run

    def _table_page(self, spec: TableSpec, error: str | None = None, status: int = 200) -> Any:
        mine = None if current_actor().is_admin else g.user.id
        page = self.render_template(
            "imports/table.html",
            spec=spec,
            error=error,
            runs=service.recent_runs(spec.key, console_user_id=mine),
            max_mb=files.max_bytes() // (1024 * 1024),
            job_error=job_runs.failure_message,
            enum_choices=choices,
        )
        return page, status

    # ------------------------------------------------------------------ pages

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self.render_template("imports/index.html", tables=importable_tables())

    @expose("/<table>/")
    @has_access
    def table(self, table: str) -> Any:
        return self._table_page(self._spec(table))

    @expose("/<table>/template.<fmt>")
    @has_access
    def template(self, table: str, fmt: str) -> Any:
        spec = self._spec(table)
        if fmt not in FORMATS:
            abort(404)
        body = files.template_csv(spec.header) if fmt == "csv" else files.template_xlsx(spec.header)
        return send_file(
            io.BytesIO(body), mimetype=FORMATS[fmt], as_attachment=True, download_name=f"{spec.key}-template.{fmt}"
        )

    @expose("/<table>/upload", methods=["POST"])
    @has_access
    def upload(self, table: str) -> Any:
        spec = self._spec(table)
        limit = files.max_bytes()
        if request.content_length is not None and request.content_length > limit + 64 * 1024:
            return self._table_page(spec, _("The file is larger than %(mb)s MB.", mb=limit // (1024 * 1024)), 413)
        try:
            sent = request.files.get("file")
        except RequestEntityTooLarge:
            return self._table_page(spec, _("The file is larger than %(mb)s MB.", mb=limit // (1024 * 1024)), 413)
        if sent is None or not sent.filename:
            return self._table_page(spec, _("Choose a .csv or .xlsx file to upload."), 400)
        data = sent.stream.read(limit + 1)
        try:
            upload = files.store(spec.key, sent.filename, data, g.user.id)
        except files.ImportFileError as exc:
            return self._table_page(spec, str(exc), exc.status)
        return redirect(url_for(".preview", table=spec.key, token=upload.token))

    @expose("/<table>/preview/<token>")
    @has_access
    def preview(self, table: str, token: str) -> Any:
        spec = self._spec(table)
        upload = self._upload(spec, token)
        try:
            spec, validation = service.preview(db.session, upload)
        except files.ImportFileError as exc:
            return self._table_page(spec, str(exc), exc.status)
        invalid = validation.invalid
        return self.render_template(
            "imports/preview.html",
            spec=spec,
            upload=upload,
            validation=validation,
            sample=validation.rows[: service.PREVIEW_ROWS],
            invalid_sample=invalid[:100],
            invalid_count=len(invalid),
        )

    @expose("/<table>/errors/<token>")
    @has_access
    def errors(self, table: str, token: str) -> Any:
        upload = self._upload(self._spec(table), token)
        if not upload.error_report.exists():
            abort(404)
        return send_file(
            upload.error_report, mimetype="text/csv", as_attachment=True, download_name=f"{table}-import-errors.csv"
        )

    @expose("/<table>/commit/<token>", methods=["POST"])
    @has_access
    def commit(self, table: str, token: str) -> Any:
        spec = self._spec(table)
        upload = self._upload(spec, token)
        try:
            run = service.start_commit(upload, requested_by=current_actor().user_id)
        except JobsUnavailable as exc:
            return self._table_page(spec, str(exc), 503)
        flash(_("Import #%(id)s queued.", id=run.id), "info")
        return redirect(url_for(".run", table=spec.key, run_id=run.id))

    @expose("/<table>/runs/<int:run_id>")
    @has_access
    def run(self, table: str, run_id: int) -> Any:
        spec = self._spec(table)
        run = self._run(spec, run_id)
        upload = files.load(str((run.params or {}).get("token", "")))
        report = upload is not None and upload.error_report.exists()
        return self.render_template(
            "imports/run.html",
            spec=spec,
            run=run,
            upload=upload if report else None,
            error=job_runs.failure_message(run),
        )

    @expose("/<table>/runs/<int:run_id>/status")
    @has_access
    def status(self, table: str, run_id: int) -> Any:
        return jsonify(job_runs.run_status(self._run(self._spec(table), run_id)))


def register(appbuilder: Any) -> None:
    appbuilder.add_view_no_menu(ImportView)
    current_app.add_template_global(import_url_for, "import_url_for")
