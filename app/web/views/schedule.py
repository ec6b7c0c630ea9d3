"""The schedule calendar page (/schedule/) and what it reads: events, availability, a session's panel, .ics files.

Reading needs ``Calendar`` read; what the viewer sees is the services' row scope (a coach: their own
sessions, availability and feed; Support, Managers and Admins: everyone's). The writes live in
``schedule_api`` on the entity resources they change, so the role matrix checks each one directly.
The coach's iCal feed is public by design (a secret-token address a calendar app polls without a
session): ``ScheduleFeedView`` answers 404 for any token it does not know.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Response, abort, current_app, jsonify, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access, has_access_api
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from limits import parse as parse_limit
from limits.strategies import MovingWindowRateLimiter

from app.extensions import appbuilder, committed, db
from app.models.scheduling import SessionStatus, SessionType
from app.policy.scope import is_unrestricted
from app.services.scheduling import availability, booking, calendar, conflicts, ical
from app.services.scheduling.bookable import bookable_customers
from app.web.views import schedule_api
from app.web.views import schedule_payloads as payloads
from app.web.views.json_api import current_actor
from app.web.views.schedule_input import (
    InputError,
    answers_json,
    as_choice,
    as_text,
    as_uuid,
    json_object,
    time_range,
    viewer_zone,
    viewer_zone_name,
)
from app.web.views.schedule_strings import js_strings, labels

MAX_FILTER_VALUES = 100
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


def _many(name: str, parse: Any) -> list[Any] | None:
    """A repeated query argument (``coach=a&coach=b``), each value parsed; None when absent."""
    values = [v for v in request.args.getlist(name) if v != ""]
    if not values:
        return None
    if len(values) > MAX_FILTER_VALUES:
        raise InputError(_("Too many values for %(field)s.", field=name), name)
    return [parse(v, name) for v in values]


def _location(value: Any, field: str) -> str:
    text = as_text(value, field)
    assert text is not None
    return text


def _types(value: Any, field: str) -> str:
    return as_choice(value, field, tuple(t.value for t in SessionType))


def _statuses(value: Any, field: str) -> str:
    return as_choice(value, field, tuple(s.value for s in SessionStatus))


def page_config() -> dict[str, Any]:
    """What the page's script needs besides its strings: URLs, the viewer, what they may change."""
    actor = current_actor()
    zone_name = viewer_zone_name()
    offset = dt.datetime.now(viewer_zone()).utcoffset() or dt.timedelta()
    locale = str(get_locale() or "en")
    return {
        "zone": zone_name,
        "zone_offset_minutes": int(offset.total_seconds() // 60),
        "locale": locale.split("_")[0],
        "own_coach_id": str(actor.user_id) if actor.is_coach and actor.user_id else None,
        "staff": is_unrestricted(actor),
        "can": {
            "sessions": payloads.grants(actor, "ScheduledSessions"),
            "roster": payloads.grants(actor, "SessionParticipants"),
            "availability": payloads.grants(actor, "CoachAvailability"),
            "feed": payloads.grants(actor, "Calendar"),
            "override": conflicts.may_override(actor),
        },
        "urls": {
            "events": url_for("ScheduleView.events"),
            "availability": url_for("ScheduleView.availability_blocks"),
            "session": url_for("ScheduleView.session", session_id=0),
            "session_ics": url_for("ScheduleView.session_ics", session_id=0),
            "customers": url_for("ScheduleView.customers"),
            "feed_rotate": url_for("ScheduleView.rotate_feed"),
            "create": url_for("SessionApiView.create"),
            "update": url_for("SessionApiView.update", session_id=0),
            "cancel": url_for("SessionApiView.cancel", session_id=0),
            "capacity": url_for("SessionApiView.capacity", session_id=0),
            "book": url_for("RosterApiView.book", session_id=0),
            "cancel_booking": url_for("RosterApiView.cancel_booking", session_id=0),
            "attendance": url_for("RosterApiView.attendance", session_id=0),
            "feedback": url_for("RosterApiView.feedback", session_id=0),
            "slot_add": url_for("AvailabilityApiView.add_slot"),
            "slot_update": url_for("AvailabilityApiView.update_slot", slot_id=0),
            "slot_delete": url_for("AvailabilityApiView.delete_slot", slot_id=0),
            "exception_add": url_for("AvailabilityApiView.add_exception"),
            "exception_delete": url_for("AvailabilityApiView.delete_exception", exception_id=0),
        },
    }


class ScheduleView(BaseView):
    """The calendar page and its read endpoints; rotating a feed address is the one write (Calendar write)."""

    route_base = "/schedule"
    default_view = "index"
    class_permission_name = "Calendar"
    method_permission_name = {
        "index": "read",
        "events": "read",
        "availability_blocks": "read",
        "session": "read",
        "session_ics": "read",
        "customers": "read",
        "feed_status": "read",
        "rotate_feed": "write",
    }

    @expose("/")
    @has_access
    def index(self) -> Any:
        actor = current_actor()
        return self.render_template(
            "schedule/index.html",
            strings=js_strings(),
            config=page_config(),
            options=calendar.filter_options(db.session, actor),
            labels=labels(),
        )

    @expose("/events")
    @has_access_api
    @answers_json
    def events(self) -> Any:
        actor = current_actor()
        zone, zone_name = viewer_zone(), viewer_zone_name()
        start, end = time_range(request.args, zone)
        found = calendar.events(
            db.session,
            actor,
            start,
            end,
            coach_ids=_many("coach", as_uuid),
            locations=_many("location", _location),
            session_types=_many("type", _types),
            statuses=_many("status", _statuses),
        )
        editable = payloads.grants(actor, "ScheduledSessions")
        return jsonify([payloads.event_json(ev, zone, zone_name, editable=editable) for ev in found])

    @expose("/availability")
    @has_access_api
    @answers_json
    def availability_blocks(self) -> Any:
        actor = current_actor()
        zone = viewer_zone()
        start, end = time_range(request.args, zone)
        editing = request.args.get("editing") == "1" and payloads.grants(actor, "CoachAvailability")
        found = availability.blocks(db.session, actor, start, end, coach_ids=_many("coach", as_uuid))
        return jsonify([payloads.block_json(b, zone, editing=editing) for b in found])

    @expose("/sessions/<int:session_id>")
    @has_access_api
    @answers_json
    def session(self, session_id: int) -> Any:
        actor = current_actor()
        data = payloads.roster_json(booking.roster(db.session, actor, session_id), viewer_zone(), viewer_zone_name())
        data["can"] = {
            "edit": payloads.grants(actor, "ScheduledSessions"),
            "roster": payloads.grants(actor, "SessionParticipants"),
        }
        return jsonify(data)

    @expose("/sessions/<int:session_id>.ics")
    @has_access_api
    @answers_json
    def session_ics(self, session_id: int) -> Any:
        body = ical.session_ics(db.session, current_actor(), session_id)
        return Response(
            body,
            mimetype="text/calendar",
            headers={"Content-Disposition": f'attachment; filename="session-{session_id}.ics"'},
        )

    @expose("/customers")
    @has_access_api
    @answers_json
    def customers(self) -> Any:
        """Customers the viewer may book (a coach: their own), for the roster's "add a customer" field."""
        q = as_text(request.args.get("q", ""), "q", max_len=100) or ""
        return jsonify({"results": bookable_customers(db.session, current_actor(), q)})

    @expose("/feed/status")
    @has_access_api
    @answers_json
    def feed_status(self) -> Any:
        coach = as_uuid(request.args.get("coach"), "coach", required=False)
        return jsonify(ical.feed_status(db.session, current_actor(), coach))

    @expose("/feed/rotate", methods=["POST"])
    @has_access_api
    @answers_json
    def rotate_feed(self) -> Any:
        """A new secret feed address for the coach (a coach: their own); the address is shown only now."""
        coach = as_uuid(json_object().get("coach_id"), "coach_id", required=False)
        with committed():
            token = ical.rotate_feed(db.session, current_actor(), coach)
        return jsonify({"url": url_for("ScheduleFeedView.feed", token=token, _external=True)})


def _feed_request_allowed() -> bool:
    """Count this address's feed requests in the sign-in limiter's storage (Redis when the app has one):
    calendar apps poll every few minutes, so ``SCHEDULE_FEED_RATE_LIMIT`` (60 a minute) only stops guessing."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    storage = getattr(getattr(appbuilder.sm, "limiter", None), "storage", None)
    if storage is None:
        return True
    limit = parse_limit(current_app.config.get("SCHEDULE_FEED_RATE_LIMIT", "60 per minute"))
    return MovingWindowRateLimiter(storage).hit(limit, "schedule-feed", get_remote_address())


class ScheduleFeedView(BaseView):
    """A coach's iCal feed at its secret address: no sign-in (calendar apps poll it), 404 for unknown tokens."""

    route_base = "/schedule/feed"
    default_view = "feed"
    class_permission_name = "Calendar"

    @expose("/<token>.ics")
    def feed(self, token: str) -> Any:
        if not _feed_request_allowed():
            abort(429)
        if not TOKEN_RE.match(token or ""):
            abort(404)
        body = ical.feed_ics(db.session, token)
        if body is None:
            abort(404)
        return Response(body, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=300"})


def register_hidden(appbuilder: Any) -> None:
    """The views without a menu entry: the public feed and the JSON write endpoints (the page is in the
    Scheduling menu, added by ``scheduling.register`` so it comes first there)."""
    appbuilder.add_view_no_menu(ScheduleFeedView)
    for view in schedule_api.VIEWS:
        appbuilder.add_view_no_menu(view)
