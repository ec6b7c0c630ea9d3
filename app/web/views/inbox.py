"""The staff inbox (/inbox/): threads with unread counts, a conversation, a reply as the signed-in person.

Reading needs ``Inbox`` read, replying ``Inbox`` write; which threads a person sees and may answer
is the inbox service's rule (a coach their own, the desk the SUPPORT threads, an Admin reads all).
A thread outside that is a 404, like one that does not exist. Opening a conversation marks its
staff-side messages read for the person who answers it (as mail and chat inboxes do).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extensions import committed, db
from app.models.engagement import NOTES_CONTEXT, Thread, ThreadContext
from app.services.engagement import inbox
from app.services.engagement.errors import EngagementError, NotVisible
from app.services.engagement.messages import MAX_BODY
from app.web.views.json_api import current_actor

CONTEXT_LABELS = {
    inbox.InboxContext.COACHING: _l("Coaching conversation"),
    inbox.InboxContext.SUPPORT: _l("Support"),
    inbox.InboxContext.NOTES: _l("Automation notes"),
}


class BadFilter(ValueError):
    pass


def context_label(thread: Thread) -> str:
    """The thread's context in words: a coaching conversation, a support ticket and its number, notes."""
    if thread.context_id == NOTES_CONTEXT:
        return str(CONTEXT_LABELS[inbox.InboxContext.NOTES])
    if thread.context_type == ThreadContext.SUPPORT:
        if thread.context_id and thread.context_id.isdigit():
            return _("Support ticket #%(id)s", id=thread.context_id)
        return str(CONTEXT_LABELS[inbox.InboxContext.SUPPORT])
    return str(CONTEXT_LABELS[inbox.InboxContext.COACHING])


def file_size(size: Any) -> str:
    """An attachment's size for people: bytes, KB or MB (the file itself is never fetched)."""
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return ""
    if size < 1024:
        return _("%(n)s B", n=size)
    if size < 1024 * 1024:
        return _("%(n)s KB", n=format_decimal(size / 1024, format="#,##0.#"))
    return _("%(n)s MB", n=format_decimal(size / (1024 * 1024), format="#,##0.#"))


def attachments_of(message: Any) -> list[dict[str, str]]:
    items = message.attachments_json if isinstance(message.attachments_json, list) else []
    return [
        {
            "name": str(a.get("name") or _("(unnamed)")),
            "size": file_size(a.get("size_bytes")),
            "type": str(a.get("content_type") or ""),
        }
        for a in items
        if isinstance(a, dict)
    ]


def _filters() -> tuple[uuid.UUID | None, inbox.InboxContext | None, int]:
    raw_customer = request.args.get("customer", "")
    raw_context = request.args.get("context", "")
    raw_page = request.args.get("page", "1")
    try:
        customer = uuid.UUID(raw_customer) if raw_customer else None
    except ValueError:
        raise BadFilter(_("Unknown customer.")) from None
    if raw_context and raw_context not in inbox.InboxContext.__members__:
        raise BadFilter(_("Unknown context."))
    context = inbox.InboxContext(raw_context) if raw_context else None
    if not raw_page.isdigit() or not 1 <= int(raw_page) <= 1_000_000:
        raise BadFilter(_("The page must be a whole number from 1."))
    return customer, context, int(raw_page)


class InboxView(BaseView):
    """The thread list, one conversation, and the reply form."""

    route_base = "/inbox"
    default_view = "index"
    class_permission_name = "Inbox"
    method_permission_name = {"index": "read", "thread": "read", "reply": "write"}

    @expose("/")
    @has_access
    def index(self) -> Any:
        actor = current_actor()
        error = None
        try:
            customer, context, page = _filters()
        except BadFilter as exc:
            error, (customer, context, page) = str(exc), (None, None, 1)
        listing = inbox.inbox(actor, customer_id=customer, context=context, page=page)
        body = self.render_template(
            "inbox/index.html",
            listing=listing,
            error=error,
            unread_total=inbox.unread_total(actor),
            customers=inbox.customer_choices(actor),
            contexts=[(c.value, str(label)) for c, label in CONTEXT_LABELS.items()],
            chosen={"customer": str(customer or ""), "context": context.value if context else ""},
            context_label=context_label,
        )
        return (body, 400) if error else body

    def _conversation(self, thread_id: int, *, error: str | None = None, draft: str = "", status: int = 200) -> Any:
        actor = current_actor()
        try:
            thread = inbox.open_thread(actor, thread_id)
        except NotVisible:
            db.session.rollback()
            abort(404)
        if error is None:
            with committed():
                inbox.mark_read(actor, thread)
        messages, truncated = inbox.conversation(thread)
        body = self.render_template(
            "inbox/thread.html",
            thread=thread,
            messages=messages,
            truncated=truncated,
            attachments_of=attachments_of,
            context_label=context_label(thread),
            may_reply=inbox.may_reply(actor, thread),
            error=error,
            draft=draft,
            max_body=MAX_BODY,
        )
        return body, status

    @expose("/<int:thread_id>")
    @has_access
    def thread(self, thread_id: int) -> Any:
        return self._conversation(thread_id)

    @expose("/<int:thread_id>/reply", methods=["POST"])
    @has_access
    def reply(self, thread_id: int) -> Any:
        raw = request.form.get("body")
        try:
            with committed():
                inbox.reply(current_actor(), thread_id, raw)
        except NotVisible:
            abort(404)
        except EngagementError as exc:
            return self._conversation(thread_id, error=exc.message, draft=raw or "", status=exc.status)
        flash(_("Reply sent."), "success")
        return redirect(url_for("InboxView.thread", thread_id=thread_id), code=303)


def register(appbuilder: Any) -> None:
    appbuilder.add_view(InboxView, "Inbox", label=_l("Inbox"), icon="fa-inbox")
