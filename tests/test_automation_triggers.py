"""Every trigger of the catalogue, on both databases: an event of each type wakes the rules listening
for it (and no other), through the dispatcher, and the engine acts for the event's customer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.automation import ExecutionStatus, SegmentMembership
from app.services import events
from app.services.automation import engine, triggers
from app.services.events import catalogue
from tests.support.automation_support import dispatch, executions, make_rule
from tests.support.plan_support import make_customer

SAMPLE = {
    catalogue.ENUM: None,  # the field's first value
    catalogue.NUMBER: 85,
    catalogue.DATE: "2027-01-04",
    catalogue.DATETIME: "2027-01-04T10:00:00+00:00",
    catalogue.CODE: "weight",
    catalogue.BOOLEAN: True,
}


def _payload(spec: catalogue.EventType) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for field in spec.fields:
        if field.kind == catalogue.ID:
            body[field.name] = str(uuid.uuid4()) if field.uuid else 1
        elif field.kind == catalogue.ENUM:
            body[field.name] = field.values[0]
        else:
            body[field.name] = SAMPLE[field.kind]
    assert spec.errors(body) == []
    return body


def _trigger_type(event_type: str) -> str:
    fixed = {name: kind for kind in ("METRIC_THRESHOLD", "PAYMENT_FAILED") for name in triggers.event_choices(kind)}
    return fixed.get(event_type, "EVENT")


@pytest.mark.parametrize("event_type", sorted(catalogue.CATALOGUE))
def test_each_event_type_wakes_its_rules_and_only_them(app_ctx, event_type):
    spec = catalogue.CATALOGUE[event_type]
    listening = make_rule(f"On {event_type}", trigger_type=_trigger_type(event_type), trigger_event=event_type,
                          actions=[{"type": "ADD_TO_SEGMENT", "params": {"segment": "woken"}}])  # fmt: skip
    other = next(name for name in sorted(catalogue.CATALOGUE) if name != event_type and _trigger_type(name) == "EVENT")
    deaf = make_rule("Another event", trigger_event=other)
    customer = make_customer("Tia")
    events.emit(db.session, event_type, customer_id=customer, **_payload(spec))
    db.session.commit()
    dispatch()
    [execution] = executions(listening.id)
    assert execution.customer_id == customer and executions(deaf.id) == []
    assert engine.run_due(db.session).succeeded == 1
    members = db.session.scalars(sa.select(SegmentMembership.customer_id).where(SegmentMembership.segment == "woken"))
    assert list(members) == [customer]
    assert executions(listening.id)[0].status == ExecutionStatus.SUCCEEDED


@pytest.mark.parametrize(("value", "acts"), [(85, True), (79.5, False)])
def test_a_metric_threshold_rule_acts_above_its_threshold_only(app_ctx, value, acts):
    condition = {"all": [{"field": "metric_type", "op": "eq", "value": "weight"},
                         {"field": "value", "op": "gt", "value": 80}]}  # fmt: skip
    rule = make_rule("Weight over 80 kg", trigger_type="METRIC_THRESHOLD", condition=condition,
                     trigger_event=events.PROGRESS_METRIC_RECORDED)  # fmt: skip
    customer = make_customer("Uma")
    payload = _payload(catalogue.CATALOGUE[events.PROGRESS_METRIC_RECORDED]) | {"value": value}
    events.emit(db.session, events.PROGRESS_METRIC_RECORDED, customer_id=customer, **payload)
    db.session.commit()
    dispatch()
    assert len(executions(rule.id)) == (1 if acts else 0)
