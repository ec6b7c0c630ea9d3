"""Delivery pages: the deliveries log with its filters and "Retry", and the local sink's delivered mail.

Thin: the list reads ``message_deliveries`` newest first (a cursor on the id, so any depth costs one
page); "Retry" calls ``delivery.retry_failed`` (audited) and commits. "Delivered mail" exists for the
embedded default and development only (``MAIL_SINK``): it lists what the local SMTP sink received.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import NotFound

from app.extensions import db
from app.models.base import utcnow
from app.models.engagement import Announcement, Channel, DeliveryStatus, MessageDelivery
from app.models.identity import PlatformUser
from app.models.labels import choices as label_choices
from app.services.engagement import delivery, mail_sink
from app.web.input_guard import MAX_KEY

READ, WRITE = "read", "write"
PAGE = 50
MAX_RETRY = 500


def _choice(name: str, enum: Any) -> tuple[str | None, str | None]:
    """The filter value of ``name`` (empty: none), or an error for a value the enum does not know."""
    raw = request.args.get(name, "").strip().upper()
    if not raw:
        return None, None
    if raw not in enum.__members__:
        return None, _("Unknown %(field)s: choose one from the list.", field=name)
    return raw, None


def _key(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_KEY:
        return int(raw)
    return None


class DeliveriesView(BaseView):
    route_base = "/deliveries"
    class_permission_name = "Deliveries"
    method_permission_name = {"index": READ, "retry": WRITE}
    default_view = "index"

    def _page(self, error: str | None = None, status: int = 200) -> Any:
        state, state_error = _choice("status", DeliveryStatus)
        channel, channel_error = _choice("channel", Channel)
        before_raw = request.args.get("before")
        before = _key(before_raw)
        error = error or state_error or channel_error
        if before_raw and before is None:
            error = error or _("The page cursor is not valid.")
        if error and status == 200:
            status = 400
        d = MessageDelivery
        stmt = (
            sa.select(d, PlatformUser.full_name, PlatformUser.email, Announcement.title)
            .join(PlatformUser, PlatformUser.id == d.recipient_id)
            .outerjoin(Announcement, Announcement.id == d.announcement_id)
            .order_by(d.id.desc())
            .limit(PAGE + 1)
        )
        if state:
            stmt = stmt.where(d.status == DeliveryStatus(state))
        if channel:
            stmt = stmt.where(d.channel == Channel(channel))
        if before:
            stmt = stmt.where(d.id < before)
        rows = [] if status >= 400 else list(db.session.execute(stmt))
        more = len(rows) > PAGE
        rows = rows[:PAGE]
        body = self.render_template(
            "deliveries/list.html",
            rows=rows,
            error=error,
            statuses=label_choices(DeliveryStatus),  # (code, label): options show labels (issue 17)
            channels=label_choices(Channel),
            status_filter=state or "",
            channel_filter=channel or "",
            next_before=rows[-1][0].id if more and rows else None,
            can_retry=self.appbuilder.sm.has_access("can_write", "Deliveries"),
        )
        return body, status

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self._page()

    @expose("/retry", methods=["POST"])
    @has_access
    def retry(self) -> Any:
        raw = request.form.getlist("id")
        ids = [_key(v) for v in raw]
        if not raw or None in ids or len(ids) > MAX_RETRY:
            return self._page(_("Choose up to %(n)s deliveries to retry.", n=MAX_RETRY), 400)
        requeued = delivery.retry_failed([i for i in ids if i is not None], now=utcnow())
        if not requeued:
            db.session.rollback()
            return self._page(_("Only FAILED deliveries can be retried."), 409)
        db.session.commit()
        flash(_("%(n)s deliveries queued again; they go with the next run.", n=len(requeued)), "info")
        args = {k: v for k in ("status", "channel") if (v := request.args.get(k))}
        return redirect(url_for(".index", **args))


class DeliveredMailView(BaseView):
    route_base = "/deliveries/mail"
    class_permission_name = "DeliveredMail"
    method_permission_name = {"index": READ, "show": READ}
    default_view = "index"

    def _directory(self) -> Any:
        return current_app.config.get("MAIL_SINK_DIR") if current_app.config.get("MAIL_SINK") else None

    @expose("/")
    @has_access
    def index(self) -> Any:
        directory = self._directory()
        mails = mail_sink.list_mails(directory) if directory else []
        return self.render_template("deliveries/mail_list.html", mails=mails, enabled=directory is not None)

    @expose("/<name>")
    @has_access
    def show(self, name: str) -> Any:
        directory = self._directory()
        mail = mail_sink.read_mail(directory, name) if directory else None
        if mail is None:
            raise NotFound(_("No such mail: it may have been pruned (only the newest are kept)."))
        return self.render_template("deliveries/mail_show.html", mail=mail)


def register(appbuilder: Any) -> None:
    menu = {"category": "Engagement", "category_label": _l("Engagement")}
    appbuilder.add_view(DeliveriesView, "Deliveries", label=_l("Deliveries"), icon="fa-paper-plane", **menu)
    appbuilder.add_view(DeliveredMailView, "Delivered mail", label=_l("Delivered mail"), icon="fa-inbox", **menu)
