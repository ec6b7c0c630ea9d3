"""Messages: to the customer from their coach (SEND_MESSAGE), and to the coach about the customer (NOTIFY_COACH).

A message to the customer goes into their conversation with their primary coach (the newest
CUSTOMER_COACH thread between the two, created when there is none), sent by the coach, in the
customer's language. A note for the coach goes into a separate thread between the same two
people, marked ``context_id = "automation-notes"``, so whatever the customer's own inbox shows
one day never includes what staff were told about them; its sender is the one automation
account (``automation_sender``), never a person.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.customers import CoachAssignment
from app.models.engagement import Message, Thread, ThreadContext
from app.models.identity import PlatformUser, UserStatus
from app.services.automation.actions import templates
from app.services.automation.actions.base import (
    ENUM,
    TEMPLATE,
    ActionContext,
    ActionParam,
    ParamProblem,
    PermanentActionError,
)
from app.services.automation.actions.common import (
    CatalogueAction,
    add_once,
    language_of,
    load_customer,
    primary_coach,
    zone_of,
)
from app.services.engagement.messages import NOTES_CONTEXT, append_message

AUTOMATION_EMAIL = "automation@coachdesk.invalid"
AUTOMATION_NAME = "Coachdesk automation"
MAX_TEXT = 2000
_CUSTOMER_SUBJECT = _l("Your coaching conversation")
_NOTES_SUBJECT = _l("Automation notes")


def automation_sender(db: Session) -> PlatformUser:
    """The system account automation notes come from; created (audited, no password) on first use."""
    stmt = sa.select(PlatformUser).where(PlatformUser.email == AUTOMATION_EMAIL)
    found = db.scalars(stmt).first()
    if found is not None:
        return found
    user = PlatformUser(email=AUTOMATION_EMAIL, full_name=AUTOMATION_NAME, status=UserStatus.ACTIVE, locale="en")
    if add_once(db, user):
        return user
    return db.scalars(stmt).one()  # another worker created it meanwhile


def _thread(db: Session, customer_id: Any, coach_id: Any, *, notes: bool) -> Thread | None:
    """The newest thread between the two: the notes thread, or their conversation (anything but notes)."""
    marker = Thread.context_id == NOTES_CONTEXT
    if not notes:
        marker = sa.or_(Thread.context_id.is_(None), Thread.context_id != NOTES_CONTEXT)
    stmt = (
        sa.select(Thread)
        .where(
            Thread.customer_id == customer_id,
            Thread.coach_id == coach_id,
            Thread.context_type == ThreadContext.CUSTOMER_COACH,
            marker,
        )
        .order_by(Thread.last_message_at.is_(None), Thread.last_message_at.desc(), Thread.id.desc())
        .limit(1)
    )
    return db.scalars(stmt).first()


def _post(
    db: Session,
    ctx: ActionContext,
    assignment: CoachAssignment,
    *,
    notes: bool,
    subject_locale: str,
    sender_id: Any,
    recipient_id: Any,
    body: str,
) -> Message:
    thread = _thread(db, assignment.customer_id, assignment.coach_id, notes=notes)
    if thread is None:
        with force_locale(subject_locale):
            subject = str(_NOTES_SUBJECT if notes else _CUSTOMER_SUBJECT)
        thread = Thread(
            subject=subject,
            context_type=ThreadContext.CUSTOMER_COACH,
            context_id=NOTES_CONTEXT if notes else str(assignment.id),
            customer_id=assignment.customer_id,
            coach_id=assignment.coach_id,
            created_at=ctx.now,
        )
        db.add(thread)
        db.flush()
    return append_message(db, thread, sender_id=sender_id, recipient_id=recipient_id, body=body, sent_at=ctx.now)


def _render(
    db: Session, ctx: ActionContext, text: str, customer: PlatformUser, coach: PlatformUser, reader: PlatformUser
) -> str:
    scope = templates.Scope(db, ctx, customer, coach, language_of(reader), zone_of(db, customer))
    try:
        body = templates.render(text, scope).strip()
    except templates.TemplateError as error:
        raise PermanentActionError(_("The message template is invalid: %(reason)s", reason=error.args[0])) from None
    if not body:
        raise PermanentActionError(_("The message is empty once its placeholders are filled in."))
    return body


def _template_problems(name: str, text: Any) -> list[ParamProblem]:
    return [ParamProblem(name, message) for message in templates.problems(text)] if isinstance(text, str) else []


class SendMessage(CatalogueAction):
    name = "SEND_MESSAGE"
    label = _l("Message the customer")
    description = _l(
        "Sends the customer a message from their primary coach, in their conversation with the coach and in "
        "the customer's language. Waits for the end of the rule's quiet hours."
    )
    params = (
        ActionParam(
            "template",
            TEMPLATE,
            _l("Message"),
            required=False,
            max_length=MAX_TEXT,
            help=_l("Write the message with {placeholders}, or leave it empty and choose a built-in text."),
        ),
        ActionParam(
            "template_key",
            ENUM,
            _l("Built-in text"),
            required=False,
            choices=templates.BUILTIN_CHOICES,
            help=_l("A ready-made text, translated into each customer's language."),
        ),
    )
    sends_message = True

    def check_values(self, values: Mapping[str, Any], db: Session | None) -> list[ParamProblem]:
        text, key = values.get("template"), values.get("template_key")
        if text is None and key is None:
            return [ParamProblem("template", _("Write a message or choose a built-in text."))]
        if text is not None and key is not None:
            return [ParamProblem("template_key", _("Write your own message or choose a built-in text, not both."))]
        return _template_problems("template", text)

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["placeholders"] = templates.describe_placeholders()
        out["builtin_texts"] = templates.describe_builtins()
        return out

    def _compose(
        self, db: Session, ctx: ActionContext, params: Mapping[str, Any]
    ) -> tuple[CoachAssignment, PlatformUser, PlatformUser, str]:
        values = self.values(params)
        customer = load_customer(db, ctx)
        assignment, coach = primary_coach(db, customer)
        text = values.get("template")
        if text is None:
            key = values.get("template_key")
            if key not in templates.BUILTIN_TEXTS:
                raise PermanentActionError(_("The rule names no message and no known built-in text."))
            text = templates.builtin_text(key, language_of(customer))
        return assignment, customer, coach, _render(db, ctx, text, customer, coach, customer)

    def preview(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        _assignment, _customer, _coach, body = self._compose(db, ctx, params)
        return _("Message from the customer's coach: %(body)s", body=body)

    def perform(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        assignment, customer, coach, body = self._compose(db, ctx, params)
        message = _post(
            db,
            ctx,
            assignment,
            notes=False,
            subject_locale=language_of(customer),
            sender_id=coach.id,
            recipient_id=customer.id,
            body=body,
        )
        return _(
            "Message #%(number)s sent from the coach in thread #%(thread)s.",
            number=message.id,
            thread=message.thread_id,
        )


class NotifyCoach(CatalogueAction):
    name = "NOTIFY_COACH"
    label = _l("Notify the coach")
    description = _l(
        "Tells the customer's primary coach something about the customer, in a notes thread the customer "
        "does not see, from the automation account."
    )
    params = (
        ActionParam(
            "template",
            TEMPLATE,
            _l("Note for the coach"),
            max_length=MAX_TEXT,
            help=_l("Text with {placeholders}, rendered in the coach's language."),
        ),
    )

    def check_values(self, values: Mapping[str, Any], db: Session | None) -> list[ParamProblem]:
        return _template_problems("template", values.get("template"))

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["placeholders"] = templates.describe_placeholders()
        return out

    def _compose(
        self, db: Session, ctx: ActionContext, params: Mapping[str, Any]
    ) -> tuple[CoachAssignment, PlatformUser, str]:
        text = self.values(params).get("template")
        if not isinstance(text, str):
            raise PermanentActionError(_("The rule gives no text for the coach."))
        customer = load_customer(db, ctx)
        assignment, coach = primary_coach(db, customer)
        return assignment, coach, _render(db, ctx, text, customer, coach, coach)

    def preview(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        _assignment, _coach, body = self._compose(db, ctx, params)
        return _("Note to the customer's coach: %(body)s", body=body)

    def perform(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        assignment, coach, body = self._compose(db, ctx, params)
        sender = automation_sender(db)
        message = _post(
            db,
            ctx,
            assignment,
            notes=True,
            subject_locale=language_of(coach),
            sender_id=sender.id,
            recipient_id=coach.id,
            body=body,
        )
        return _(
            "Note #%(number)s sent to the coach in thread #%(thread)s.", number=message.id, thread=message.thread_id
        )


SEND_MESSAGE = SendMessage()
NOTIFY_COACH = NotifyCoach()
