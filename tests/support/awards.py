"""Hand-built histories for the badge and challenge tests: customers in zones, completions, events, readings."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from app.extensions import db
from app.models.analytics import EngagementEvent, ProgressMetric
from app.models.engagement import Challenge
from app.models.scheduling import ScheduledSession, SessionParticipant
from app.models.training import Badge, CompletionState, CustomerPlan, PlanItem, Program
from tests.support.plan_support import make_customer


def at(text: str) -> dt.datetime:
    """An ISO time; without an offset it is UTC."""
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def badge(code: str, criteria: dict[str, Any] | None) -> Badge:
    row = Badge(code=code, name=code.title(), criteria_json=criteria)
    db.session.add(row)
    db.session.commit()
    return row


def _plan(customer_id: uuid.UUID) -> int:
    existing = db.session.query(CustomerPlan.id).filter(CustomerPlan.customer_id == customer_id).scalar()
    if existing is not None:
        return existing
    program = db.session.query(Program).first()
    if program is None:
        program = Program(title="Base", goal="GENERAL_FITNESS", level="BEGINNER", visibility="PUBLIC")
        db.session.add(program)
        db.session.flush()
    plan = CustomerPlan(customer_id=customer_id, program_id=program.id, start_date=dt.date(2026, 1, 1), status="ACTIVE")
    db.session.add(plan)
    db.session.flush()
    return plan.id


def completions(customer_id: uuid.UUID, *moments: dt.datetime) -> None:
    plan_id = _plan(customer_id)
    for moment in moments:
        db.session.add(PlanItem(plan_id=plan_id, scheduled_date=moment.date(), item_type="EXERCISE", item_id=1,
                                completion_state=CompletionState.COMPLETED, completion_at=moment))  # fmt: skip
    db.session.commit()


def events(customer_id: uuid.UUID, event_type: str, *moments: dt.datetime, **payload: Any) -> None:
    for moment in moments:
        db.session.add(EngagementEvent(customer_id=customer_id, event_type=event_type, occurred_at=moment,
                                       payload_json=dict(payload)))  # fmt: skip
    db.session.commit()


def readings(customer_id: uuid.UUID, metric: str, *pairs: tuple[dt.datetime, Any], unit: str = "kg") -> None:
    for moment, value in pairs:
        db.session.add(ProgressMetric(customer_id=customer_id, metric_type=metric, value=decimal.Decimal(str(value)),
                                      unit=unit, recorded_at=moment, source="MANUAL"))  # fmt: skip
    db.session.commit()


def attended(customer_id: uuid.UUID, *starts: dt.datetime, status: str = "ATTENDED") -> None:
    for start in starts:
        session = ScheduledSession(session_type="CLASS", start_time=start, end_time=start + dt.timedelta(hours=1),
                                   timezone="UTC", capacity=10, title="Class")  # fmt: skip
        db.session.add(session)
        db.session.flush()
        db.session.add(SessionParticipant(session_id=session.id, customer_id=customer_id, attendance_status=status))
    db.session.commit()


def challenge(name: str, start: dt.date, end: dt.date, rules: dict[str, Any]) -> Challenge:
    row = Challenge(name=name, start_date=start, end_date=end, rules_json=rules)
    db.session.add(row)
    db.session.commit()
    return row


def customers(*specs: tuple[str, str]) -> list[uuid.UUID]:
    return [make_customer(name, timezone=zone) for name, zone in specs]
