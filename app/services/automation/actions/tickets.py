"""CREATE_TICKET: a support ticket for the customer, with a priority and an SLA counted from the occurrence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.engagement import TicketPriority
from app.services.automation.actions import templates
from app.services.automation.actions.base import (
    ENUM,
    NUMBER,
    TEMPLATE,
    ActionContext,
    ActionParam,
    ParamProblem,
    PermanentActionError,
)
from app.services.automation.actions.common import CatalogueAction, load_customer, primary_assignment, zone_of
from app.services.engagement.errors import EngagementError
from app.services.engagement.tickets import open_ticket

SUBJECT_LIMIT = 300  # support_tickets.subject
_PRIORITY_LABELS = {
    TicketPriority.LOW: _l("Low"),
    TicketPriority.NORMAL: _l("Normal"),
    TicketPriority.HIGH: _l("High"),
    TicketPriority.URGENT: _l("Urgent"),
}


class CreateTicket(CatalogueAction):
    name = "CREATE_TICKET"
    label = _l("Create a support ticket")
    description = _l("Opens a support ticket for the customer, with a priority and an SLA in hours from the event.")
    params = (
        ActionParam("subject", TEMPLATE, _l("Subject"), max_length=200, help=_l("Text with {placeholders}.")),
        ActionParam(
            "priority",
            ENUM,
            _l("Priority"),
            required=False,
            default=TicketPriority.NORMAL.value,
            choices=tuple((p.value, label) for p, label in _PRIORITY_LABELS.items()),
        ),
        ActionParam("sla_hours", NUMBER, _l("SLA"), required=False, default=24, unit="hours", minimum=1, maximum=720),
    )

    def check_values(self, values: Mapping[str, Any], db: Session | None) -> list[ParamProblem]:
        subject = values.get("subject")
        if not isinstance(subject, str):
            return []
        return [ParamProblem("subject", message) for message in templates.problems(subject)]

    def _compose(
        self, db: Session, ctx: ActionContext, params: Mapping[str, Any]
    ) -> tuple[Any, str, TicketPriority, dt.datetime]:
        values = self.values(params)
        customer = load_customer(db, ctx)
        assignment = primary_assignment(db, customer.id)
        coach = assignment.coach if assignment is not None else None
        # Staff read tickets: the subject is in the console's default language.
        locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
        scope = templates.Scope(db, ctx, customer, coach, locale, zone_of(db, customer))
        try:
            subject = templates.render(str(values.get("subject") or ""), scope).strip()
        except templates.TemplateError as error:
            raise PermanentActionError(_("The ticket subject is invalid: %(reason)s", reason=error.args[0])) from None
        if not subject:
            raise PermanentActionError(_("The ticket subject is empty once its placeholders are filled in."))
        try:
            priority = TicketPriority(values.get("priority"))
            hours = float(values.get("sla_hours"))
        except (TypeError, ValueError):
            raise PermanentActionError(_("The rule's ticket priority or SLA is not valid.")) from None
        if not 1 <= hours <= 720:
            raise PermanentActionError(_("The rule's ticket priority or SLA is not valid."))
        return customer, subject[:SUBJECT_LIMIT], priority, ctx.now + dt.timedelta(hours=hours)

    def preview(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        _customer, subject, priority, due = self._compose(db, ctx, params)
        return _(
            "Ticket \u201c%(subject)s\u201d, priority %(priority)s, SLA due %(due)s.",
            subject=subject,
            priority=str(_PRIORITY_LABELS[priority]),
            due=due.isoformat(timespec="minutes"),
        )

    def perform(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        customer, subject, priority, due = self._compose(db, ctx, params)
        try:
            # Not announced: a rule listening for new tickets must not be fed by its own kind.
            ticket = open_ticket(customer.id, subject, priority=priority.value, sla_due_at=due, now=ctx.now,
                                 announce=False)  # fmt: skip
        except EngagementError as error:
            raise PermanentActionError(error.message) from None
        return _("Support ticket #%(id)s created.", id=ticket.id)


CREATE_TICKET = CreateTicket()
