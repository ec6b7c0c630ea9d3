"""The closed catalogue of API scopes: ``<resource>:<read|write>``, OAuth style (space separated)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# scope -> (the console entity resource whose grant it mirrors, write?, label)
SCOPES: dict[str, tuple[str, bool, object]] = {
    "customers:read": ("Users", False, _l("Read customers")),
    "customers:write": ("Users", True, _l("Update customer profiles")),
    "plans:read": ("CustomerPlans", False, _l("Read plans and plan items")),
    "plans:write": ("PlanItems", True, _l("Complete, skip or give feedback on plan items")),
    "metrics:read": ("ProgressMetrics", False, _l("Read progress metrics")),
    "metrics:write": ("ProgressMetrics", True, _l("Record progress metrics")),
    "sessions:read": ("ScheduledSessions", False, _l("Read the timetable and bookings")),
    "bookings:write": ("SessionParticipants", True, _l("Book and cancel sessions")),
    "tickets:read": ("SupportTickets", False, _l("Read support tickets")),
    "tickets:write": ("SupportTickets", True, _l("Create support tickets")),
    "messages:read": ("Messages", False, _l("Read message threads")),
    "messages:write": ("Messages", True, _l("Send messages")),
    "billing:read": ("Subscriptions", False, _l("Read subscriptions and invoices")),
    "billing:write": ("Subscriptions", True, _l("Pause, resume or cancel subscriptions")),
}


class ScopeError(ValueError):
    """A scope string names something outside the catalogue."""


def parse_scopes(text: str | None) -> frozenset[str]:
    """The scopes of a space- or comma-separated string; unknown ones are refused, not dropped."""
    names = frozenset(part for part in (text or "").replace(",", " ").split() if part)
    unknown = sorted(names - SCOPES.keys())
    if unknown:
        raise ScopeError(", ".join(unknown))
    return names


def format_scopes(scopes: frozenset[str] | set[str]) -> str:
    """The stored form: sorted, space separated."""
    return " ".join(sorted(scopes))
