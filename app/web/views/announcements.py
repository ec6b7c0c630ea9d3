"""Announcements in the console: the list, composing with typed audience widgets, the preview, and sending.

Nobody types the audience as JSON: products, coaches and sign-up months are multi-selects, the
subscription statuses and languages checkboxes, activity two day counts; the form becomes the
criteria ``services.engagement.segments`` validates. "Preview" shows the audience size and how many
lack marketing consent before anything is saved; a saved draft's page shows the same preview with
the schedule, send and cancel buttons (POSTs with CSRF). A sent announcement's page shows its
delivery rows by status. Reading needs ``Announcements`` read (Admin, Manager, Support); every
change needs write (Admin, Manager).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, current_app, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models.base import utcnow
from app.models.commerce import Product, SubscriptionStatus
from app.models.engagement import Announcement, AnnouncementStatus, Channel
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole
from app.models.jobs import JobRun
from app.policy.roles import WRITE, allowed
from app.services.engagement import announcements as svc
from app.services.engagement import segments
from app.services.engagement.errors import EngagementError
from app.services.jobs import runs as job_runs
from app.services.jobs.errors import JobsUnavailable
from app.web.views.base.datamodel import ScopedSQLAInterface
from app.web.views.base.model_view import CoachdeskModelView
from app.web.views.json_api import current_actor
from app.web.views.schedule_input import viewer_zone_name

RESOURCE = "Announcements"
PAGE_SIZE = 50
MAX_OPTIONS = 500
COHORT_MONTHS_SHOWN = 36
MAX_FORM_IDS = 200

STATUS_LABELS = {
    AnnouncementStatus.DRAFT: _l("Draft"),
    AnnouncementStatus.SCHEDULED: _l("Scheduled"),
    AnnouncementStatus.SENT: _l("Sent"),
    AnnouncementStatus.CANCELLED: _l("Cancelled"),
}
CHANNEL_LABELS = {Channel.EMAIL: _l("Email"), Channel.SMS: _l("SMS"), Channel.PUSH: _l("Push"),
                  Channel.INAPP: _l("In-app")}  # fmt: skip
SUBSCRIPTION_LABELS = {
    SubscriptionStatus.TRIAL: _l("Trial"), SubscriptionStatus.ACTIVE: _l("Active"),
    SubscriptionStatus.PAUSED: _l("Paused"), SubscriptionStatus.PAST_DUE: _l("Past due"),
    SubscriptionStatus.CANCELLED: _l("Cancelled"), SubscriptionStatus.EXPIRED: _l("Expired"),
}  # fmt: skip


class FormError(EngagementError):
    """A form value no widget could have sent (not a number, an absurd count): 400."""

    status = 400


def _ints(name: str, label: str) -> list[int]:
    values = request.form.getlist(name)
    if len(values) > MAX_FORM_IDS:
        raise FormError(_("%(field)s: too many values.", field=label), field=name)
    out = []
    for raw in values:
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
            raise FormError(_("%(field)s: not a valid choice.", field=label), field=name)
        out.append(int(raw))
    return out


def _day_count(name: str, label: str) -> int | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
        raise FormError(_("%(field)s must be a whole number of days.", field=label), field=name)
    return int(raw)


def _strings(name: str, label: str) -> list[str]:
    values = [v for v in request.form.getlist(name) if v]
    if len(values) > MAX_FORM_IDS or any(len(v) > 64 for v in values):
        raise FormError(_("%(field)s: not a valid choice.", field=label), field=name)
    return values


def criteria_from_form() -> dict[str, Any]:
    """The widgets' values as segment criteria (validation of ids and ranges is the service's)."""
    criteria: dict[str, Any] = {
        "product_ids": _ints("product_ids", _("Products")),
        "subscription_statuses": _strings("subscription_statuses", _("Subscription status")),
        "coach_ids": _strings("coach_ids", _("Coaches")),
        "cohort_months": _strings("cohort_months", _("Signed up in")),
        "active_within_days": _day_count("active_within_days", _("Active within")),
        "inactive_for_days": _day_count("inactive_for_days", _("Inactive for")),
        "locales": _strings("locales", _("Languages")),
    }
    return {key: value for key, value in criteria.items() if value not in (None, [])}


def draft_from_form() -> svc.Draft:
    form = request.form
    return svc.Draft(title=form.get("title", ""), body=form.get("body", ""), channel=form.get("channel", ""),
                     criteria=criteria_from_form(), is_marketing=form.get("is_marketing") == "1")  # fmt: skip


def scheduled_at_from_form() -> dt.datetime:
    """The send time typed in the viewer's zone ("2026-12-03T09:30")."""
    raw = request.form.get("scheduled_at", "").strip()
    try:
        local = dt.datetime.fromisoformat(raw) if 0 < len(raw) <= 32 else None
    except ValueError:
        local = None
    if local is None:
        raise FormError(_("Give the date and time to send at."), field="scheduled_at")
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(viewer_zone_name()))
    return local


def _months() -> list[str]:
    today = utcnow().date()
    year, month, out = today.year, today.month, []
    for _n in range(COHORT_MONTHS_SHOWN):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out


def options() -> dict[str, Any]:
    """What the widgets offer: products, coaches, statuses, months, languages, channels."""
    products = db.session.execute(sa.select(Product.id, Product.name).order_by(Product.name).limit(MAX_OPTIONS))
    coach_ids = sa.select(UserRole.user_id).join(PlatformRole).where(PlatformRole.code == RoleCode.COACH)
    coaches = db.session.execute(sa.select(PlatformUser.id, PlatformUser.full_name)
                                 .where(PlatformUser.id.in_(coach_ids))
                                 .order_by(PlatformUser.full_name).limit(MAX_OPTIONS))  # fmt: skip
    languages = current_app.config.get("LANGUAGES", {})
    return {
        "products": [(str(pid), name) for pid, name in products],
        "coaches": [(str(cid), name) for cid, name in coaches],
        "statuses": [(s.value, SUBSCRIPTION_LABELS[s]) for s in SubscriptionStatus],
        "months": _months(),
        "locales": [(code, spec.get("name", code)) for code, spec in languages.items()],
        "channels": [(c.value, CHANNEL_LABELS[c]) for c in Channel],
    }


def _form_values(row: Announcement | None) -> dict[str, Any]:
    """The form's values: the request's on a re-shown form, else the saved draft's, else a new one's."""
    if request.method == "POST":
        return {"title": request.form.get("title", ""), "body": request.form.get("body", ""),
                "channel": request.form.get("channel", ""), "is_marketing": request.form.get("is_marketing") == "1",
                "criteria": _lenient_criteria()}  # fmt: skip
    if row is not None:
        return {"title": row.title, "body": row.body, "channel": row.channel.value, "is_marketing": row.is_marketing,
                "criteria": row.segment_json or {}}  # fmt: skip
    return {"title": "", "body": "", "channel": Channel.EMAIL.value, "is_marketing": True, "criteria": {}}


def _lenient_criteria() -> dict[str, Any]:
    """The posted widget values as they were, to show them again (no checks: they are only re-displayed)."""
    names = ("product_ids", "subscription_statuses", "coach_ids", "cohort_months", "locales")
    out: dict[str, Any] = {name: [v[:64] for v in request.form.getlist(name)[:MAX_FORM_IDS]] for name in names}
    out["product_ids"] = [int(v) for v in out["product_ids"] if v.isascii() and v.isdigit() and len(v) <= 10]
    for name in ("active_within_days", "inactive_for_days"):
        out[name] = request.form.get(name, "")[:10]
    return out


def can_write() -> bool:
    return any(allowed(role, RESOURCE, WRITE) for role in current_actor().roles)


def _load(announcement_id: int) -> Announcement:
    row = db.session.get(Announcement, announcement_id)
    if row is None:
        abort(404)
    return row


def _send_run(announcement_id: int) -> JobRun | None:
    return db.session.scalar(sa.select(JobRun).where(JobRun.dedupe_key == svc.send_dedupe_key(announcement_id)))


class AnnouncementsView(BaseView):
    route_base = "/announcements"
    default_view = "list"
    class_permission_name = RESOURCE
    method_permission_name = {
        "list": "read", "show": "read", "progress": "read",
        "compose": "write", "edit": "write", "schedule": "write", "send": "write", "cancel": "write",
    }  # fmt: skip

    def _compose_page(self, row: Announcement | None, *, error: EngagementError | None = None,
                      shown: svc.Preview | None = None) -> Any:  # fmt: skip
        body = self.render_template(
            "announcements/compose.html", row=row, values=_form_values(row), options=options(), preview=shown,
            error=error.message if error else None, error_field=error.field if error else None,
            title=_("Edit announcement") if row is not None else _("New announcement"),
        )  # fmt: skip
        return body, (error.status if error else 200)

    def _save(self, row: Announcement | None) -> Any:
        try:
            draft = draft_from_form()
            if request.form.get("step") == "preview":
                criteria = segments.validate(db.session, draft.criteria)
                svc.check_draft(db.session, draft)
                shown = svc.preview(db.session, criteria, is_marketing=draft.is_marketing)
                db.session.rollback()
                return self._compose_page(row, shown=shown)
            if row is None:
                created_by = getattr(g.user, "platform_user_id", None)
                row = svc.create_draft(db.session, draft, created_by=created_by)
            else:
                row = svc.update_draft(db.session, row.id, draft)
            announcement_id = row.id
            db.session.commit()
        except EngagementError as exc:
            db.session.rollback()
            return self._compose_page(row, error=exc)
        flash(_("Draft saved. Check the audience, then schedule or send it."), "info")
        return redirect(url_for(".show", announcement_id=announcement_id))

    @expose("/")
    @has_access
    def list(self) -> Any:
        status = request.args.get("status", "")
        stmt = sa.select(Announcement).order_by(Announcement.created_at.desc(), Announcement.id.desc())
        if status in AnnouncementStatus.__members__:
            stmt = stmt.where(Announcement.status == AnnouncementStatus(status))
        rows = db.session.scalars(stmt.limit(PAGE_SIZE)).all()
        return self.render_template(
            "announcements/list.html", rows=rows, counts=svc.delivery_counts_many(db.session, [r.id for r in rows]),
            status=status, statuses=STATUS_LABELS, channels=CHANNEL_LABELS,
            can_write=can_write(), title=_("Announcements"),
        )  # fmt: skip

    @expose("/new", methods=["GET", "POST"])
    @has_access
    def compose(self) -> Any:
        if request.method == "POST":
            return self._save(None)
        return self._compose_page(None)

    @expose("/<int:announcement_id>/edit", methods=["GET", "POST"])
    @has_access
    def edit(self, announcement_id: int) -> Any:
        row = _load(announcement_id)
        if row.status != AnnouncementStatus.DRAFT:
            flash(_("Only a draft can be edited."), "warning")
            return redirect(url_for(".show", announcement_id=row.id))
        if request.method == "POST":
            return self._save(row)
        return self._compose_page(row)

    def _show_page(self, row: Announcement, error: str | None = None, status: int = 200) -> Any:
        shown = None
        if row.status in (AnnouncementStatus.DRAFT, AnnouncementStatus.SCHEDULED):
            try:
                criteria = segments.validate(db.session, row.segment_json or {})
                shown = svc.preview(db.session, criteria, is_marketing=row.is_marketing)
            except EngagementError as exc:  # a product or coach deleted since the draft was saved
                error = error or exc.message
        body = self.render_template(
            "announcements/show.html", row=row, preview=shown, counts=svc.delivery_counts(db.session, row.id),
            run=_send_run(row.id), statuses=STATUS_LABELS, channels=CHANNEL_LABELS, can_write=can_write(),
            error=error, zone=viewer_zone_name(), title=row.title,
        )  # fmt: skip
        return body, status

    @expose("/<int:announcement_id>")
    @has_access
    def show(self, announcement_id: int) -> Any:
        return self._show_page(_load(announcement_id))

    @expose("/<int:announcement_id>/progress")
    @has_access
    def progress(self, announcement_id: int) -> Any:
        row = _load(announcement_id)
        run = _send_run(row.id)
        return jsonify({"status": row.status.value, "counts": svc.delivery_counts(db.session, row.id),
                        "run": job_runs.run_status(run) if run is not None else None})  # fmt: skip

    def _step(self, announcement_id: int, step: Any, done: str) -> tuple[bool, Any]:
        """Run one lifecycle step and commit; (done, response): the show page with the refusal otherwise."""
        row = _load(announcement_id)
        try:
            step(row.id)
            db.session.commit()
        except EngagementError as exc:
            db.session.rollback()
            return False, self._show_page(_load(announcement_id), exc.message, exc.status)
        flash(done, "info")
        return True, redirect(url_for(".show", announcement_id=announcement_id))

    @expose("/<int:announcement_id>/schedule", methods=["POST"])
    @has_access
    def schedule(self, announcement_id: int) -> Any:
        def step(aid: int) -> None:
            svc.schedule(db.session, aid, scheduled_at_from_form())

        return self._step(announcement_id, step, _("Announcement scheduled."))[1]

    @expose("/<int:announcement_id>/cancel", methods=["POST"])
    @has_access
    def cancel(self, announcement_id: int) -> Any:
        return self._step(announcement_id, lambda aid: svc.cancel(db.session, aid), _("Announcement cancelled."))[1]

    @expose("/<int:announcement_id>/send", methods=["POST"])
    @has_access
    def send(self, announcement_id: int) -> Any:
        ok, response = self._step(
            announcement_id, lambda aid: svc.mark_send_now(db.session, aid), _("Sending started.")
        )
        if not ok:
            return response
        try:
            svc.start_send(announcement_id, requested_by=getattr(g.user, "platform_user_id", None))
        except JobsUnavailable:
            # The run stays queued in SQL; the every-minute cron starts due announcements again.
            flash(_("The job queue is unreachable: the announcement will be sent when it is back."), "warning")
        return response


class AnnouncementRecordView(CoachdeskModelView):
    """The announcements as records: the typed list, filters, export and chart links every entity has.

    Read-only: composing, scheduling and sending happen on the announcements pages above (the menu's
    entry), which this list's rows link to from their show page.
    """

    route_base = "/announcements"
    datamodel = ScopedSQLAInterface(Announcement)
    class_permission_name = RESOURCE
    list_title = show_title = _l("Announcements")
    list_columns = ["title", "channel", "status", "target_segment", "audience_size", "sent_count", "scheduled_at",
                    "sent_at"]  # fmt: skip
    show_columns = [*list_columns, "body", "is_marketing", "skipped_count", "failed_count", "created_at"]
    read_only = True
    search_text_columns = ("title", "body", "target_segment")
    filter_columns = ("channel", "status", "scheduled_at", "sent_at")
    base_order = ("created_at", "desc")
    label_columns = {
        "title": _l("Title"),
        "body": _l("Text"),
        "channel": _l("Channel"),
        "status": _l("Status"),
        "target_segment": _l("Audience"),
        "audience_size": _l("Audience size"),
        "sent_count": _l("Sent"),
        "skipped_count": _l("Skipped"),
        "failed_count": _l("Failed"),
        "is_marketing": _l("Marketing"),
        "scheduled_at": _l("Scheduled"),
        "sent_at": _l("Sent at"),
        "created_at": _l("Created"),
    }


def register(appbuilder: Any) -> None:
    """Under the Engagement menu (the entity views' area), after the generated views."""
    appbuilder.add_view_no_menu(AnnouncementRecordView)
    appbuilder.add_view(
        AnnouncementsView, "Announcements", label=_l("Announcements"), icon="fa-bullhorn",
        category="Engagement", category_label=_l("Engagement"), category_icon="fa-comments",
    )  # fmt: skip
