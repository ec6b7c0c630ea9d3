"""``/tickets``: support tickets a customer app opens and follows; partners open them for a customer.

Row scope: a customer app reads its customer's own tickets, a partner every ticket; a coach's
client holds no ticket grant (coaches have none in the console either). Opening goes through
``app.services.engagement.tickets`` (SLA by priority, the text as the first message of the
ticket's support thread, ``support.ticket_created``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from app.extensions import db
from app.models.engagement import SupportTicket, TicketPriority, TicketStatus
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole
from app.policy.scope import scope_criteria
from app.services.engagement.errors import EngagementError
from app.services.engagement.tickets import SUBJECT_LIMIT, open_ticket
from app.web.api.blueprint import api_bp
from app.web.api.bodies import json_body
from app.web.api.problems import ApiProblem
from app.web.api.query import at_least, equals
from app.web.api.registry import operation
from app.web.api.resource import CoachdeskModelRestApi

MAX_BODY_BYTES = 128 * 1024


class TicketSchema(Schema):
    id = fields.Integer(required=True)
    requester_id = fields.UUID(required=True)
    subject = fields.String(required=True)
    priority = fields.Enum(TicketPriority, required=True)
    status = fields.Enum(TicketStatus, required=True)
    sla_due_at = fields.DateTime(allow_none=True, metadata={"description": "When the desk should have answered."})
    created_at = fields.DateTime(required=True)
    closed_at = fields.DateTime(allow_none=True)


class TicketCreateSchema(Schema):
    subject = fields.String(required=True, validate=validate.Length(1, SUBJECT_LIMIT))
    body = fields.String(validate=validate.Length(1, 20000), metadata={"description": "The first message."})
    priority = fields.Enum(TicketPriority, metadata={"description": "NORMAL when absent; sets the SLA."})
    requester_id = fields.UUID(metadata={"description": "The customer (partners only; a customer app opens its own)."})


class TicketApi(CoachdeskModelRestApi):
    model = SupportTicket
    schema = TicketSchema
    name, path, tag = "tickets", "/tickets", "Support tickets"
    read_scope, write_scope = "tickets:read", "tickets:write"
    summary_list, summary_get = "List support tickets", "One support ticket"
    order_column, descending = "created_at", True
    filters = {
        "status": equals(SupportTicket.status, fields.Enum(TicketStatus)),
        "priority": equals(SupportTicket.priority, fields.Enum(TicketPriority)),
        "created_from": at_least(SupportTicket.created_at, fields.AwareDateTime(default_timezone=dt.UTC)),
    }


TicketApi.register(api_bp)


def _requester(data: dict[str, Any]) -> Any:
    """Whom the ticket is for: a customer app's own customer; for a partner, the customer it names."""
    actor = TicketApi.actor()
    named = data.get("requester_id")
    if actor.user_id is not None:
        if named is not None and named != actor.user_id:
            raise ApiProblem(422, _("A customer app opens tickets for its own customer only."),
                             errors={"requester_id": [_("Leave it out, or name your own customer.")]})  # fmt: skip
        return actor.user_id
    if named is None:
        raise ApiProblem(422, _("Name the customer the ticket is for."), errors={"requester_id": [_("Required.")]})
    customers = sa.select(UserRole.user_id).join(PlatformRole).where(PlatformRole.code == RoleCode.CUSTOMER)
    found = db.session.scalar(
        sa.select(PlatformUser.id).where(
            PlatformUser.id == named,
            PlatformUser.id.in_(customers),
            scope_criteria(PlatformUser, actor, for_write=True),
        )
    )
    if found is None:
        raise ApiProblem(422, _("Unknown customer."), errors={"requester_id": [_("Unknown customer.")]})
    return found


@operation(
    api_bp,
    "/tickets",
    "POST",
    endpoint="tickets_create",
    summary="Open a support ticket",
    tag=TicketApi.tag,
    scope="tickets:write",
    description="The SLA follows the priority (urgent 4 h, high 24 h, normal 72 h, low 7 days). "
    "The body, when given, is the first message of the ticket's thread (see /threads).",
    request_schema=TicketCreateSchema,
    responses={201: ("Opened.", TicketSchema)},
    problems=(413, 415, 422),
)
def create_ticket() -> Any:
    data = json_body(TicketCreateSchema, max_bytes=MAX_BODY_BYTES)
    requester = _requester(data)
    priority = data.get("priority")
    try:
        ticket = open_ticket(
            requester, data["subject"], body=data.get("body"), priority=priority.value if priority else None
        )
    except EngagementError as error:
        db.session.rollback()
        raise ApiProblem(error.status, error.message, errors={error.field or "_schema": [error.message]}) from None
    TicketApi.commit()
    return TicketApi.one_response(TicketApi.find(ticket.id), 201)
