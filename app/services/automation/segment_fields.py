"""The customer fields a SCHEDULE or INACTIVITY rule's condition may use: its segment's vocabulary.

Event rules match an event's payload; schedule and inactivity rules match customers as they are
at that moment. These are the facts about a customer such a condition can name; ``segments``
gives each one its SQL expression, so matching a segment is one query, never a loop.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.models.customers import Gender
from app.models.identity import UserStatus
from app.services.automation.condition_tree import Field


def _choices(enum_cls: type) -> tuple[str, ...]:
    return tuple(str(m.value) for m in enum_cls)


SEGMENT_FIELDS: tuple[Field, ...] = (
    Field("customer_id", "id", label=_l("Customer")),
    Field("coach_id", "id", label=_l("Coach")),
    Field("status", "enum", choices=_choices(UserStatus), label=_l("Account status")),
    Field("locale", "text", label=_l("Language")),
    Field("timezone", "text", label=_l("Time zone")),
    Field("gender", "enum", choices=_choices(Gender), label=_l("Gender")),
    Field("age", "integer", unit="years", label=_l("Age")),
    Field("signup_date", "date", label=_l("Signed up")),
    Field("has_active_subscription", "boolean", label=_l("Has an active subscription")),
    Field("has_active_plan", "boolean", label=_l("Has an active plan")),
    Field("days_since_activity", "integer", unit="days", label=_l("Days since last activity")),
)
