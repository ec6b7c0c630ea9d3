"""``/threads``: conversations a client app shows, their messages, and posting into them.

Row scope: a coach's client, the threads where the coach is the coach (their automation notes
threads included, read-only); a customer app, its customer's threads except the automation notes
(never shown to the customer); a partner, every thread. A message is posted as the person the
client acts for (``app.services.engagement.messages``): the sender is never read from the body
(a ``sender_id`` there is an unknown field, 422), and a partner, acting for nobody, may read but
not post.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import jsonify
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from app.extensions import db
from app.models.engagement import Message, Thread, ThreadContext
from app.policy.roles import CUSTOMER_APP
from app.policy.scope import Actor
from app.services.engagement.errors import EngagementError
from app.services.engagement.messages import MAX_BODY, NOTES_CONTEXT, post_message
from app.web.api.blueprint import api_bp
from app.web.api.bodies import json_body
from app.web.api.paging import envelope_schema, page
from app.web.api.problems import ApiProblem
from app.web.api.query import equals, parse_query, query_parameters, query_schema
from app.web.api.registry import operation
from app.web.api.resource import CoachdeskModelRestApi

MAX_BODY_BYTES = 128 * 1024


class ThreadSchema(Schema):
    id = fields.Integer(required=True)
    subject = fields.String(required=True)
    context_type = fields.Enum(ThreadContext, required=True)
    customer_id = fields.UUID(allow_none=True)
    coach_id = fields.UUID(allow_none=True, metadata={"description": "None for a support thread."})
    last_message_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(required=True)


class MessageSchema(Schema):
    id = fields.Integer(required=True)
    thread_id = fields.Integer(required=True)
    sender_id = fields.UUID(required=True)
    recipient_id = fields.UUID(allow_none=True)
    body = fields.String(required=True)
    sent_at = fields.DateTime(required=True)
    read_at = fields.DateTime(allow_none=True)


class MessageCreateSchema(Schema):
    body = fields.String(required=True, validate=validate.Length(1, MAX_BODY))


class ThreadApi(CoachdeskModelRestApi):
    model = Thread
    schema = ThreadSchema
    name, path, tag = "threads", "/threads", "Messages"
    read_scope, write_scope = "messages:read", "messages:write"
    summary_list, summary_get = "List message threads", "One message thread"
    order_column, descending = "created_at", True
    filters = {
        "customer_id": equals(Thread.customer_id, fields.UUID()),
        "context_type": equals(Thread.context_type, fields.Enum(ThreadContext)),
    }

    @classmethod
    def scoped(cls, *criteria: Any, for_write: bool = False, actor: Actor | None = None) -> sa.Select:
        actor = actor or cls.actor()
        if CUSTOMER_APP in actor.roles:  # what staff were told about the customer stays with staff
            criteria = (*criteria, sa.or_(Thread.context_id.is_(None), Thread.context_id != NOTES_CONTEXT))
        return super().scoped(*criteria, for_write=for_write, actor=actor)


ThreadApi.register(api_bp)

_MESSAGES_QUERY = query_schema("ThreadMessagesQuery", {})


@operation(
    api_bp,
    "/threads/<int:key>/messages",
    "GET",
    endpoint="threads_messages",
    summary="A thread's messages, newest first",
    tag=ThreadApi.tag,
    scope="messages:read",
    parameters=query_parameters(_MESSAGES_QUERY),
    responses={200: ("One page of messages.", envelope_schema("MessagePage", MessageSchema))},
    problems=(422,),
)
def list_messages(key: int) -> Any:
    args = parse_query(_MESSAGES_QUERY)
    thread = ThreadApi.find(key)
    stmt = sa.select(Message).where(Message.thread_id == thread.id)
    rows, next_cursor = page(
        stmt, Message, limit=args["limit"], cursor=args.get("cursor"), order_column="sent_at", descending=True
    )
    return jsonify({"data": MessageSchema(many=True).dump(rows), "next_cursor": next_cursor})


@operation(
    api_bp,
    "/threads/<int:key>/messages",
    "POST",
    endpoint="threads_post_message",
    summary="Post a message in a thread",
    tag=ThreadApi.tag,
    scope="messages:write",
    description="Sent by the person the client acts for (its customer or its coach), to the thread's other "
    "party. Partner clients act for nobody and cannot post.",
    request_schema=MessageCreateSchema,
    responses={201: ("Sent.", MessageSchema)},
    problems=(403, 413, 415, 422),
)
def create_message(key: int) -> Any:
    actor = ThreadApi.actor()
    data = json_body(MessageCreateSchema, max_bytes=MAX_BODY_BYTES)
    if actor.user_id is None:
        raise ApiProblem(403, _("This client acts for no person, and messages are sent by a person."))
    ThreadApi.find(key)  # 404 outside the client's threads, before anything else is said about it
    try:
        message = post_message(actor.user_id, key, data["body"])
    except EngagementError as error:
        db.session.rollback()
        raise ApiProblem(error.status, error.message, errors={error.field or "_schema": [error.message]}) from None
    ThreadApi.commit()
    response = jsonify(MessageSchema().dump(db.session.get(Message, message.id)))
    response.status_code = 201
    return response
