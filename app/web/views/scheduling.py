"""Scheduling and attendance: sessions, rosters, coach availability, waitlists.

Rosters change only through the booking engine (``app.services.scheduling.booking``), so the
generic forms keep its rules: adding a participant books them (or queues them when the session is
full), editing marks attendance or feedback, deleting cancels the booking (promoting from the
queue). The waitlist is the engine's record and is read-only here.
"""

from __future__ import annotations

from typing import Any

from babel.dates import get_day_names
from flask import abort, current_app, flash, g, request
from flask_babel import get_locale, lazy_pgettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms import validators as wtv

from app.extensions import committed, db
from app.models.scheduling import (
    AttendanceStatus,
    CoachAvailability,
    ScheduledSession,
    SessionParticipant,
    WaitlistEntry,
)
from app.policy.roles import COACH
from app.policy.scope import Actor, is_unrestricted, role_names
from app.services.scheduling import booking
from app.services.scheduling.errors import SchedulingError
from app.web.views.base.area import register_area
from app.web.views.base.datamodel import ScopedSQLAInterface
from app.web.views.base.model_view import CoachdeskModelView
from app.web.views.schedule import ScheduleView, register_hidden


def _own_coach_id(item: Any) -> None:
    """A coach's new session or availability is theirs; staff choose the coach."""
    user = g.user
    if COACH in role_names(user) and not is_unrestricted(user):
        item.coach_id = getattr(user, "platform_user_id", None)


def booking_rules() -> booking.BookingRules:
    return booking.BookingRules.from_config(current_app.config)


def weekday_choices() -> list[tuple[int, str]]:
    """Monday..Sunday in the viewer's language (CLDR names from Babel), keyed 0..6 as stored."""
    names = get_day_names("wide", locale=get_locale() or "en")
    return [(day, names[day].capitalize()) for day in range(7)]


class SessionParticipantView(CoachdeskModelView):
    route_base = "/session-participants"
    datamodel = ScopedSQLAInterface(SessionParticipant)
    class_permission_name = "SessionParticipants"
    list_title = show_title = _l("Session participants")
    add_title = _l("Add participant")
    edit_title = _l("Edit participant")
    list_columns = ["session", "customer", "role", "attendance_status", "feedback_score"]
    show_columns = [*list_columns, "booked_at", "cancelled_at"]
    add_columns = ["session", "customer"]
    edit_columns = ["attendance_status", "feedback_score"]
    validators_columns = {"feedback_score": [wtv.Optional(), wtv.NumberRange(min=1, max=5)]}
    filter_columns = ("session", "customer", "role", "attendance_status")
    label_columns = {
        "session": _l("Session"),
        "customer": _l("Customer"),
        "role": _l("Role"),
        "attendance_status": _l("Attendance"),
        "feedback_score": _l("Feedback"),
        "booked_at": _l("Booked"),
        "cancelled_at": _l("Cancelled"),
    }

    def _add(self) -> Any:
        """Book through the engine: past capacity the customer joins the waitlist, never a seat too many."""
        form = self.add_form.refresh()
        if request.method == "POST" and form.validate():
            try:
                with committed():
                    result = booking.book(
                        db.session, Actor.of(g.user), form.session.data.id, form.customer.data.id, rules=booking_rules()
                    )
            except SchedulingError as exc:
                flash(exc.message, "danger")
            else:
                flash(_outcome_message(result.outcome), "success" if result.outcome == "booked" else "info")
                return None
        self.update_redirect()
        return self._get_add_widget(form=form)

    def _edit(self, pk: Any) -> Any:
        """Attendance and feedback through the engine; choosing CANCELLED cancels the booking."""
        if request.method != "POST":
            return super()._edit(pk)
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        form = self.edit_form.refresh(request.form)
        form._id = self.datamodel.get_pk_value(item)
        if form.validate():
            try:
                with committed():
                    _apply_edit(item, form.attendance_status.data, form.feedback_score.data)
            except SchedulingError as exc:
                flash(exc.message, "danger")
            else:
                flash(self.edit_row_message, "success")
                return None
            item = self.datamodel.get(pk, self._base_filters)
            if item is None:
                abort(404)
        widgets = self._get_edit_widget(form=form)
        widgets = self._get_related_views_widgets(item, orders={}, pages={}, page_sizes={}, widgets=widgets)
        self.update_redirect()
        return widgets

    def _delete(self, pk: Any) -> None:
        """Deleting a participant cancels their booking (a seat freed is offered to the waitlist)."""
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        try:
            with committed():
                booking.cancel_booking(
                    db.session, Actor.of(g.user), item.session_id, item.customer_id, rules=booking_rules()
                )
        except SchedulingError as exc:
            flash(exc.message, "danger")
            return
        flash(_("Booking cancelled."), "success")
        self.update_redirect()


def _apply_edit(item: SessionParticipant, status: AttendanceStatus, score: int | None) -> None:
    actor = Actor.of(g.user)
    session_id, customer_id = item.session_id, item.customer_id
    old_status, old_score = item.attendance_status, item.feedback_score
    if score != old_score:
        booking.set_feedback(db.session, actor, session_id, customer_id, score)
    if status == old_status:
        return
    if status == AttendanceStatus.CANCELLED:
        booking.cancel_booking(db.session, actor, session_id, customer_id, rules=booking_rules())
    else:
        booking.mark_attendance(db.session, actor, session_id, [customer_id], status, rules=booking_rules())


def _outcome_message(outcome: str) -> str:
    return {
        "booked": _("Booked."),
        "waitlisted": _("The session is full: the customer joined the waitlist."),
        "already_booked": _("The customer is already booked into this session."),
        "already_waitlisted": _("The customer is already on the waitlist for this session."),
    }[outcome]


class WaitlistEntryView(CoachdeskModelView):
    route_base = "/waitlist-entries"
    datamodel = ScopedSQLAInterface(WaitlistEntry)
    class_permission_name = "WaitlistEntries"
    list_title = show_title = _l("Waitlist")
    # The booking engine keeps the queue in step with the roster; nobody edits it by hand.
    read_only = True
    list_columns = ["session", "customer", "joined_at", "promoted_at"]
    show_columns = list_columns
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
    validators_columns = {"capacity": [wtv.NumberRange(min=1)]}
    add_form_extra_fields = edit_form_extra_fields = {
        "day_of_week": SelectField(_l("Day"), choices=weekday_choices, coerce=int, validators=[wtv.InputRequired()])
    }
    filter_columns = ("coach", "day_of_week")
    label_columns = {
        "coach": _l("Coach"),
        "day_of_week": _l("Day"),
        "start_time": lazy_pgettext("time range", "From"),
        "end_time": lazy_pgettext("time range", "To"),  # "until", not the recipient of a message
        "capacity": _l("Capacity"),
    }

    def pre_add(self, item: Any) -> None:
        _own_coach_id(item)

    def _cell(self, row: Any, column: str) -> str:
        if column == "day_of_week":
            return _weekday(row.day_of_week)
        return super()._cell(row, column)

    def _get_show_widget(self, pk: Any, item: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        widgets = super()._get_show_widget(pk, item, *args, **kwargs)
        values = widgets["show"].template_args["value_columns"]
        values[self.show_columns.index("day_of_week")] = _weekday(item.day_of_week)
        return widgets


def _weekday(day: int | None) -> str:
    return dict(weekday_choices()).get(day, "") if day is not None else ""


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
