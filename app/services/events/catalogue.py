"""The trigger catalogue: every domain event a service may emit, its payload schema and its fields.

One place says what an event carries, so ``emit`` can refuse a wrong payload, the automation
rule editor (issue 14) can offer only a trigger's own fields with operators fit for their types,
and dry runs can read old payloads knowing their shape. Payloads carry ids, codes, numbers and
dates only: never a name or free text, because they are copied into rules, logs and webhooks.
The customer an event is about is not in the payload but in ``domain_events.customer_id`` (the
event's *subject*), so rules and row scope match on one indexed column.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from jsonschema import Draft202012Validator

from app.models.analytics import MetricSource
from app.models.automation import TriggerType
from app.models.commerce import PaymentMethod, SubscriptionStatus
from app.models.engagement import TicketPriority, TicketStatus
from app.models.scheduling import ParticipantRole
from app.models.training import ItemType

# Field kinds a condition understands (the editor picks a widget and operators from these).
ID = "id"  # a row id (integer) or a user id (uuid): equality and membership only
ENUM = "enum"  # one of ``values``
NUMBER = "number"  # with a unit (``unit``) or a unit named by another field (``unit_field``)
DATE = "date"  # a calendar date, ISO "YYYY-MM-DD"
DATETIME = "datetime"  # an instant, ISO 8601 with offset
CODE = "code"  # a short machine code (metric type, consent type, currency): equality and membership
BOOLEAN = "boolean"
KINDS = (ID, ENUM, NUMBER, DATE, DATETIME, CODE, BOOLEAN)
# The same kinds in the rule condition language's words (app.services.automation.condition_tree's
# Field.kind), for the engine to build its fields from (it imports this package, never the reverse).
RULE_KINDS = {ID: "id", ENUM: "enum", NUMBER: "number", DATE: "date", DATETIME: "datetime", CODE: "text",
              BOOLEAN: "boolean"}  # fmt: skip

_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_DATETIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$"


@dataclass(frozen=True)
class Field:
    """One payload field: its type for the schema and for conditions, and a translated label."""

    name: str
    kind: str
    label: Any  # a lazy string
    values: tuple[str, ...] = ()
    unit: str | None = None  # "days", "kg": fixed units
    unit_field: str | None = None  # or the field holding the unit (amount -> currency, value -> unit)
    uuid: bool = False  # an id that is a user's UUID rather than an integer row id
    required: bool = True
    condition: bool = True  # may a rule's condition use it?

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown field kind {self.kind!r}")
        if self.kind == ENUM and not self.values:
            raise ValueError(f"{self.name}: an enum field needs values")

    def schema(self) -> dict[str, Any]:
        if self.kind == ID:
            return {"type": "string", "pattern": _UUID} if self.uuid else {"type": "integer", "minimum": 1}
        if self.kind == ENUM:
            return {"type": "string", "enum": list(self.values)}
        if self.kind == NUMBER:
            return {"type": "number"}
        if self.kind == DATE:
            return {"type": "string", "format": "date", "pattern": _DATE}
        if self.kind == DATETIME:
            return {"type": "string", "format": "date-time", "pattern": _DATETIME}
        if self.kind == CODE:
            return {"type": "string", "minLength": 1, "maxLength": 64}
        return {"type": "boolean"}

    @property
    def rule_kind(self) -> str:
        """The kind in the condition language (``automation.condition_tree``): whole numbers are "integer"."""
        if self.kind == NUMBER and self.unit in ("weeks", "days"):
            return "integer"
        return RULE_KINDS[self.kind]

    def describe(self) -> dict[str, Any]:
        """What the condition editor needs (labels translated in the reader's language)."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "rule_kind": self.rule_kind,
            "label": str(self.label),
        }
        if self.values:
            out["values"] = list(self.values)
        if self.unit:
            out["unit"] = self.unit
        if self.unit_field:
            out["unit_field"] = self.unit_field
        return out


@dataclass(frozen=True)
class EventType:
    """A trigger: name, translated label and description, its subject and its payload fields."""

    name: str
    label: Any
    description: Any
    fields: tuple[Field, ...]
    # The subject is the customer the event is about (``domain_events.customer_id``). Required
    # unless the event may also describe something with no one customer (a whole session).
    subject_required: bool = True
    _validator: Draft202012Validator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_validator", Draft202012Validator(self.schema()))

    def schema(self) -> dict[str, Any]:
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": self.name,
            "type": "object",
            "properties": {f.name: f.schema() for f in self.fields},
            "required": [f.name for f in self.fields if f.required],
            "additionalProperties": False,
        }

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def condition_fields(self) -> list[Field]:
        """The fields a rule's condition may use: the subject first, then the payload's own."""
        subject = Field("customer_id", ID, _l("Customer"), uuid=True, required=self.subject_required)
        return [subject, *(f for f in self.fields if f.condition)]

    def errors(self, payload: dict[str, Any]) -> list[str]:
        """Every way ``payload`` breaks the schema, as short messages naming the field (empty: valid)."""
        found = sorted(self._validator.iter_errors(payload), key=lambda e: list(e.path))
        return [f"{'/'.join(str(p) for p in e.path) or '(payload)'}: {e.message}" for e in found]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": str(self.label),
            "description": str(self.description),
            "fields": [f.describe() for f in self.condition_fields()],
        }


def _values(enum_cls: type[enum.Enum]) -> tuple[str, ...]:
    return tuple(str(member.value) for member in enum_cls)


# Reusable fields.
SESSION = Field("session_id", ID, _l("Session"))
PARTICIPANT = Field("participant_id", ID, _l("Booking"), required=False)
PLAN = Field("plan_id", ID, _l("Plan"))
PLAN_ITEM = Field("plan_item_id", ID, _l("Plan item"))
ITEM_TYPE = Field("item_type", ENUM, _l("Item type"), values=_values(ItemType))
ITEM = Field("item_id", ID, _l("Exercise, meal or habit"), condition=False)
SCHEDULED = Field("scheduled_date", DATE, _l("Planned day"))
SUBSCRIPTION = Field("subscription_id", ID, _l("Subscription"))
PRODUCT = Field("product_id", ID, _l("Product"))
INVOICE = Field("invoice_id", ID, _l("Invoice"))
AMOUNT = Field("amount", NUMBER, _l("Amount"), unit_field="currency")
CURRENCY = Field("currency", CODE, _l("Currency"))
TICKET = Field("ticket_id", ID, _l("Support ticket"))
PRIORITY = Field("priority", ENUM, _l("Priority"), values=_values(TicketPriority))
TICKET_STATUS = Field("status", ENUM, _l("Status"), values=_values(TicketStatus))
SLA_DUE = Field("sla_due_at", DATETIME, _l("SLA due"), required=False)
PAYMENT_FIELDS = (
    Field("payment_id", ID, _l("Payment")),
    INVOICE,
    AMOUNT,
    CURRENCY,
    Field("method", ENUM, _l("Payment method"), values=_values(PaymentMethod)),
)

# Names: a dotted "<area>.<what happened>"; a name is never reused for a different payload.
PLAN_ASSIGNED = "plan.assigned"
PLAN_ITEM_COMPLETED = "plan.item_completed"
PLAN_ITEM_MISSED = "plan.item_missed"
SUBSCRIPTION_CREATED = "subscription.created"
SUBSCRIPTION_PAUSED = "subscription.paused"
SUBSCRIPTION_CANCELLED = "subscription.cancelled"
SUBSCRIPTION_RENEWED = "subscription.renewed"
INVOICE_OVERDUE = "invoice.overdue"
PAYMENT_FAILED = "payment.failed"
SUBSCRIPTION_RESUMED = "subscription.resumed"
SUBSCRIPTION_PAST_DUE = "subscription.past_due"
SUBSCRIPTION_EXPIRED = "subscription.expired"
SUBSCRIPTION_REACTIVATED = "subscription.reactivated"
INVOICE_ISSUED = "invoice.issued"
INVOICE_PAID = "invoice.paid"
INVOICE_UNCOLLECTIBLE = "invoice.uncollectible"
PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_REFUNDED = "payment.refunded"
SESSION_BOOKED = "session.booked"
SESSION_WAITLISTED = "session.waitlisted"
SESSION_BOOKING_CANCELLED = "session.booking_cancelled"
SESSION_WAITLIST_PROMOTED = "session.waitlist_promoted"
SESSION_CANCELLED = "session.cancelled"
SESSION_NO_SHOW = "session.no_show"
SESSION_RESCHEDULED = "session.rescheduled"
SUPPORT_TICKET_CREATED = "support.ticket_created"
SUPPORT_SLA_BREACHED = "support.sla_breached"
PROGRESS_METRIC_RECORDED = "progress.metric_recorded"
CONSENT_REVOKED = "consent.revoked"
BADGE_AWARDED = "badge.awarded"

_CATALOGUE: tuple[EventType, ...] = (
    EventType(
        PLAN_ASSIGNED,
        _l("Plan assigned"),
        _l("A program was assigned to the customer as a dated plan."),
        (
            PLAN,
            Field("program_id", ID, _l("Program")),
            Field("start_date", DATE, _l("Start date")),
            Field("start_week", NUMBER, _l("Start week"), unit="weeks"),
        ),
    ),
    EventType(
        PLAN_ITEM_COMPLETED,
        _l("Plan item completed"),
        _l("The customer completed a workout, meal or habit of their plan."),
        (PLAN, PLAN_ITEM, ITEM_TYPE, ITEM, SCHEDULED),
    ),
    EventType(
        PLAN_ITEM_MISSED,
        _l("Plan item missed"),
        _l("A planned day passed (in the customer's time zone) without the item being completed."),
        (PLAN, PLAN_ITEM, ITEM_TYPE, ITEM, SCHEDULED),
    ),
    EventType(
        SUBSCRIPTION_CREATED,
        _l("Subscription created"),
        _l("The customer subscribed to a product."),
        (
            SUBSCRIPTION,
            PRODUCT,
            Field("status", ENUM, _l("Status"), values=_values(SubscriptionStatus)),
            Field("start_date", DATE, _l("Start date")),
        ),
    ),
    EventType(
        SUBSCRIPTION_PAUSED,
        _l("Subscription paused"),
        _l("The customer's subscription was paused."),
        (SUBSCRIPTION, PRODUCT, Field("pause_until", DATE, _l("Paused until"), required=False)),
    ),
    EventType(
        SUBSCRIPTION_CANCELLED,
        _l("Subscription cancelled"),
        _l("The customer's subscription was cancelled."),
        (SUBSCRIPTION, PRODUCT, Field("end_date", DATE, _l("End date"), required=False)),
    ),
    EventType(
        SUBSCRIPTION_RENEWED,
        _l("Subscription renewed"),
        _l("The customer's subscription was renewed for another period."),
        (SUBSCRIPTION, PRODUCT, Field("renewal_date", DATE, _l("Next renewal"), required=False)),
    ),
    EventType(
        INVOICE_OVERDUE,
        _l("Invoice overdue"),
        _l("An open invoice passed its due date unpaid."),
        (INVOICE, SUBSCRIPTION, AMOUNT, CURRENCY, Field("due_date", DATE, _l("Due date"))),
    ),
    EventType(
        PAYMENT_FAILED,
        _l("Payment failed"),
        _l("A payment of one of the customer's invoices failed."),
        PAYMENT_FIELDS,
    ),
    EventType(
        SUBSCRIPTION_RESUMED,
        _l("Subscription resumed"),
        _l("The customer's paused subscription is active again."),
        (SUBSCRIPTION, PRODUCT, Field("renewal_date", DATE, _l("Next renewal"), required=False)),
    ),
    EventType(
        SUBSCRIPTION_PAST_DUE,
        _l("Subscription past due"),
        _l("A payment failed, so the subscription is past due while the payment is retried."),
        (SUBSCRIPTION, PRODUCT, INVOICE),
    ),
    EventType(
        SUBSCRIPTION_EXPIRED,
        _l("Subscription expired"),
        _l("The customer's subscription reached its end date."),
        (SUBSCRIPTION, PRODUCT, Field("end_date", DATE, _l("End date"), required=False)),
    ),
    EventType(
        SUBSCRIPTION_REACTIVATED,
        _l("Subscription reactivated"),
        _l("A cancellation of the customer's subscription was withdrawn."),
        (SUBSCRIPTION, PRODUCT),
    ),
    EventType(
        INVOICE_ISSUED,
        _l("Invoice issued"),
        _l("An invoice for a billing period of the customer's subscription was issued."),
        (INVOICE, SUBSCRIPTION, AMOUNT, CURRENCY, Field("due_date", DATE, _l("Due date"))),
    ),
    EventType(
        INVOICE_PAID,
        _l("Invoice paid"),
        _l("The customer's payments reached the invoice's amount."),
        (INVOICE, SUBSCRIPTION, AMOUNT, CURRENCY),
    ),
    EventType(
        INVOICE_UNCOLLECTIBLE,
        _l("Invoice uncollectible"),
        _l("Every retry of the invoice's payment failed, so it was written off."),
        (INVOICE, SUBSCRIPTION, AMOUNT, CURRENCY),
    ),
    EventType(
        PAYMENT_SUCCEEDED,
        _l("Payment succeeded"),
        _l("A payment of one of the customer's invoices succeeded."),
        PAYMENT_FIELDS,
    ),
    EventType(
        PAYMENT_REFUNDED,
        _l("Payment refunded"),
        _l("A payment of one of the customer's invoices was refunded, in full or in part."),
        (Field("payment_id", ID, _l("Payment")), INVOICE, AMOUNT, CURRENCY),
    ),
    EventType(
        SESSION_BOOKED,
        _l("Session booked"),
        _l("The customer got a seat in a session."),
        (SESSION, PARTICIPANT),
    ),
    EventType(
        SESSION_WAITLISTED,
        _l("Put on a waitlist"),
        _l("The session was full, so the customer joined its waitlist."),
        (SESSION,),
    ),
    EventType(
        SESSION_BOOKING_CANCELLED,
        _l("Booking cancelled"),
        _l("The customer's seat (or place on the waitlist) in a session was cancelled."),
        (
            SESSION,
            PARTICIPANT,
            Field("late", BOOLEAN, _l("Late cancellation"), required=False),
            Field("waitlisted", BOOLEAN, _l("Was on the waitlist"), required=False),
        ),
    ),
    EventType(
        SESSION_WAITLIST_PROMOTED,
        _l("Promoted from the waitlist"),
        _l("A seat came free and the customer moved from the waitlist into the session."),
        (SESSION, PARTICIPANT, Field("waitlist_entry_id", ID, _l("Waitlist entry"), condition=False)),
    ),
    EventType(
        SESSION_CANCELLED,
        _l("Session cancelled"),
        _l("A session was cancelled; one event for the session and one per customer booked or waiting."),
        (
            SESSION,
            PARTICIPANT,
            Field("role", ENUM, _l("Booked as"), values=_values(ParticipantRole), required=False),
        ),
        subject_required=False,
    ),
    EventType(
        SESSION_NO_SHOW,
        _l("No-show"),
        _l("The customer was marked as not attending a session they had a seat in."),
        (SESSION, PARTICIPANT),
    ),
    EventType(
        SESSION_RESCHEDULED,
        _l("Session moved"),
        _l("A session was moved to another time."),
        (
            SESSION,
            Field("old_start", DATETIME, _l("Old start")),
            Field("old_end", DATETIME, _l("Old end")),
            Field("new_start", DATETIME, _l("New start")),
            Field("new_end", DATETIME, _l("New end")),
        ),
        subject_required=False,
    ),
    EventType(
        SUPPORT_TICKET_CREATED,
        _l("Support ticket created"),
        _l("A support ticket was opened for the customer."),
        (TICKET, PRIORITY, TICKET_STATUS, SLA_DUE),
    ),
    EventType(
        SUPPORT_SLA_BREACHED,
        _l("Support SLA breached"),
        _l("A ticket still open or pending passed its SLA due time."),
        (TICKET, PRIORITY, TICKET_STATUS, Field("sla_due_at", DATETIME, _l("SLA due"))),
    ),
    EventType(
        PROGRESS_METRIC_RECORDED,
        _l("Progress metric recorded"),
        _l("A measurement (weight, body fat, steps...) was recorded for the customer."),
        (
            Field("metric_id", ID, _l("Measurement")),
            Field("metric_type", CODE, _l("Metric")),
            Field("value", NUMBER, _l("Value"), unit_field="unit"),
            Field("unit", CODE, _l("Unit")),
            Field("source", ENUM, _l("Source"), values=_values(MetricSource)),
            Field("recorded_at", DATETIME, _l("Recorded")),
        ),
    ),
    EventType(
        CONSENT_REVOKED,
        _l("Consent revoked"),
        _l("The customer withdrew a consent they had given."),
        (
            Field("consent_id", ID, _l("Consent")),
            Field("consent_type", CODE, _l("Consent type")),
            Field("revoked_at", DATETIME, _l("Revoked")),
        ),
    ),
    EventType(
        BADGE_AWARDED,
        _l("Badge awarded"),
        _l("The customer was awarded a badge."),
        (
            Field("customer_badge_id", ID, _l("Award"), condition=False),
            Field("badge_id", ID, _l("Badge")),
            Field("badge_code", CODE, _l("Badge code")),
        ),
    ),
)

CATALOGUE: dict[str, EventType] = {event.name: event for event in _CATALOGUE}
EVENT_TYPES = frozenset(CATALOGUE)

# The seed's automation trigger types, read as catalogue events (EVENT rules name their event in
# the condition; SCHEDULE and INACTIVITY rules are not triggered by one event).
SEED_TRIGGER_EVENTS: dict[TriggerType, tuple[str, ...]] = {
    TriggerType.EVENT: tuple(CATALOGUE),
    TriggerType.METRIC_THRESHOLD: (PROGRESS_METRIC_RECORDED,),
    TriggerType.PAYMENT_FAILED: (PAYMENT_FAILED,),
    TriggerType.SCHEDULE: (),
    TriggerType.INACTIVITY: (),
}


def get(name: str) -> EventType | None:
    return CATALOGUE.get(name)


def describe_all(names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The catalogue for the rule editor, labels in the current language, sorted by label."""
    chosen = [CATALOGUE[n] for n in names] if names is not None else list(CATALOGUE.values())
    return sorted((e.describe() for e in chosen), key=lambda d: d["label"].casefold())
