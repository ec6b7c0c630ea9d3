"""Scheduling and attendance: sessions, rosters, coach availability, waitlists."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_babel import lazy_gettext as _l
from wtforms import validators as wtv

from app.models.scheduling import CoachAvailability, ScheduledSession, SessionParticipant, WaitlistEntry
from app.policy.roles import COACH
from app.policy.scope import is_unrestricted, role_names
from app.web.views.base.area import register_area
from app.web.views.base.datamodel import ScopedSQLAInterface
from app.web.views.base.model_view import CoachdeskModelView
from app.web.views.schedule import ScheduleView, register_hidden


def _own_coach_id(item: Any) -> None:
    """A coach's new session or availability is theirs; staff choose the coach."""
    user = g.user
    if COACH in role_names(user) and not is_unrestricted(user):
        item.coach_id = getattr(user, "platform_user_id", None)


class SessionParticipantView(CoachdeskModelView):
    route_base = "/session-participants"
    datamodel = ScopedSQLAInterface(SessionParticipant)
    class_permission_name = "SessionParticipants"
    list_title = show_title = _l("Session participants")
    add_title = _l("Add participant")
    edit_title = _l("Edit participant")
    list_columns = ["session", "customer", "role", "attendance_status", "feedback_score"]
    show_columns = list_columns
    add_columns = edit_columns = list_columns
    validators_columns = {"feedback_score": [wtv.Optional(), wtv.NumberRange(min=1, max=5)]}
    filter_columns = ("session", "customer", "role", "attendance_status")
    label_columns = {
        "session": _l("Session"),
        "customer": _l("Customer"),
        "role": _l("Role"),
        "attendance_status": _l("Attendance"),
        "feedback_score": _l("Feedback"),
    }


class WaitlistEntryView(CoachdeskModelView):
    route_base = "/waitlist-entries"
    datamodel = ScopedSQLAInterface(WaitlistEntry)
    class_permission_name = "WaitlistEntries"
    list_title = show_title = _l("Waitlist")
    add_title = _l("Add to waitlist")
    edit_title = _l("Edit waitlist entry")
    list_columns = ["session", "customer", "joined_at", "promoted_at"]
    show_columns = list_columns
    add_columns = edit_columns = ["session", "customer", "promoted_at"]
    filter_columns = ("session", "customer", "joined_at")
    base_order = ("joined_at", "desc")
    label_columns = {
        "session": _l("Session"),
        "customer": _l("Customer"),
        "joined_at": _l("Joined"),
        "promoted_at": _l("Promoted"),
    }


class ScheduledSessionView(CoachdeskModelView):
    route_base = "/scheduled-sessions"
    datamodel = ScopedSQLAInterface(ScheduledSession)
    class_permission_name = "ScheduledSessions"
    list_title = show_title = _l("Sessions")
    add_title = _l("Schedule a session")
    edit_title = _l("Edit session")
    list_columns = ["title", "session_type", "start_time", "end_time", "coach", "capacity", "status"]
    show_columns = [*list_columns, "timezone", "location", "join_link"]
    add_columns = edit_columns = [
        "title", "session_type", "start_time", "end_time", "timezone", "location", "join_link", "capacity",
        "status", "coach",
    ]  # fmt: skip
    validators_columns = {"capacity": [wtv.NumberRange(min=1)], "join_link": [wtv.Optional(), wtv.URL()]}
    search_text_columns = ("title", "location")
    filter_columns = ("session_type", "status", "coach", "start_time", "capacity")
    base_order = ("start_time", "desc")
    related_views = [SessionParticipantView, WaitlistEntryView]
    label_columns = {
        "title": _l("Title"),
        "session_type": _l("Type"),
        "start_time": _l("Starts"),
        "end_time": _l("Ends"),
        "timezone": _l("Time zone"),
        "location": _l("Location"),
        "join_link": _l("Join link"),
        "capacity": _l("Capacity"),
        "status": _l("Status"),
        "coach": _l("Coach"),
    }

    def pre_add(self, item: Any) -> None:
        _own_coach_id(item)


class CoachAvailabilityView(CoachdeskModelView):
    route_base = "/coach-availability"
    datamodel = ScopedSQLAInterface(CoachAvailability)
    class_permission_name = "CoachAvailability"
    list_title = show_title = _l("Coach availability")
    add_title = _l("Add availability")
    edit_title = _l("Edit availability")
    list_columns = ["coach", "day_of_week", "start_time", "end_time", "capacity"]
    show_columns = list_columns
    add_columns = edit_columns = list_columns
    validators_columns = {"day_of_week": [wtv.NumberRange(min=0, max=6)], "capacity": [wtv.NumberRange(min=1)]}
    filter_columns = ("coach", "day_of_week")
    label_columns = {
        "coach": _l("Coach"),
        "day_of_week": _l("Day (0 = Monday)"),
        "start_time": _l("From"),
        "end_time": _l("To"),
        "capacity": _l("Capacity"),
    }

    def pre_add(self, item: Any) -> None:
        _own_coach_id(item)


def register(appbuilder: Any) -> None:
    register_area(
        appbuilder,
        "Scheduling",
        _l("Scheduling"),
        "fa-calendar",
        [
            (ScheduleView, "Calendar", _l("Calendar"), "fa-calendar-check-o"),
            (ScheduledSessionView, "Sessions", _l("Sessions"), "fa-calendar-o"),
            (SessionParticipantView, "Session participants", _l("Session participants"), "fa-users"),
            (CoachAvailabilityView, "Coach availability", _l("Coach availability"), "fa-clock-o"),
            (WaitlistEntryView, "Waitlist", _l("Waitlist"), "fa-hourglass-half"),
        ],
    )
    register_hidden(appbuilder)
