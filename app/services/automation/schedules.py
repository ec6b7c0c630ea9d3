"""SCHEDULE rules: at each cron instant (read in the rule's own time zone), act for the customers
its condition matches at that moment.

``fire_due_schedules`` runs every minute. For each active SCHEDULE rule it finds the latest cron
instant after the rule last fired (or was last saved) up to now, and only that one: after a
downtime a rule catches up once, not once per missed instant. Each matching customer gets an
execution keyed by the instant and the customer (``cron:<UTC instant>:<customer>``: ``record``
keys an execution by rule and occurrence, and one instant is an occurrence for many customers),
so a tick that runs twice records nothing new.

Instants are DST-correct: a 09:00 Europe/Madrid rule fires at 08:00 UTC in winter and 07:00 UTC
in summer; a time that does not exist on the day clocks go forward fires when the gap ends; a
fixed time repeated when clocks go back fires once (as cron does), while a schedule with a
wildcard hour keeps both passes through the repeated hour.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

from croniter import croniter
from sqlalchemy.orm import Session

from app.models.automation import AutomationRule, TriggerType
from app.models.base import utcnow
from app.models.identity import PlatformUser
from app.policy.scope import coach_customers
from app.services.automation.matching import Occurrence, active_rules_of, record, rule_view
from app.services.automation.segments import customers_query, segment_condition

# Going back at most this many instants when the latest falls in a repeated hour (see the docstring).
_MAX_STEPS_BACK = 4


def _zone(name: str | None) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _repeated_wall_time(instant: dt.datetime, zone: dt.tzinfo) -> bool:
    """Whether ``instant`` is the second pass through a wall-clock time (clocks went back)."""
    return instant.astimezone(zone).fold == 1


def latest_instant(cron: str, zone_name: str | None, after: dt.datetime, now: dt.datetime) -> dt.datetime | None:
    """The latest instant of ``cron`` in ``zone_name`` within (``after``, ``now``], in UTC; None if none.

    A fixed hour met again when clocks go back does not fire again: the instant before it counts.
    """
    zone = _zone(zone_name)
    fixed_hour = "*" not in cron.split()[1]
    steps = croniter(cron, (now + dt.timedelta(microseconds=1)).astimezone(zone))
    for _ in range(_MAX_STEPS_BACK):
        instant = steps.get_prev(dt.datetime).astimezone(dt.UTC)
        if instant <= after:
            return None
        if fixed_hour and _repeated_wall_time(instant, zone):
            continue
        return instant
    return None


def occurrence_key(instant: dt.datetime, customer_id: uuid.UUID) -> str:
    """``cron:<UTC instant>:<customer>``: the execution's key names its subject, as one instant acts for many."""
    return f"cron:{instant.astimezone(dt.UTC):%Y%m%dT%H%M}:{customer_id}"


def _due_rules(db: Session) -> list[AutomationRule]:
    return active_rules_of(db, TriggerType.SCHEDULE)


def fire_rule(db: Session, rule: AutomationRule, now: dt.datetime) -> int:
    """Fire ``rule`` for its latest due instant, if any; the executions recorded (flushes, no commit)."""
    after = rule.last_fired_at or rule.updated_at or rule.created_at
    if not rule.schedule_cron or after is None:
        return 0
    instant = latest_instant(rule.schedule_cron, rule.schedule_timezone, after, now)
    if instant is None:
        return 0
    view = rule_view(rule)
    stmt = customers_query(segment_condition(rule.condition_json), now=instant)
    if view.coach_id is not None:
        stmt = stmt.where(PlatformUser.id.in_(coach_customers(view.coach_id)))
    pending = [
        (view, Occurrence(customer, occurrence_key(instant, customer), instant)) for customer in db.scalars(stmt)
    ]
    added = record(db, pending, now=now)
    rule.last_fired_at = instant
    db.flush()
    return added


def fire_due_schedules(db: Session, now: dt.datetime | None = None) -> int:
    """Fire every active SCHEDULE rule whose next instant has come; the executions recorded. The caller commits."""
    now = now or utcnow()
    return sum(fire_rule(db, rule, now) for rule in _due_rules(db))
