"""The dry run: what a rule would have done, on real data, without doing anything.

For an event rule, the last ``days`` days of its event are replayed: how many events there were,
how many the condition matches, for how many customers, and how many executions the rule would
have recorded once its frequency limit and coach scope are applied (all counted in SQL, see
``dry_run_counts``); then a sample of the matching customers, each with the reasons the
condition matched (``explain``) and what each action would have done (``preview``). For a
SCHEDULE or INACTIVITY rule: who matches now.

Nothing is written: no execution, no message, no audit row; a preview only reads. ``customers``
is the reader's row scope (a coach passes ``app.policy.scope.coach_customers(id)``): only those
customers are counted and shown. A draft with problems is refused with ``RuleInvalid``, like a save.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.automation import TriggerType
from app.models.base import utcnow
from app.models.events import DomainEvent
from app.models.identity import PlatformUser
from app.policy.scope import coach_customers
from app.services.automation import actions as action_catalogue
from app.services.automation import triggers
from app.services.automation.actions.base import ActionContext, ActionError
from app.services.automation.conditions import CompiledCondition, NotInSql, compile_condition
from app.services.automation.dry_run_counts import (
    Counts,
    Frequency,
    Window,
    event_columns,
    python_counts,
    sql_counts,
)
from app.services.automation.inactivity import inactive_query
from app.services.automation.rules import RuleDraft, RuleInvalid, check
from app.services.automation.segments import acting_customers, customer_facts, customers_query

MAX_DAYS = 365
MAX_SAMPLE = 100
_OVERSAMPLE = 5  # events read per sample row, to find distinct customers among the latest matches


@dataclass
class DryRunReport:
    trigger: str  # "event" | "segment"
    days: int
    scanned: int
    matched: int
    customers: int
    would_run: int
    sample: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Plan:
    """What every part of a dry run needs to know about the draft."""

    draft: RuleDraft
    kind: TriggerType
    condition: CompiledCondition
    frequency: Frequency
    now: dt.datetime
    rule_id: int


def run(
    db: Session,
    draft: RuleDraft,
    *,
    days: int = 30,
    sample: int = 20,
    customers: sa.Select[Any] | None = None,
    now: dt.datetime | None = None,
    rule_id: int | None = None,
) -> DryRunReport:
    """What ``draft`` would do over the last ``days`` days (event rules) or now (segment rules).

    ``customers``: a Select of the customer ids the reader may see (None: all). ``rule_id``: the
    saved rule, if any, for the action previews. ``RuleInvalid`` for a draft with problems.
    """
    problems = check(draft, db)
    if problems:
        raise RuleInvalid(problems)
    days = max(1, min(int(days), MAX_DAYS))
    sample = max(0, min(int(sample), MAX_SAMPLE))
    kind = TriggerType(draft.trigger_type)
    fields = triggers.condition_fields(kind, draft.trigger_event)
    coach_id = uuid.UUID(str(draft.coach_id)) if draft.coach_id else None
    plan = _Plan(
        draft=draft,
        kind=kind,
        condition=compile_condition(draft.condition, fields),
        frequency=Frequency(draft.frequency, draft.frequency_days, coach_id),
        now=now or utcnow(),
        rule_id=rule_id or 0,
    )
    if kind in triggers.SEGMENT_TRIGGERS:
        return _segment_run(db, plan, days, sample, customers)
    return _event_run(db, plan, fields, days, sample, customers)


# ---- event rules ----------------------------------------------------------------------------


def _event_run(
    db: Session, plan: _Plan, fields: Mapping[str, Any], days: int, sample: int, customers: sa.Select[Any] | None
) -> DryRunReport:
    event_type = plan.draft.trigger_event or ""
    window = Window(event_type, plan.now - dt.timedelta(days=days), plan.now, customers)
    try:
        counts = sql_counts(db, plan.condition, fields, window, plan.frequency)
        hit: sa.ColumnElement[bool] | None = plan.condition.to_sql(event_columns(fields))
    except NotInSql:
        counts, hit = python_counts(db, plan.condition, window, plan.frequency), None
    rows = _event_sample(db, plan, window, hit, sample)
    shown = sum(1 for row in rows if row["customer_id"] is not None)
    report = DryRunReport("event", days, counts.scanned, counts.matched, counts.customers, counts.would_run, rows)
    report.truncated = counts.customers > shown  # some matching customers are not in the sample
    return report


def _event_sample(
    db: Session, plan: _Plan, window: Window, hit: sa.ColumnElement[bool] | None, sample: int
) -> list[dict[str, Any]]:
    """The latest matching event of up to ``sample`` customers, each explained and previewed."""
    if sample == 0:
        return []
    stmt = sa.select(DomainEvent.id, DomainEvent.customer_id, DomainEvent.occurred_at, DomainEvent.payload).where(
        *window.criteria()
    )
    if hit is not None:
        stmt = stmt.where(hit).limit(sample * _OVERSAMPLE)
    # Newest first along ix_domain_events_event_type_occurred_at, stopping once enough have matched.
    stmt = stmt.order_by(DomainEvent.occurred_at.desc())
    picked: dict[Any, Any] = {}
    for row in db.execute(stmt.execution_options(yield_per=500)):
        if row.customer_id in picked:
            continue
        payload = triggers.event_payload(row.customer_id, row.payload or {})
        explanation = plan.condition.explain(payload)
        if not explanation.matched:
            continue
        picked[row.customer_id] = (row, payload, explanation)
        if len(picked) >= sample:
            break
    names = _names(db, [key for key in picked if key is not None])
    out = []
    for customer_id, (row, payload, explanation) in picked.items():
        ctx = _context(plan, customer_id, f"e{row.id}", event_id=row.id, payload=payload)
        out.append(_entry(plan, db, ctx, names, row.occurred_at, explanation.lines()))
    return out


# ---- segment rules (SCHEDULE, INACTIVITY) ------------------------------------------------------


def _segment_run(db: Session, plan: _Plan, days: int, sample: int, customers: sa.Select[Any] | None) -> DryRunReport:
    scope = [PlatformUser.id.in_(customers)] if customers is not None else []
    if plan.kind == TriggerType.INACTIVITY:
        matching = inactive_query(plan.condition, plan.draft.inactivity_days or 1, plan.now).where(*scope)
    else:
        matching = customers_query(plan.condition, now=plan.now).where(*scope)
    matches = matching.subquery()
    mine = sa.true() if plan.frequency.coach_id is None else matches.c.id.in_(coach_customers(plan.frequency.coach_id))
    considered = sa.select(sa.func.count()).select_from(PlatformUser).where(acting_customers(), *scope)
    counted = sa.select(sa.func.count(), sa.func.count().filter(mine)).select_from(matches)
    matched, would_run = db.execute(counted).one()
    counts = Counts(int(db.scalar(considered) or 0), int(matched), int(matched), int(would_run))
    rows = _segment_sample(db, plan, matches, sample) if sample else []
    report = DryRunReport("segment", days, counts.scanned, counts.matched, counts.customers, counts.would_run, rows)
    report.truncated = counts.customers > len(rows)
    return report


def _segment_sample(db: Session, plan: _Plan, matches: sa.Subquery, sample: int) -> list[dict[str, Any]]:
    stmt = (
        sa.select(matches.c.id)
        .join(PlatformUser, PlatformUser.id == matches.c.id)
        .order_by(PlatformUser.full_name, PlatformUser.id)
        .limit(sample)
    )
    if plan.kind == TriggerType.INACTIVITY:
        stmt = stmt.add_columns(matches.c.last_activity)
    rows = db.execute(stmt).all()
    ids = [row[0] for row in rows]
    facts = customer_facts(db, ids, now=plan.now)
    names = _names(db, ids)
    out = []
    for row in rows:
        customer_id = row[0]
        explanation = plan.condition.explain(facts.get(customer_id, {}))
        why = explanation.lines()
        occurred = plan.now
        if plan.kind == TriggerType.INACTIVITY:
            occurred = row[1]
            why = [_idle_line(plan.draft.inactivity_days or 1, row[1]), *why]
        ctx = _context(plan, customer_id, "segment", payload={})
        out.append(_entry(plan, db, ctx, names, occurred, why))
    return out


def _idle_line(days: int, last: dt.datetime | None) -> str:
    if last is None:
        return _("No activity recorded, for more than %(days)s days since signing up ✓", days=days)
    return _("Last activity %(when)s, more than %(days)s days ago ✓", when=last.date().isoformat(), days=days)


# ---- shared ------------------------------------------------------------------------------------


def _names(db: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = db.execute(sa.select(PlatformUser.id, PlatformUser.full_name).where(PlatformUser.id.in_(ids)))
    return {row.id: row.full_name for row in rows}


def _context(
    plan: _Plan, customer_id: uuid.UUID | None, key: str, *, event_id: int | None = None, payload: Mapping[str, Any]
) -> ActionContext:
    return ActionContext(
        rule_id=plan.rule_id,
        rule_name=plan.draft.name,
        rule_version=0,
        execution_id=None,
        idempotency_key=f"dry-run:r{plan.rule_id}:{key}",
        step=0,
        customer_id=customer_id,
        event_type=plan.draft.trigger_event if plan.kind in triggers.EVENT_TRIGGERS else None,
        event_id=event_id,
        payload={k: v for k, v in payload.items() if k != "customer_id"},
        now=plan.now,
    )


def _previews(db: Session, plan: _Plan, ctx: ActionContext) -> list[dict[str, Any]]:
    """What each action would do for this subject (a refusal is shown, not raised: nothing happened)."""
    out = []
    for step, spec in enumerate(plan.draft.actions):
        code = str(spec.get("type", ""))
        action = action_catalogue.get(code)
        if action is None:
            out.append({"type": code, "label": code, "preview": _("Unknown action.")})
            continue
        step_ctx = replace(ctx, step=step)
        try:
            preview = action.preview(db, step_ctx, spec.get("params") or {})
        except ActionError as exc:
            preview = _("Would not run: %(reason)s", reason=str(exc))
        out.append({"type": code, "label": str(action.label), "preview": str(preview)})
    return out


def _entry(
    plan: _Plan, db: Session, ctx: ActionContext, names: Mapping[uuid.UUID, str], occurred: Any, why: list[str]
) -> dict[str, Any]:
    customer_id = ctx.customer_id
    return {
        "customer_id": str(customer_id) if customer_id is not None else None,
        "customer": names.get(customer_id) if customer_id is not None else None,
        "occurred_at": occurred.isoformat() if occurred is not None else None,
        "event_id": ctx.event_id,
        "why": [str(line) for line in why],
        "actions": _previews(db, plan, ctx),
    }
