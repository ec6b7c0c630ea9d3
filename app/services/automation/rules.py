"""Saving a rule: check everything a rule says, store it, version it, move it through its lifecycle.

A rule is written as a ``RuleDraft`` (what the editor sends). ``check`` lists every problem with
the path of the widget it belongs to (``trigger_event``, ``condition.all[1].value``,
``actions[0].params.url``...), so the editor can point at each; ``save`` refuses a draft with
problems (``RuleInvalid``), else writes the rule, bumps its version and stores that version's
definition, which is what the engine runs: an execution keeps the version it matched, so editing
a rule never changes what an already-matched execution does.

Lifecycle: DRAFT -> ACTIVE -> PAUSED -> ACTIVE ..., and any state -> ARCHIVED; an archived rule
may come back as a DRAFT. Activating re-checks the rule (the catalogue may have changed since it
was saved) and clears a pause's reason and failure streak.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from croniter import croniter
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.automation import AutomationRule, AutomationRuleVersion, RuleFrequency, RuleStatus, TriggerType
from app.models.base import utcnow
from app.models.json_schemas import MAX_RULE_ACTIONS
from app.services.automation import actions as action_catalogue
from app.services.automation import triggers
from app.services.automation.conditions import Problem, validate
from app.services.scheduling.access import is_coach
from app.services.timezones import is_valid_zone

MAX_NAME = 200
MAX_CRON = 100
MAX_GROUP_ITEMS = 50  # RULE_CONDITION's maxItems
# The lifecycle: from each status, where a person may move a rule.
TRANSITIONS: dict[RuleStatus, frozenset[RuleStatus]] = {
    RuleStatus.DRAFT: frozenset({RuleStatus.ACTIVE, RuleStatus.ARCHIVED}),
    RuleStatus.ACTIVE: frozenset({RuleStatus.PAUSED, RuleStatus.ARCHIVED}),
    RuleStatus.PAUSED: frozenset({RuleStatus.ACTIVE, RuleStatus.ARCHIVED}),
    RuleStatus.ARCHIVED: frozenset({RuleStatus.DRAFT}),
}


class RuleInvalid(ValueError):
    """A draft with problems; nothing was saved."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path or '(rule)'}: {p.message}" for p in problems))
        self.problems = problems


@dataclass
class RuleDraft:
    """Everything a rule says, as the editor sends it (JSON-ready values)."""

    name: str
    trigger_type: str
    trigger_event: str | None = None
    schedule_cron: str | None = None
    schedule_timezone: str | None = None
    inactivity_days: int | None = None
    condition: dict[str, Any] | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    frequency: str = RuleFrequency.EVERY_TIME.value
    frequency_days: int | None = None
    quiet_start: str | None = None  # "HH:MM"
    quiet_end: str | None = None
    coach_id: str | None = None

    @classmethod
    def of(cls, rule: AutomationRule) -> RuleDraft:
        return cls(**definition(rule))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def definition(rule: AutomationRule) -> dict[str, Any]:
    """The rule as the JSON its version row stores (and the editor loads)."""
    return {
        "name": rule.name,
        "trigger_type": TriggerType(rule.trigger_type).value,
        "trigger_event": rule.trigger_event,
        "schedule_cron": rule.schedule_cron,
        "schedule_timezone": rule.schedule_timezone,
        "inactivity_days": rule.inactivity_days,
        "condition": rule.condition_json,
        "actions": list(rule.action_json or []),
        "frequency": RuleFrequency(rule.frequency or RuleFrequency.EVERY_TIME).value,
        "frequency_days": rule.frequency_days,
        "quiet_start": rule.quiet_start.strftime("%H:%M") if rule.quiet_start else None,
        "quiet_end": rule.quiet_end.strftime("%H:%M") if rule.quiet_end else None,
        "coach_id": str(rule.coach_id) if rule.coach_id else None,
    }


def _time(raw: str | None) -> dt.time | None:
    if raw in (None, ""):
        return None
    try:
        return dt.time.fromisoformat(str(raw))
    except ValueError:
        raise ValueError(raw) from None


def _uuid(raw: str | None) -> uuid.UUID | None:
    if raw in (None, ""):
        return None
    return uuid.UUID(str(raw))


def _check_trigger(draft: RuleDraft, problems: list[Problem]) -> TriggerType | None:
    try:
        kind = TriggerType(draft.trigger_type)
    except ValueError:
        problems.append(Problem("trigger_type", _("Choose a trigger.")))
        return None
    if kind in triggers.EVENT_TRIGGERS and draft.trigger_event not in triggers.event_choices(kind):
        problems.append(Problem("trigger_event", _("Choose the event this rule listens for.")))
    if kind == TriggerType.SCHEDULE:
        cron = (draft.schedule_cron or "").strip()
        if not cron or len(cron) > MAX_CRON or len(cron.split()) != 5 or not croniter.is_valid(cron):
            message = _(
                "“%(cron)s” is not a cron expression (five fields: minute hour day month weekday).",
                cron=cron[:MAX_CRON],
            )
            problems.append(Problem("schedule_cron", message))
        if not draft.schedule_timezone or not is_valid_zone(draft.schedule_timezone):
            problems.append(Problem("schedule_timezone", _("Choose the time zone the schedule is read in.")))
    if kind == TriggerType.INACTIVITY:
        days = draft.inactivity_days
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
            problems.append(Problem("inactivity_days", _("Inactivity is counted in whole days, from 1 to 365.")))
    return kind


def _check_settings(draft: RuleDraft, problems: list[Problem]) -> None:
    name = (draft.name or "").strip()
    if not name:
        problems.append(Problem("name", _("Give the rule a name.")))
    elif len(name) > MAX_NAME or "\x00" in name:
        problems.append(Problem("name", _("A rule's name has at most %(n)s characters.", n=MAX_NAME)))
    try:
        frequency = RuleFrequency(draft.frequency)
    except ValueError:
        problems.append(Problem("frequency", _("Choose how often the rule may act for one customer.")))
    else:
        days = draft.frequency_days
        if frequency == RuleFrequency.ONCE_PER_PERIOD and (
            not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650
        ):
            problems.append(Problem("frequency_days", _("Say after how many days (1 to 3650) it may act again.")))
    try:
        start, end = _time(draft.quiet_start), _time(draft.quiet_end)
    except ValueError:
        problems.append(Problem("quiet_start", _("Quiet hours are times of day, such as 21:00.")))
    else:
        if (start is None) != (end is None) or (start is not None and start == end):
            problems.append(Problem("quiet_start", _("Quiet hours need a different start and end, or neither.")))
    try:
        _uuid(draft.coach_id)
    except ValueError:
        problems.append(Problem("coach_id", _("Choose a coach from the list.")))


def _check_coach(draft: RuleDraft, db: Session | None, problems: list[Problem]) -> None:
    if db is None or not draft.coach_id or any(p.path == "coach_id" for p in problems):
        return
    if not is_coach(db, uuid.UUID(str(draft.coach_id))):
        problems.append(Problem("coach_id", _("Choose a coach from the list.")))


def _oversized_groups(node: Any, path: str = "") -> list[Problem]:
    """Groups longer than the stored schema allows (the condition checker counts leaves, not group sizes)."""
    out: list[Problem] = []
    if isinstance(node, dict):
        for key in ("all", "any"):
            items = node.get(key)
            if isinstance(items, list):
                where = f"{path}.{key}" if path else key
                if len(items) > MAX_GROUP_ITEMS:
                    out.append(Problem(where, _("A group holds at most %(n)s items.", n=MAX_GROUP_ITEMS)))
                for index, item in enumerate(items[: MAX_GROUP_ITEMS + 1]):
                    out.extend(_oversized_groups(item, f"{where}[{index}]"))
        if "not" in node:
            out.extend(_oversized_groups(node["not"], f"{path}.not" if path else "not"))
    return out


def check(draft: RuleDraft, db: Session | None = None) -> list[Problem]:
    """Every problem of ``draft``, each with the path of the part it is about (empty: it can be saved)."""
    problems: list[Problem] = []
    _check_settings(draft, problems)
    _check_coach(draft, db, problems)
    kind = _check_trigger(draft, problems)
    if kind is not None and not any(p.path == "trigger_event" for p in problems):
        fields = triggers.condition_fields(kind, draft.trigger_event)
        problems.extend(Problem(f"condition.{p.path}", p.message) for p in _oversized_groups(draft.condition))
        problems.extend(Problem(f"condition.{p.path}" if p.path else "condition", p.message)
                        for p in validate(draft.condition, fields))  # fmt: skip
    if not isinstance(draft.actions, list) or not draft.actions:
        problems.append(Problem("actions", _("Add at least one action.")))
    elif len(draft.actions) > MAX_RULE_ACTIONS:
        problems.append(Problem("actions", _("A rule has at most %(n)s actions.", n=MAX_RULE_ACTIONS)))
    else:
        for index, problem in action_catalogue.check_actions(draft.actions, db):
            where = f"actions[{index}].params.{problem.param}" if problem.param else f"actions[{index}]"
            problems.append(Problem(where, problem.message))
    return problems


def _apply(rule: AutomationRule, draft: RuleDraft) -> None:
    kind = TriggerType(draft.trigger_type)
    rule.name = draft.name.strip()
    rule.trigger_type = kind
    rule.trigger_event = draft.trigger_event if kind in triggers.EVENT_TRIGGERS else None
    rule.schedule_cron = draft.schedule_cron.strip() if kind == TriggerType.SCHEDULE and draft.schedule_cron else None
    rule.schedule_timezone = draft.schedule_timezone if kind == TriggerType.SCHEDULE else None
    rule.inactivity_days = draft.inactivity_days if kind == TriggerType.INACTIVITY else None
    rule.condition_json = draft.condition or None
    rule.action_json = [{"type": a["type"], "params": dict(a.get("params") or {})} for a in draft.actions]
    rule.frequency = RuleFrequency(draft.frequency)
    rule.frequency_days = draft.frequency_days if rule.frequency == RuleFrequency.ONCE_PER_PERIOD else None
    rule.quiet_start, rule.quiet_end = _time(draft.quiet_start), _time(draft.quiet_end)
    rule.coach_id = _uuid(draft.coach_id)


def save(
    db: Session, draft: RuleDraft, *, actor_id: uuid.UUID | None, rule: AutomationRule | None = None
) -> AutomationRule:
    """Create (``rule`` None) or change a rule from ``draft`` and record its version; ``RuleInvalid`` on problems.

    An unchanged draft keeps the version it has. The caller commits.
    """
    problems = check(draft, db)
    if problems:
        raise RuleInvalid(problems)
    if rule is None:
        rule = AutomationRule(status=RuleStatus.DRAFT, created_by=actor_id, version=0)
        db.add(rule)
    elif rule.version and definition(rule) == _normal(draft):
        return rule
    _apply(rule, draft)
    rule.version = (rule.version or 0) + 1
    rule.updated_at = utcnow()
    db.flush()
    snapshot = AutomationRuleVersion(
        rule_id=rule.id, version=rule.version, definition=definition(rule), created_by=actor_id
    )
    db.add(snapshot)
    db.flush()
    return rule


def _normal(draft: RuleDraft) -> dict[str, Any]:
    """``draft`` as ``definition`` would store it, to tell an unchanged save from a change."""
    probe = AutomationRule(status=RuleStatus.DRAFT)
    _apply(probe, draft)
    return definition(probe)


def transition(db: Session, rule: AutomationRule, to: RuleStatus | str, *, reason: str | None = None) -> AutomationRule:
    """Move ``rule`` to ``to`` if its lifecycle allows; activating re-checks it (``RuleInvalid``)."""
    target = RuleStatus(to)
    current = RuleStatus(rule.status)
    if target not in TRANSITIONS[current]:
        message = _(
            "A rule that is %(current)s cannot become %(target)s.",
            current=status_label(current),
            target=status_label(target),
        )
        raise RuleInvalid([Problem("status", message)])
    if target == RuleStatus.ACTIVE:
        problems = check(RuleDraft.of(rule), db)
        if problems:
            raise RuleInvalid(problems)
        rule.failure_streak = 0
        rule.paused_reason = None
    if target == RuleStatus.PAUSED:
        rule.paused_reason = reason
    rule.status = target
    rule.updated_at = utcnow()
    db.flush()
    return rule


def status_label(status: RuleStatus | str) -> str:
    labels = {
        RuleStatus.DRAFT: _("draft"),
        RuleStatus.ACTIVE: _("active"),
        RuleStatus.PAUSED: _("paused"),
        RuleStatus.ARCHIVED: _("archived"),
    }
    return labels[RuleStatus(status)]


def version_definition(db: Session, rule_id: int, version: int) -> Mapping[str, Any] | None:
    """What version ``version`` of a rule said (None if it was never saved as such)."""
    stmt = sa.select(AutomationRuleVersion.definition).where(
        AutomationRuleVersion.rule_id == rule_id, AutomationRuleVersion.version == version
    )
    return db.scalar(stmt)
