"""What each trigger type listens for, and the fields its rule's condition may name.

EVENT, METRIC_THRESHOLD and PAYMENT_FAILED rules are woken by one domain event
(``trigger_event``, from the events catalogue; the last two have theirs fixed); their condition
reads the event's payload and subject. SCHEDULE and INACTIVITY rules are woken by time and match
customers (``segment_fields``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.models.automation import TriggerType
from app.services.automation.condition_tree import Field
from app.services.automation.segment_fields import SEGMENT_FIELDS
from app.services.events import catalogue

EVENT_TRIGGERS = frozenset({TriggerType.EVENT, TriggerType.METRIC_THRESHOLD, TriggerType.PAYMENT_FAILED})
SEGMENT_TRIGGERS = frozenset({TriggerType.SCHEDULE, TriggerType.INACTIVITY})


def event_choices(trigger_type: TriggerType | str) -> tuple[str, ...]:
    """The events a rule of this trigger type may listen for (empty for time-driven rules)."""
    return catalogue.SEED_TRIGGER_EVENTS.get(TriggerType(trigger_type), ())


def fixed_event(trigger_type: TriggerType | str) -> str | None:
    """The one event of METRIC_THRESHOLD and PAYMENT_FAILED rules (None when the author chooses)."""
    choices = event_choices(trigger_type)
    return choices[0] if len(choices) == 1 else None


def _condition_field(item: catalogue.Field) -> Field:
    return Field(item.name, item.rule_kind, choices=item.values, unit=item.unit, label=item.label)


def condition_fields(trigger_type: TriggerType | str, trigger_event: str | None) -> dict[str, Field]:
    """Field name -> field for a rule's condition (empty when an event trigger names no known event)."""
    kind = TriggerType(trigger_type)
    if kind in SEGMENT_TRIGGERS:
        return {f.name: f for f in SEGMENT_FIELDS}
    spec = catalogue.get(trigger_event or "")
    if spec is None or spec.name not in event_choices(kind):
        return {}
    return {f.name: _condition_field(f) for f in spec.condition_fields()}


def event_payload(customer_id: Any, payload: Mapping[str, Any]) -> dict[str, Any]:
    """What an event rule's condition reads: the payload plus its subject as ``customer_id``."""
    body = dict(payload)
    if customer_id is not None:
        body["customer_id"] = str(customer_id)
    return body


def describe(trigger_type: TriggerType | str, trigger_event: str | None) -> list[dict[str, Any]]:
    """The condition editor's field list (labels in the reader's language)."""
    out = []
    for field in condition_fields(trigger_type, trigger_event).values():
        entry: dict[str, Any] = {"name": field.name, "kind": field.kind, "label": field.title()}
        if field.choices:
            entry["choices"] = list(field.choices)
        if field.unit:
            entry["unit"] = field.unit
        out.append(entry)
    return out
