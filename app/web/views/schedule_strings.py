"""Every word the schedule page's script shows, translated on the server for the current locale.

The script (app/static/coachdesk/schedule.js) holds no text of its own: it reads this dict from the
page, so the calendar speaks the console's language (Spanish and German catalogues included).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

SESSION_TYPE_LABELS = {
    "CLASS": _l("Class"),
    "ONE_ON_ONE": _l("One-on-one"),
    "VIRTUAL": _l("Virtual"),
    "HYBRID": _l("Hybrid"),
}
STATUS_LABELS = {
    "SCHEDULED": _l("Scheduled"),
    "COMPLETED": _l("Completed"),
    "CANCELLED": _l("Cancelled"),
}
ATTENDANCE_LABELS = {
    "REGISTERED": _l("Registered"),
    "ATTENDED": _l("Attended"),
    "NO_SHOW": _l("No-show"),
    "CANCELLED": _l("Cancelled"),
    "LATE_CANCEL": _l("Late cancel"),
}
WEEKDAY_LABELS = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))


def labels() -> dict[str, dict[str, str]]:
    return {
        "session_types": {k: str(v) for k, v in SESSION_TYPE_LABELS.items()},
        "statuses": {k: str(v) for k, v in STATUS_LABELS.items()},
        "attendance_statuses": {k: str(v) for k, v in ATTENDANCE_LABELS.items()},
        "weekdays": [str(d) for d in WEEKDAY_LABELS],
    }


def js_strings() -> dict[str, Any]:
    return {
        **labels(),
        "fill": _("%(booked)s/%(capacity)s booked"),
        "waitlist_n": _("%(n)s waiting"),
        "own_zone": _("%(time)s in %(zone)s"),
        "saving": _("Saving…"),
        "saved": _("Saved."),
        "error": _("Error"),
        "network_error": _("The server could not be reached. Nothing was changed."),
        "conflict_title": _("This change clashes with the schedule:"),
        "save_anyway": _("Save anyway"),
        "stale": _("Someone else changed this session meanwhile; the calendar shows the latest version now."),
        "new_session": _("New session"),
        "edit_session": _("Edit session"),
        "title": _("Title"),
        "type": _("Type"),
        "coach": _("Coach"),
        "capacity": _("Capacity"),
        "location": _("Location"),
        "join_link": _("Join link"),
        "join": _("Join"),
        "starts": _("Starts"),
        "ends": _("Ends"),
        "zone": _("Time zone"),
        "status": _("Status"),
        "repeat": _("Repeat weekly"),
        "repeat_days": _("On these days"),
        "repeat_count": _("Number of sessions"),
        "repeat_until": _("Or until"),
        "create": _("Create"),
        "save": _("Save"),
        "close": _("Close"),
        "cancel_one": _("Cancel this session"),
        "cancel_following": _("Cancel this and following"),
        "confirm_cancel": _("Cancel this session? Everyone booked is told."),
        "confirm_cancel_following": _("Cancel this session and every later one in its series?"),
        "scope_question": _("This session repeats. Apply the change to:"),
        "scope_one": _("Only this session"),
        "scope_following": _("This and following sessions"),
        "roster": _("Roster"),
        "waitlist": _("Waitlist"),
        "cancelled_bookings": _("Cancelled bookings"),
        "nobody": _("Nobody yet."),
        "add_customer": _("Add a customer"),
        "search_customers": _("Type a name or email"),
        "book": _("Book"),
        "booked": _("%(name)s is booked."),
        "waitlisted": _("The session is full: %(name)s joins the waitlist."),
        "already_booked": _("%(name)s is already booked."),
        "already_waitlisted": _("%(name)s is already on the waitlist."),
        "remove": _("Remove"),
        "removed": _("Booking cancelled."),
        "removed_late": _("Booking cancelled late (marked as a late cancellation)."),
        "promoted": _("%(name)s moved up from the waitlist."),
        "mark_all": _("Mark all attended"),
        "attendance": _("Attendance"),
        "attendance_saved": _("Attendance saved for %(n)s."),
        "feedback": _("Feedback (1-5)"),
        "no_score": _("No score"),
        "ics": _("Download .ics"),
        "details": _("Details"),
        "series": _("Part of a weekly series"),
        "availability_help": _("Select a time range to add availability or time off; click a block to remove it."),
        "add_availability": _("Add availability"),
        "weekly_slot": _("Every week (weekly slot)"),
        "extra": _("Extra availability on this date"),
        "time_off": _("Time off"),
        "available": _("Available"),
        "note": _("Note"),
        "delete": _("Delete"),
        "confirm_delete": _("Delete this availability block?"),
        "deleted": _("Deleted."),
        "pick_coach": _("Choose a coach in the filter to see and edit their availability."),
        "feed_rotated": _("New feed address (shown only now; copy it):"),
        "feed_confirm": _("Make a new secret feed address? The old one stops working."),
        "select_help": _("Select a time range to schedule a session."),
        "keyboard_help": _(
            "Keys: t today, ← and → previous and next, d day, w week, m month, l list, a availability, ? this help."
        ),
        "moved": _("Session moved."),
    }
