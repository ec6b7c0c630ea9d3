"""Compliance pages: audit exports, retention policies and legal holds, data-subject requests, jobs.

Thin: every action calls a service; the services also back the jobs and the CLI.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, flash, g, jsonify, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models.compliance import DataRetentionPolicy, DeletionStrategy
from app.models.identity import PlatformUser
from app.models.jobs import JobRun, JobStatus
from app.models.labels import choices as label_choices
from app.models.labels import code_label, enum_label
from app.policy.scope import scope_criteria
from app.services.audit import chain as audit
from app.services.compliance import audit_export as exports
from app.services.compliance import data_subject as dsr
from app.services.compliance.data_subject import ERASURE_KIND as SUBJECT_ERASURE
from app.services.compliance.data_subject import EXPORT_KIND as SUBJECT_EXPORT
from app.services.jobs import queues as job_queues
from app.services.jobs import runs as job_runs
from app.services.jobs.errors import JobError, JobsUnavailable
from app.services.people_search import users_matching
from app.services.retention import holds as legal_holds
from app.services.retention import policies as retention_policies
from app.services.retention import runner as retention
from app.services.timezones import zone_name
from app.web.input_guard import MAX_KEY
from app.web.step_up import requires_recent_mfa
from app.web.views.base.references import show_endpoint

READ, WRITE = "read", "write"
MENU = "Compliance"


def _actor() -> Any:
    return getattr(g.user, "platform_user_id", None)


def _people(*, data_subjects: bool) -> Any:
    """Select2 results for the actor and data-subject pickers: people by name or email, in the viewer's scope."""
    criteria = scope_criteria(PlatformUser, g.user)
    if data_subjects:  # the system user acts, but is nobody's personal data
        criteria = sa.and_(criteria, PlatformUser.email != audit.SYSTEM_EMAIL)
    found = users_matching(db.session, criteria, request.args.get("q", request.args.get("term", "")), limit=20)
    return jsonify({"results": found, "pagination": {"more": False}})


def _person_label(ref: str | None) -> str:
    """The name shown again in a picker after a failed submit."""
    try:
        user = db.session.get(PlatformUser, uuid.UUID(str(ref))) if ref else None
    except ValueError:
        return ""
    return f"{user.full_name} <{user.email}>" if user is not None else ""


def _run_or_404(run_id: int, kinds: tuple[str, ...]) -> JobRun:
    run = db.session.get(JobRun, run_id)
    if run is None or run.kind not in kinds:
        abort(404)
    return run


class AuditExportView(BaseView):
    route_base = "/compliance/exports"
    class_permission_name = "AuditExports"
    method_permission_name = {"index": READ, "create": WRITE, "status": READ, "download": READ, "people": READ}
    default_view = "index"

    def _page(self, error: str | None = None, status: int = 200) -> Any:
        runs = job_runs.recent_runs(50, kinds=(exports.KIND,))
        zone = get_timezone()
        body = self.render_template(
            "compliance/exports.html",
            runs=runs,
            error=error,
            form=request.form,
            formats=list(exports.FORMATS),
            zone=zone_name(zone),
            instant=_instant,
            chain_failure=_chain_failure,
            actor_label=_person_label(request.form.get("actor")),
        )
        return body, status

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self._page()

    @expose("/people")
    @has_access
    def people(self) -> Any:
        """The actor picker's choices."""
        return _people(data_subjects=False)

    @expose("/", methods=["POST"])
    @has_access
    def create(self) -> Any:
        form = request.form
        try:
            params = exports.build_params(
                form.get("start"),
                form.get("end"),
                form.get("format", ""),
                form.get("actor") or None,
                form.get("action") or None,
                form.get("resource_type") or None,
                zone=get_timezone(),
            )
            run = exports.request_export(params, _actor())
        except exports.ExportError as exc:
            return self._page(str(exc), 400)
        except JobsUnavailable as exc:
            return self._page(str(exc), 503)
        flash(_("Export #%(id)s queued.", id=run.id), "info")
        return redirect(url_for(".index", run=run.id))

    @expose("/<int:run_id>/status")
    @has_access
    def status(self, run_id: int) -> Any:
        run = _run_or_404(run_id, (exports.KIND,))
        status = _status_json(run)
        failure = _chain_failure(run)
        if failure:  # a finished export whose chain did not verify is never shown as a success
            status.update(status=_("verification failed"), status_label=_("verification failed"), error=failure)
        return jsonify(status)

    @expose("/<int:run_id>/download/<which>")
    @has_access
    @requires_recent_mfa()
    def download(self, run_id: int, which: str) -> Any:
        if which not in ("data", "manifest"):
            abort(404)
        try:
            _, path = exports.export_file(run_id, which)
        except exports.ExportError:
            abort(404)
        exports.record_download(run_id, which)
        return send_file(path, as_attachment=True, download_name=path.name)


def job_status_label(status: str) -> str:
    """A run's status as people read it ("Succeeded", "Erfolgreich"); the code stays in data-status."""
    try:
        return enum_label(JobStatus(status))
    except ValueError:
        return status


def strategy_label(strategy: Any) -> str:
    """A deletion strategy (member or stored code) by its label."""
    try:
        return enum_label(DeletionStrategy(getattr(strategy, "value", strategy)))
    except ValueError:
        return str(strategy)


def job_kind_label(kind: str) -> str:
    return code_label("job_kind", kind)


def _status_json(run: JobRun) -> dict[str, Any]:
    """The polled status, with the label the page shows next to the code the script tests."""
    return {**job_runs.run_status(run), "status_label": job_status_label(run.status)}


def _subjects(runs: list[JobRun]) -> dict[int, tuple[str, str | None]]:
    """Whose request each run is: the person's name and their page (one query for the whole list)."""
    wanted: dict[int, uuid.UUID] = {}
    for run in runs:
        try:
            wanted[run.id] = uuid.UUID(str((run.params or {}).get("user_id")))
        except ValueError:
            continue
    users = db.session.execute(
        sa.select(PlatformUser.id, PlatformUser.full_name, PlatformUser.email).where(
            PlatformUser.id.in_(set(wanted.values()))
        )
    ).all()
    names = {uid: name or email for uid, name, email in users}
    endpoint = show_endpoint(PlatformUser)
    out: dict[int, tuple[str, str | None]] = {}
    for run_id, uid in wanted.items():
        if uid in names:
            out[run_id] = (names[uid], url_for(endpoint, pk=str(uid)) if endpoint else None)
        else:
            out[run_id] = (_("(deleted user)"), None)
    return out


def _hard_delete(policy_id: int) -> bool:
    """Step-up applies to runs that delete for good (an unknown policy is the route's 404)."""
    policy = db.session.get(DataRetentionPolicy, policy_id)
    return policy is not None and policy.deletion_strategy == DeletionStrategy.HARD_DELETE


def _chain_failure(run: JobRun) -> str | None:
    """Why a finished export's chain did not verify (shown as a failure), or None."""
    result = run.result or {}
    if run.status != JobStatus.SUCCEEDED or result.get("chain_verified") is not False:
        return None
    problem = result.get("chain_problem") or {}
    return _(
        "Chain verification FAILED at row id %(id)s: %(reason)s",
        id=problem.get("id", "?"),
        reason=problem.get("reason", "?"),
    )


def _instant(iso: str | None) -> dt.datetime | str | None:
    """A run's stored ISO time, as a datetime the page shows in the viewer's zone."""
    try:
        return dt.datetime.fromisoformat(iso) if iso else None
    except (TypeError, ValueError):
        return iso


class RetentionView(BaseView):
    route_base = "/compliance/retention"
    class_permission_name = "DataRetentionPolicies"
    method_permission_name = {
        "index": READ, "save": WRITE, "dry_run": READ, "run_now": WRITE, "hold": WRITE, "people": READ,
    }  # fmt: skip
    default_view = "index"

    def _page(self, error: str | None = None, status: int = 200, dry: Any = None, confirm: Any = None) -> Any:
        policies = retention_policies.all_policies()
        runs = job_runs.recent_runs(30, kinds=(retention.KIND,))
        body = self.render_template(
            "compliance/retention.html",
            policies=policies,
            entities=retention_policies.RETENTION_ENTITIES,
            strategies=label_choices(DeletionStrategy),
            runs=runs,
            held=legal_holds.held_users(),
            error=error,
            dry=dry,
            confirm=confirm,
        )
        return body, status

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self._page()

    @expose("/people")
    @has_access
    def people(self) -> Any:
        """The legal hold's person picker: people by name or email."""
        return _people(data_subjects=True)

    @expose("/policies", methods=["POST"])
    @has_access
    def save(self) -> Any:
        form = request.form
        policy_id = form.get("policy_id", "").strip()
        if policy_id and not (policy_id.isascii() and policy_id.isdigit() and int(policy_id) <= MAX_KEY):
            return self._page(_("Unknown policy."), 400)
        try:
            retention_policies.save_policy(
                form.get("entity", ""),
                form.get("strategy", ""),
                form.get("days", ""),
                form.get("enabled") == "y",
                int(policy_id) if policy_id else None,
            )
        except retention_policies.RetentionError as exc:
            return self._page(str(exc), 400)
        flash(_("Retention policy saved."), "info")
        return redirect(url_for(".index"))

    def _policy(self, policy_id: int) -> DataRetentionPolicy:
        policy = db.session.get(DataRetentionPolicy, policy_id)
        if policy is None:
            abort(404)
        return policy

    @expose("/policies/<int:policy_id>/dry-run", methods=["POST"])
    @has_access
    def dry_run(self, policy_id: int) -> Any:
        try:
            result = retention.dry_run(self._policy(policy_id))
        except retention_policies.RetentionError as exc:
            return self._page(str(exc), 400)
        return self._page(dry=result)

    @expose("/policies/<int:policy_id>/run", methods=["POST"])
    @has_access
    @requires_recent_mfa(when=lambda policy_id: _hard_delete(policy_id))
    def run_now(self, policy_id: int) -> Any:
        """First POST: show the dry run's count and ask; the confirm form posts it back with the policy version."""
        form = request.form
        count = retention.confirmed_count(form.get("confirmed_count"))
        try:
            run = retention.request_run(self._policy(policy_id), _actor(), count, form.get("policy_version"))
        except retention_policies.RetentionError as exc:
            return self._page(str(exc), 400)
        except JobsUnavailable as exc:
            return self._page(str(exc), 503)
        if isinstance(run, retention.RunConfirmation):
            return self._page(status=409 if run.reason else 200, dry=run.dry, confirm=run)
        flash(_("Retention run #%(id)s queued.", id=run.id), "info")
        return redirect(url_for(".index"))

    @expose("/holds", methods=["POST"])
    @has_access
    def hold(self) -> Any:
        form = request.form
        try:
            user = dsr.find_subject(form.get("user", ""))
            legal_holds.set_legal_hold(user.id, form.get("held") == "y", form.get("reason", ""))
        except (dsr.SubjectRequestError, retention_policies.RetentionError) as exc:
            return self._page(str(exc), 400)
        flash(_("Legal hold updated."), "info")
        return redirect(url_for(".index"))


class DataSubjectView(BaseView):
    route_base = "/compliance/subjects"
    class_permission_name = "DataSubjectRequests"
    method_permission_name = {"index": READ, "create": WRITE, "status": READ, "download": READ, "people": READ}
    default_view = "index"
    kinds = (SUBJECT_EXPORT, SUBJECT_ERASURE)

    def _page(self, error: str | None = None, status: int = 200) -> Any:
        runs = job_runs.recent_runs(50, kinds=tuple(self.kinds))
        return self.render_template(
            "compliance/subjects.html", runs=runs, subjects=_subjects(runs), error=error
        ), status

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self._page()

    @expose("/people")
    @has_access
    def people(self) -> Any:
        """The data-subject picker's choices."""
        return _people(data_subjects=True)

    @expose("/", methods=["POST"])
    @has_access
    @requires_recent_mfa(when=lambda: request.form.get("kind") == "erase")
    def create(self) -> Any:
        kind = request.form.get("kind")
        if kind not in ("export", "erase"):
            return self._page(_("Choose export or erasure."), 400)
        if kind == "erase" and request.form.get("confirm") != "y":
            return self._page(_("Tick the box to confirm the erasure: it cannot be undone."), 400)
        try:
            user = dsr.find_subject(request.form.get("user", ""))
            start = dsr.request_export if kind == "export" else dsr.request_erasure
            run = start(user, _actor())
        except dsr.SubjectRequestError as exc:
            return self._page(str(exc), 400)
        except JobsUnavailable as exc:
            return self._page(str(exc), 503)
        flash(_("Request #%(id)s queued.", id=run.id), "info")
        return redirect(url_for(".index"))

    @expose("/<int:run_id>/status")
    @has_access
    def status(self, run_id: int) -> Any:
        return jsonify(_status_json(_run_or_404(run_id, self.kinds)))

    @expose("/<int:run_id>/download")
    @has_access
    @requires_recent_mfa()
    def download(self, run_id: int) -> Any:
        try:
            path = dsr.subject_file(run_id)
        except dsr.SubjectRequestError:
            abort(404)
        audit.record("dsr.download", "job_runs", run_id, {"file": path.name}, commit=True)
        return send_file(path, as_attachment=True, download_name=path.name)


class JobsView(BaseView):
    route_base = "/compliance/jobs"
    class_permission_name = "Jobs"
    method_permission_name = {"index": READ, "status": READ, "retry": WRITE, "cancel": WRITE}
    default_view = "index"

    def _page(self, error: str | None = None, code: int = 200, status: str | None = None) -> Any:
        try:
            queues = job_queues.queue_counts()
            queue_error = None
        except Exception as exc:  # Redis down: the SQL side is still worth showing
            queues, queue_error = [], f"{exc.__class__.__name__}"
        body = self.render_template(
            "compliance/jobs.html",
            queues=queues,
            queue_error=queue_error,
            runs=job_runs.recent_runs(100, status),
            error=error,
        )
        return body, code

    @expose("/")
    @has_access
    def index(self) -> Any:
        status = request.args.get("status") or None
        if status and status not in ("queued", "running", "succeeded", "failed", "cancelled"):
            return self._page(_("Unknown status filter."), 400)
        return self._page(status=status)

    @expose("/<int:run_id>/status")
    @has_access
    def status(self, run_id: int) -> Any:
        run = db.session.get(JobRun, run_id)
        if run is None:
            abort(404)
        return jsonify(_status_json(run))

    def _act(self, run_id: int, action: Any, message: str) -> Any:
        """Retry or cancel; the service writes the audit row, the view commits it."""
        if db.session.get(JobRun, run_id) is None:
            abort(404)
        try:
            action(run_id)
        except JobsUnavailable as exc:
            return self._page(str(exc), 503)
        except JobError as exc:
            return self._page(str(exc), 409)
        db.session.commit()
        flash(message, "info")
        return redirect(url_for(".index"))

    @expose("/<int:run_id>/retry", methods=["POST"])
    @has_access
    def retry(self, run_id: int) -> Any:
        return self._act(run_id, job_runs.retry_run, _("Job re-dispatched."))

    @expose("/<int:run_id>/cancel", methods=["POST"])
    @has_access
    def cancel(self, run_id: int) -> Any:
        return self._act(run_id, job_runs.cancel_run, _("Cancellation requested."))


def register(appbuilder: Any) -> None:
    # Templates show a failed run's error through this: known failures in the reader's language.
    current_app.add_template_global(job_runs.failure_message, "job_error")  # register_views runs in the app context
    current_app.add_template_global(job_status_label, "job_status_label")
    current_app.add_template_global(job_kind_label, "job_kind_label")
    current_app.add_template_global(strategy_label, "strategy_label")
    pages = (
        (AuditExportView, "Audit exports", _l("Audit exports"), "fa-download"),
        (RetentionView, "Retention and legal holds", _l("Retention and legal holds"), "fa-clock-o"),
        (DataSubjectView, "Data-subject requests", _l("Data-subject requests"), "fa-user-secret"),
        (JobsView, "Jobs", _l("Jobs"), "fa-tasks"),
    )
    for view, name, label, icon in pages:
        appbuilder.add_view(view, name, label=label, icon=icon, category=MENU, category_label=_l("Compliance"))
