"""The calendar's writes, as JSON endpoints, each on the entity resource it changes.

Sessions (create, move/resize/edit, cancel, capacity) need ``ScheduledSessions`` write, the roster
(book, cancel a booking, attendance, feedback) ``SessionParticipants`` write, availability
``CoachAvailability`` write: FAB checks the grant (so the route x role matrix sees exactly what is
required), the services check it again with the row scope (a coach: their own sessions, their own
customers). Every body is read by ``schedule_input`` first; a refusal is JSON with a 4xx and
nothing is committed. CSRF: Flask-WTF checks the X-CSRFToken header on every POST.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access_api
from flask_babel import gettext as _

from app.extensions import committed, db
from app.models.scheduling import AttendanceStatus, AvailabilityExceptionKind, SessionType
from app.services.scheduling import availability, booking, sessions
from app.services.scheduling.recurrence import MAX_OCCURRENCES, Repeat
from app.web.views.json_api import current_actor
from app.web.views.schedule_input import (
    MAX_CAPACITY,
    MAX_LINK,
    InputError,
    answers_json,
    as_bool,
    as_choice,
    as_date,
    as_datetime,
    as_int,
    as_text,
    as_time,
    as_uuid,
    as_uuid_list,
    as_zone,
    json_object,
    viewer_zone,
    viewer_zone_name,
)
from app.web.views.schedule_payloads import person_name

SESSION_TYPES = tuple(t.value for t in SessionType)
SCOPES = ("one", "following")
ATTENDANCE = tuple(s.value for s in AttendanceStatus if s is not AttendanceStatus.CANCELLED)
EXCEPTION_KINDS = tuple(k.value for k in AvailabilityExceptionKind)


def _body() -> dict[str, Any]:
    return json_object()


def _rules() -> Any:
    return booking.BookingRules.from_config(current_app.config)


def _session_fields(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The session fields present in ``body`` (all required ones when creating), read and checked."""
    zone = viewer_zone()
    out: dict[str, Any] = {}
    required = not partial
    if not partial or "title" in body:
        out["title"] = as_text(body.get("title"), "title", required=required)
    if not partial or "session_type" in body:
        out["session_type"] = as_choice(body.get("session_type"), "session_type", SESSION_TYPES, required=required)
    for key in ("start", "end"):
        if not partial or key in body:
            out[key] = as_datetime(body.get(key), key, zone, required=required)
    if not partial or "timezone" in body:
        out["timezone"] = as_zone(body.get("timezone"), "timezone", default=viewer_zone_name())
    if not partial or "location" in body:
        out["location"] = as_text(body.get("location"), "location")
    if not partial or "join_link" in body:
        link = as_text(body.get("join_link"), "join_link", max_len=MAX_LINK)
        if link and not link.lower().startswith(("https://", "http://")):
            raise InputError(_("The join link must be a web address (https://…)."), "join_link")
        out["join_link"] = link
    if not partial or "coach_id" in body:
        out["coach_id"] = as_uuid(body.get("coach_id"), "coach_id", required=False)
    if "start" in out and "end" in out and out["start"] and out["end"] and out["end"] <= out["start"]:
        raise InputError(_("The session must end after it starts."), "end")
    return {k: v for k, v in out.items() if not (partial and v is None and k in ("start", "end"))}


def _repeat(raw: Any) -> Repeat | None:
    if raw is None or raw is False:
        return None
    if not isinstance(raw, dict):
        raise InputError(_("repeat must be an object."), "repeat")
    days = raw.get("weekdays")
    if not isinstance(days, list) or not days or len(days) > 7:
        raise InputError(_("Choose at least one weekday for the series."), "weekdays")
    weekdays = tuple(sorted({as_int(d, "weekdays", lo=0, hi=6) for d in days}))  # type: ignore[type-var]
    count = as_int(raw.get("count"), "count", lo=1, hi=MAX_OCCURRENCES, required=False)
    until = as_date(raw.get("until"), "until", required=False)
    if (count is None) == (until is None):
        raise InputError(_("End the series either after a number of sessions or on a date, not both."), "count")
    interval = as_int(raw.get("interval", 1), "interval", lo=1, hi=52)
    return Repeat(weekdays=weekdays, count=count, until=until, interval=interval or 1)  # type: ignore[arg-type]


def _sessions_reply(changed: list[Any]) -> dict[str, Any]:
    return {"ok": True, "sessions": [{"id": s.id, "version": s.version} for s in changed]}


class SessionApiView(BaseView):
    """Create, move/resize/edit and cancel sessions; change a session's capacity (promotes the waitlist)."""

    route_base = "/schedule/api/sessions"
    class_permission_name = "ScheduledSessions"
    method_permission_name = {"create": "write", "update": "write", "cancel": "write", "capacity": "write"}

    @expose("/", methods=["POST"])
    @has_access_api
    @answers_json
    def create(self) -> Any:
        body = _body()
        fields = _session_fields(body, partial=False)
        capacity = as_int(body.get("capacity"), "capacity", lo=1, hi=MAX_CAPACITY)
        draft = sessions.SessionDraft(
            title=fields["title"],
            session_type=fields["session_type"],
            start=fields["start"],
            end=fields["end"],
            timezone=fields["timezone"],
            capacity=capacity,
            coach_id=fields["coach_id"],
            location=fields["location"],
            join_link=fields["join_link"],
        )
        repeat = _repeat(body.get("repeat"))
        override = as_bool(body.get("override"), "override")
        with committed():
            created = sessions.create_sessions(db.session, current_actor(), draft, repeat=repeat, override=override)
        return jsonify(_sessions_reply(created)), 201

    @expose("/<int:session_id>/update", methods=["POST"])
    @has_access_api
    @answers_json
    def update(self, session_id: int) -> Any:
        body = _body()
        version = as_int(body.get("version"), "version", lo=1, hi=2**31 - 1)
        scope = as_choice(body.get("scope", "one"), "scope", SCOPES)
        override = as_bool(body.get("override"), "override")
        raw_changes = body.get("changes")
        if not isinstance(raw_changes, dict) or not raw_changes:
            raise InputError(_("Nothing to change."), "changes")
        unknown = set(raw_changes) - {
            "title", "session_type", "start", "end", "timezone", "location", "join_link", "coach_id",
        }  # fmt: skip
        if unknown:
            raise InputError(_("These fields cannot be changed here: %(names)s.", names=", ".join(sorted(unknown))))
        changes = _session_fields(raw_changes, partial=True)
        if "title" in changes and not changes["title"]:
            raise InputError(_("%(field)s is required.", field="title"), "title")
        with committed():
            changed = sessions.update_session(
                db.session,
                current_actor(),
                session_id,
                version=version,
                changes=changes,
                scope=scope,
                override=override,
            )
        return jsonify(_sessions_reply(changed))

    @expose("/<int:session_id>/cancel", methods=["POST"])
    @has_access_api
    @answers_json
    def cancel(self, session_id: int) -> Any:
        body = _body()
        version = as_int(body.get("version"), "version", lo=1, hi=2**31 - 1)
        scope = as_choice(body.get("scope", "one"), "scope", SCOPES)
        with committed():
            changed = sessions.cancel_sessions(db.session, current_actor(), session_id, version=version, scope=scope)
        return jsonify(_sessions_reply(changed))

    @expose("/<int:session_id>/capacity", methods=["POST"])
    @has_access_api
    @answers_json
    def capacity(self, session_id: int) -> Any:
        body = _body()
        capacity = as_int(body.get("capacity"), "capacity", lo=1, hi=MAX_CAPACITY)
        version = as_int(body.get("version"), "version", lo=1, hi=2**31 - 1, required=False)
        with committed():
            promoted = booking.set_capacity(
                db.session, current_actor(), session_id, capacity, rules=_rules(), expected_version=version
            )
            names = [person_name(p) for p in promoted]
        return jsonify({"ok": True, "promoted": names})


class RosterApiView(BaseView):
    """Book and cancel customers, attendance, feedback: the booking engine's rules, the actor's scope."""

    route_base = "/schedule/api/sessions"
    class_permission_name = "SessionParticipants"
    method_permission_name = {"book": "write", "cancel_booking": "write", "attendance": "write", "feedback": "write"}

    @expose("/<int:session_id>/book", methods=["POST"])
    @has_access_api
    @answers_json
    def book(self, session_id: int) -> Any:
        customer = as_uuid(_body().get("customer_id"), "customer_id")
        with committed():
            result = booking.book(db.session, current_actor(), session_id, customer, rules=_rules())
            name = person_name(result.participant)
        return jsonify({"ok": True, "outcome": result.outcome, "name": name})

    @expose("/<int:session_id>/cancel-booking", methods=["POST"])
    @has_access_api
    @answers_json
    def cancel_booking(self, session_id: int) -> Any:
        customer = as_uuid(_body().get("customer_id"), "customer_id")
        with committed():
            result = booking.cancel_booking(db.session, current_actor(), session_id, customer, rules=_rules())
            promoted = [person_name(p) for p in result.promoted]
        return jsonify({"ok": True, "late": result.late, "promoted": promoted})

    @expose("/<int:session_id>/attendance", methods=["POST"])
    @has_access_api
    @answers_json
    def attendance(self, session_id: int) -> Any:
        """One person, several, or ``"all": true`` (everyone holding a seat)."""
        body = _body()
        status = as_choice(body.get("status"), "status", ATTENDANCE)
        actor = current_actor()
        if as_bool(body.get("all"), "all"):
            roster = booking.roster(db.session, actor, session_id)
            customers = [p.customer_id for p in roster.booked]
            if not customers:
                raise InputError(_("Nobody holds a seat in this session."), "all")
        else:
            customers = as_uuid_list(body.get("customer_ids", body.get("customer_id")), "customer_ids")
        with committed():
            count = booking.mark_attendance(db.session, actor, session_id, customers, AttendanceStatus(status))
        return jsonify({"ok": True, "count": count})

    @expose("/<int:session_id>/feedback", methods=["POST"])
    @has_access_api
    @answers_json
    def feedback(self, session_id: int) -> Any:
        body = _body()
        customer = as_uuid(body.get("customer_id"), "customer_id")
        score = as_int(body.get("score"), "score", lo=1, hi=5, required=False)
        with committed():
            booking.set_feedback(db.session, current_actor(), session_id, customer, score)
        return jsonify({"ok": True, "score": score})


def _slot_fields(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not partial or "day_of_week" in body:
        out["day_of_week"] = as_int(body.get("day_of_week"), "day_of_week", lo=0, hi=6)
    for key in ("start_time", "end_time"):
        if not partial or key in body:
            out[key] = as_time(body.get(key), key)
    if not partial or "timezone" in body:
        out["timezone"] = as_zone(body.get("timezone"), "timezone", default=viewer_zone_name())
    if not partial or "capacity" in body:
        out["capacity"] = as_int(body.get("capacity", 1), "capacity", lo=1, hi=MAX_CAPACITY)
    if "start_time" in out and "end_time" in out and out["end_time"] <= out["start_time"]:
        raise InputError(_("The slot must end after it starts (on the same day)."), "end_time")
    if partial and not out:
        raise InputError(_("Nothing to change."))
    return out


class AvailabilityApiView(BaseView):
    """Weekly availability slots and dated exceptions (time off, extra hours), edited on the calendar."""

    route_base = "/schedule/api/availability"
    class_permission_name = "CoachAvailability"
    method_permission_name = {
        "add_slot": "write",
        "update_slot": "write",
        "delete_slot": "write",
        "add_exception": "write",
        "delete_exception": "write",
    }

    @expose("/slots", methods=["POST"])
    @has_access_api
    @answers_json
    def add_slot(self) -> Any:
        body = _body()
        coach = as_uuid(body.get("coach_id"), "coach_id", required=False)
        fields = _slot_fields(body, partial=False)
        with committed():
            slot = availability.add_slot(db.session, current_actor(), coach_id=coach, **fields)
            slot_id = slot.id
        return jsonify({"ok": True, "id": slot_id}), 201

    @expose("/slots/<int:slot_id>/update", methods=["POST"])
    @has_access_api
    @answers_json
    def update_slot(self, slot_id: int) -> Any:
        fields = _slot_fields(_body(), partial=True)
        with committed():
            availability.update_slot(db.session, current_actor(), slot_id, **fields)
        return jsonify({"ok": True, "id": slot_id})

    @expose("/slots/<int:slot_id>/delete", methods=["POST"])
    @has_access_api
    @answers_json
    def delete_slot(self, slot_id: int) -> Any:
        with committed():
            availability.delete_slot(db.session, current_actor(), slot_id)
        return jsonify({"ok": True})

    @expose("/exceptions", methods=["POST"])
    @has_access_api
    @answers_json
    def add_exception(self) -> Any:
        body = _body()
        zone = viewer_zone()
        coach = as_uuid(body.get("coach_id"), "coach_id", required=False)
        kind = as_choice(body.get("kind"), "kind", EXCEPTION_KINDS)
        starts_at = as_datetime(body.get("starts_at"), "starts_at", zone)
        ends_at = as_datetime(body.get("ends_at"), "ends_at", zone)
        assert starts_at is not None and ends_at is not None
        if ends_at <= starts_at:
            raise InputError(_("The end must be after the start."), "ends_at")
        note = as_text(body.get("note"), "note")
        with committed():
            row = availability.add_exception(
                db.session, current_actor(), coach_id=coach, kind=kind, starts_at=starts_at, ends_at=ends_at, note=note
            )
            row_id = row.id
        return jsonify({"ok": True, "id": row_id}), 201

    @expose("/exceptions/<int:exception_id>/delete", methods=["POST"])
    @has_access_api
    @answers_json
    def delete_exception(self, exception_id: int) -> Any:
        with committed():
            availability.delete_exception(db.session, current_actor(), exception_id)
        return jsonify({"ok": True})


VIEWS = (SessionApiView, RosterApiView, AvailabilityApiView)
