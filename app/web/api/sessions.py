"""``/sessions`` (the timetable) and ``/bookings``: read sessions and rosters; book and cancel.

Bookings go through the booking engine (``app.services.scheduling.booking``), the one rule set for
capacity, the waitlist, the windows and overlaps; its refusals keep their codes (``type`` ends in
the code: ``invalid``, ``not_found``, ``forbidden``, ``stale``...) with 404/403/409/422. A customer
app books and cancels for its own customer only: a booking for anyone else is "not found".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, jsonify
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from app.extensions import db
from app.models.scheduling import (
    AttendanceStatus,
    ParticipantRole,
    ScheduledSession,
    SessionParticipant,
    SessionStatus,
    SessionType,
)
from app.policy.roles import CUSTOMER_APP
from app.services.scheduling import booking
from app.services.scheduling.roster import seat_counts
from app.web.api.blueprint import api_bp
from app.web.api.bodies import json_body
from app.web.api.problems import ApiProblem
from app.web.api.query import at_least, before, equals
from app.web.api.refusals import service_refusals
from app.web.api.registry import operation
from app.web.api.resource import MAX_INT_KEY, CoachdeskModelRestApi

_INSTANT = {"description": "ISO 8601 date and time (UTC when no offset)."}


class SessionSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(allow_none=True)
    session_type = fields.Enum(SessionType, required=True)
    status = fields.Enum(SessionStatus, required=True)
    start_time = fields.DateTime(required=True)
    end_time = fields.DateTime(required=True)
    timezone = fields.String(required=True)
    location = fields.String(allow_none=True)
    capacity = fields.Integer(required=True)
    seats_held = fields.Integer(required=True)
    waiting = fields.Integer(required=True)
    coach_id = fields.UUID(allow_none=True)


class BookingSchema(Schema):
    id = fields.Integer(required=True)
    session_id = fields.Integer(required=True)
    customer_id = fields.UUID(required=True)
    role = fields.Enum(
        ParticipantRole, required=True, metadata={"description": "PRIMARY holds a seat; WAITLIST waits."}
    )
    attendance_status = fields.Enum(AttendanceStatus, required=True)
    booked_at = fields.DateTime(required=True)
    cancelled_at = fields.DateTime(allow_none=True)


class BookSchema(Schema):
    session_id = fields.Integer(required=True, validate=validate.Range(1, MAX_INT_KEY))
    customer_id = fields.UUID(metadata={"description": "Whom to book; a customer app may leave it out (itself)."})


class BookedSchema(BookingSchema):
    outcome = fields.String(
        required=True, validate=validate.OneOf(("booked", "waitlisted", "already_booked", "already_waitlisted"))
    )


class CancelledSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(("cancelled", "late_cancel", "left_waitlist")))
    promoted = fields.Integer(required=True, metadata={"description": "Waiting customers given the freed seat."})


def _instant(**meta: Any) -> fields.AwareDateTime:
    return fields.AwareDateTime(default_timezone=dt.UTC, metadata={**_INSTANT, **meta})


class SessionApi(CoachdeskModelRestApi):
    model = ScheduledSession
    schema = SessionSchema
    name, path, tag = "sessions", "/sessions", "Timetable"
    read_scope = "sessions:read"
    summary_list, summary_get = "The timetable", "One session"
    order_column = "start_time"
    version_column = "version"
    filters = {
        "starts_from": at_least(ScheduledSession.start_time, _instant(description="Sessions starting at or after.")),
        "starts_before": before(ScheduledSession.start_time, _instant(description="Sessions starting before.")),
        "coach_id": equals(ScheduledSession.coach_id, fields.UUID()),
        "status": equals(ScheduledSession.status, fields.Enum(SessionStatus)),
        "session_type": equals(ScheduledSession.session_type, fields.Enum(SessionType)),
    }

    @classmethod
    def preload(cls, rows: list[Any]) -> None:
        counts = seat_counts(db.session, [row.id for row in rows])
        for row in rows:
            row.api_counts = counts.get(row.id, (0, 0))

    @classmethod
    def represent(cls, row: Any) -> dict[str, Any]:
        held, waiting = getattr(row, "api_counts", None) or seat_counts(db.session, [row.id]).get(row.id, (0, 0))
        data = {name: getattr(row, name) for name in SessionSchema._declared_fields if hasattr(row, name)}
        return cls.dumper().dump({**data, "seats_held": held, "waiting": waiting})


class BookingApi(CoachdeskModelRestApi):
    model = SessionParticipant
    schema = BookingSchema
    name, path, tag = "bookings", "/bookings", "Bookings"
    read_scope = "sessions:read"
    summary_list, summary_get = "List bookings (rosters and waitlists)", "One booking"
    filters = {
        "customer_id": equals(SessionParticipant.customer_id, fields.UUID()),
        "session_id": equals(SessionParticipant.session_id, fields.Integer(validate=validate.Range(1, MAX_INT_KEY))),
        "role": equals(SessionParticipant.role, fields.Enum(ParticipantRole)),
        "attendance_status": equals(SessionParticipant.attendance_status, fields.Enum(AttendanceStatus)),
    }


SessionApi.register(api_bp)
BookingApi.register(api_bp)


def _rules() -> booking.BookingRules:
    return booking.BookingRules.from_config(current_app.config)


@operation(
    api_bp, "/bookings", "POST", endpoint="bookings_create", summary="Book a session (or join its waitlist)",
    tag="Bookings", scope="bookings:write", request_schema=BookSchema,
    responses={
        201: ("Booked, or put on the waitlist when the session is full (see `outcome`).", BookedSchema),
        200: ("The customer already held a seat or a place in the queue.", BookedSchema),
    },
    problems=(403, 409, 413, 415, 422),
    description="Through the booking engine: capacity, the waitlist, booking windows and overlaps.",
)  # fmt: skip
def book() -> Any:
    data = json_body(BookSchema)
    actor = BookingApi.actor()
    customer_id = data.get("customer_id")
    if CUSTOMER_APP in actor.roles:
        if customer_id is not None and customer_id != actor.user_id:
            raise ApiProblem(404, _("No such customer."))
        customer_id = actor.user_id
    if customer_id is None:
        raise ApiProblem(422, _("Say whom to book."), errors={"customer_id": [_("Missing data for required field.")]})
    with service_refusals():
        result = booking.book(db.session, actor, data["session_id"], customer_id, rules=_rules())
    db.session.commit()
    row = BookingApi.find(result.participant.id)
    fresh = result.outcome in ("booked", "waitlisted")
    return jsonify({**BookingApi.represent(row), "outcome": result.outcome}), 201 if fresh else 200


@operation(
    api_bp, "/bookings/<int:key>", "DELETE", endpoint="bookings_cancel", summary="Cancel a booking",
    tag="Bookings", scope="bookings:write", problems=(409,),
    responses={200: ("Cancelled; freed seats went to the queue.", CancelledSchema)},
    description="Late cancellations (inside the late-cancel window) are recorded as LATE_CANCEL; "
    "cancelling a waitlist place leaves the queue.",
)  # fmt: skip
def cancel(key: int) -> Any:
    row = BookingApi.find(key, for_write=True)
    if row.attendance_status in (AttendanceStatus.CANCELLED, AttendanceStatus.LATE_CANCEL):
        raise ApiProblem(409, _("This booking is already cancelled."), slug="invalid")
    waiting = row.role == ParticipantRole.WAITLIST
    with service_refusals():
        result = booking.cancel_booking(db.session, BookingApi.actor(), row.session_id, row.customer_id, rules=_rules())
    outcome = "left_waitlist" if waiting else ("late_cancel" if result.late else "cancelled")
    db.session.commit()
    return jsonify({"outcome": outcome, "promoted": len(result.promoted)})
