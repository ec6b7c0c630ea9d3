"""The engine: run recorded executions, action by action, exactly once each, with retries.

``run_due`` claims due executions (PENDING whose ``next_attempt_at`` has come, or RUNNING whose
lease ran out because their worker died) and runs each one's actions in order, from the
version of the rule that matched. Every action commits in its own transaction together with
``steps_done``: a worker killed at any moment leaves either both the action's writes and the
step counted, or neither, so the rerun continues after the last finished action and repeats
none. (A webhook acts outside the database: killed between the call and the commit, it is sent
again with the same ``X-Coachdesk-Delivery`` id for the receiver to drop.)

Failures: ``TransientActionError`` (and any unexpected error) retries with exponential backoff
up to ``AUTOMATION_MAX_RETRIES``; ``PermanentActionError`` fails at once. Each failed execution
adds one to its rule's ``failure_streak`` and each success resets it; at
``AUTOMATION_PAUSE_AFTER_FAILURES`` the rule pauses itself with the reason. Messages to a
customer wait for the end of the rule's quiet hours in the customer's zone. The engine's own
bookkeeping on ``automation_executions`` is written with plain statements (it is the run log,
like ``job_runs``); the actions' writes go through the ORM and are audited with the rule,
version and execution as their cause.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.automation import AutomationExecution, AutomationRule, ExecutionStatus, RuleStatus
from app.models.base import utcnow
from app.models.customers import CustomerProfile
from app.models.events import DomainEvent
from app.services.audit.context import AuditContext, acting_as, current_context
from app.services.automation import actions as action_catalogue
from app.services.automation.actions.base import ActionContext, PermanentActionError, TransientActionError
from app.services.automation.rules import version_definition

log = logging.getLogger(__name__)

DEFAULTS = {
    "AUTOMATION_MAX_RETRIES": 5,
    "AUTOMATION_RETRY_BASE_SECONDS": 30,
    "AUTOMATION_RETRY_MAX_SECONDS": 3600,
    "AUTOMATION_LEASE_SECONDS": 300,
    "AUTOMATION_PAUSE_AFTER_FAILURES": 5,
    "AUTOMATION_RUN_BATCH": 200,
}
RESULT_MAX = 4000
_table = AutomationExecution.__table__


def setting(name: str) -> int:
    value = current_app.config.get(name) if has_app_context() else None
    return int(value if value is not None else DEFAULTS[name])


def backoff(retry_count: int) -> dt.timedelta:
    """Wait before retry ``retry_count`` (1, 2, ...): base * 2^(n-1), capped."""
    seconds = setting("AUTOMATION_RETRY_BASE_SECONDS") * 2 ** max(retry_count - 1, 0)
    return dt.timedelta(seconds=min(seconds, setting("AUTOMATION_RETRY_MAX_SECONDS")))


def quiet_until(start: dt.time | None, end: dt.time | None, zone: str | None, now: dt.datetime) -> dt.datetime | None:
    """When quiet hours ``start``-``end`` (in ``zone``) end, if ``now`` falls inside them; else None."""
    if start is None or end is None or start == end:
        return None
    try:
        tz = zoneinfo.ZoneInfo(zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = dt.UTC
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=tz).astimezone(dt.UTC)


@dataclass
class RunResult:
    claimed: int = 0
    succeeded: int = 0
    failed: int = 0
    retrying: int = 0
    deferred: int = 0
    paused_rules: list[int] = field(default_factory=list)


def _update(db: Session, execution_id: int, **values: Any) -> None:
    db.execute(sa.update(_table).where(_table.c.id == execution_id).values(**values))


def claim(db: Session, limit: int, now: dt.datetime) -> list[tuple[int, dt.datetime]]:
    """Mark up to ``limit`` due executions RUNNING under a lease and commit; (id, lease) pairs, oldest first.

    The lease is also the claim's token: ``run_one`` goes on only while the row still carries it,
    so an execution whose lease ran out and was claimed again is run by its new owner alone.
    """
    due = sa.or_(
        sa.and_(_table.c.status == ExecutionStatus.PENDING.value,
                sa.or_(_table.c.next_attempt_at.is_(None), _table.c.next_attempt_at <= now)),
        sa.and_(_table.c.status == ExecutionStatus.RUNNING.value, _table.c.lease_until < now),
    )  # fmt: skip
    stmt = sa.select(_table.c.id).where(due).order_by(_table.c.next_attempt_at, _table.c.id).limit(limit)
    if db.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(db.scalars(stmt))
    lease = now + dt.timedelta(seconds=setting("AUTOMATION_LEASE_SECONDS"))
    if ids:
        db.execute(
            sa.update(_table).where(_table.c.id.in_(ids))
            .values(status=ExecutionStatus.RUNNING.value, lease_until=lease)
        )  # fmt: skip
    db.commit()
    return [(execution_id, lease) for execution_id in ids]


def _renew(db: Session, execution_id: int, token: dt.datetime | None) -> bool:
    """Extend the lease if the claim is still ours (its token unchanged); commit. False: another worker has it."""
    fresh = utcnow() + dt.timedelta(seconds=setting("AUTOMATION_LEASE_SECONDS"))
    criteria = [_table.c.id == execution_id, _table.c.status == ExecutionStatus.RUNNING.value]
    if token is not None:
        criteria.append(_table.c.lease_until == token)
    done = db.execute(sa.update(_table).where(*criteria).values(lease_until=fresh)).rowcount
    db.commit()
    return bool(done)


def _append(previous: str | None, line: str) -> str:
    text = f"{previous}\n{line}" if previous else line
    return text[-RESULT_MAX:]


def _fail_rule(db: Session, rule_id: int, reason: str, result: RunResult) -> None:
    """Count one more failed execution for the rule; pause it at the limit, saying why."""
    rule = db.get(AutomationRule, rule_id)
    if rule is None:
        return
    rule.failure_streak = (rule.failure_streak or 0) + 1
    limit = setting("AUTOMATION_PAUSE_AFTER_FAILURES")
    if rule.failure_streak >= limit and rule.status == RuleStatus.ACTIVE:
        rule.status = RuleStatus.PAUSED
        rule.paused_reason = _(
            "Paused by the engine after %(n)s failed executions in a row. Last error: %(reason)s",
            n=rule.failure_streak,
            reason=reason,
        )[:RESULT_MAX]
        result.paused_rules.append(rule_id)


def _succeed_rule(db: Session, rule_id: int) -> None:
    rule = db.get(AutomationRule, rule_id)
    if rule is not None and rule.failure_streak:
        rule.failure_streak = 0


def _context(execution: Any, rule_name: str, event: DomainEvent | None, step: int, now: dt.datetime) -> ActionContext:
    return ActionContext(
        rule_id=execution.rule_id,
        rule_name=rule_name,
        rule_version=execution.rule_version,
        execution_id=execution.id,
        idempotency_key=execution.idempotency_key,
        step=step,
        customer_id=execution.customer_id,
        event_type=event.event_type if event is not None else None,
        event_id=event.id if event is not None else None,
        payload=dict(event.payload or {}) if event is not None else {},
        now=now,
    )


def _test_pause() -> None:
    """Test-only (``AUTOMATION_TEST_STEP_DELAY``): a pause between an action and its commit, so a
    worker can be killed while an action's writes are not yet committed."""
    delay = float(current_app.config.get("AUTOMATION_TEST_STEP_DELAY", 0) or 0) if has_app_context() else 0
    if delay:
        time.sleep(delay)


def _zone_of(db: Session, customer_id: Any) -> str | None:
    if customer_id is None:
        return None
    return db.scalar(sa.select(CustomerProfile.timezone).where(CustomerProfile.user_id == customer_id))


def run_one(
    db: Session,
    execution_id: int,
    result: RunResult,
    *,
    token: dt.datetime | None = None,
    clock: Callable[[Any], dt.datetime] | None = None,
) -> None:
    """Run the claimed execution's remaining actions; leaves it SUCCEEDED, FAILED or PENDING (retry, quiet).

    Each action commits with ``steps_done`` raised from exactly the step it did (a conditional
    update): had another worker done that step meanwhile, the update finds no row and this
    worker's writes for the step are rolled back, so no action happens twice.
    """
    if not _renew(db, execution_id, token):
        return
    execution = db.execute(sa.select(_table).where(_table.c.id == execution_id)).one()
    definition: Mapping[str, Any] | None = version_definition(db, execution.rule_id, execution.rule_version)
    rule = db.get(AutomationRule, execution.rule_id)
    if definition is None or rule is None:
        _finish_failed(db, execution, _("The rule version this execution matched no longer exists."), result)
        return
    event = db.get(DomainEvent, execution.event_id) if execution.event_id is not None else None
    steps = list(definition.get("actions") or [])
    details = execution.result_details
    for step in range(execution.steps_done, len(steps)):
        spec = steps[step]
        action = action_catalogue.get(spec.get("type", ""))
        if action is None:
            _finish_failed(db, execution, _("Unknown action “%(type)s”.", type=str(spec.get("type"))[:40]), result)
            return
        moment = clock(execution) if clock is not None else utcnow()
        if action.sends_message:
            wait = quiet_until(rule.quiet_start, rule.quiet_end, _zone_of(db, execution.customer_id), moment)
            if wait is not None:
                _update(db, execution.id, status=ExecutionStatus.PENDING.value, next_attempt_at=wait, lease_until=None,
                        result_details=_append(details, _("Waiting for the end of quiet hours.")))  # fmt: skip
                db.commit()
                result.deferred += 1
                return
        ctx = _context(execution, rule.name, event, step, moment)
        outer = current_context()  # a job's requester, if any, stays the actor; the rule is the cause
        cause = {**outer.extra, "cause": "automation", "rule_id": execution.rule_id,
                 "rule_version": execution.rule_version, "execution_id": execution.id, "step": step}  # fmt: skip
        context = AuditContext(outer.actor_id, outer.ip_address, outer.user_agent, cause)
        try:
            with acting_as(context):
                summary = action.perform(db, ctx, spec.get("params") or {})
                _test_pause()
                details = _append(details, f"{step + 1}. {summary}")
                counted = db.execute(
                    sa.update(_table)
                    .where(_table.c.id == execution.id, _table.c.steps_done == step)
                    .values(steps_done=step + 1, result_details=details)
                ).rowcount
                if not counted:
                    raise _Overtaken
                db.commit()
        except _Overtaken:
            db.rollback()
            return
        except PermanentActionError as exc:
            db.rollback()
            _finish_failed(db, execution, _append(details, f"{step + 1}. {exc}"), result, reason=str(exc), at=moment)
            return
        except TransientActionError as exc:
            db.rollback()
            _retry(db, execution, _append(details, f"{step + 1}. {exc}"), result, reason=str(exc))
            return
        except Exception as exc:  # an unforeseen error: retried like a transient one, then failed
            db.rollback()
            log.exception("automation execution %s step %s failed", execution.id, step)
            reason = _("Unexpected error (%(kind)s).", kind=exc.__class__.__name__)
            _retry(db, execution, _append(details, f"{step + 1}. {reason}"), result, reason=reason)
            return
    finished = clock(execution) if clock is not None else utcnow()
    _update(db, execution.id, status=ExecutionStatus.SUCCEEDED.value, finished_at=finished, lease_until=None,
            next_attempt_at=None, result_details=details or _("Nothing to do."))  # fmt: skip
    _succeed_rule(db, execution.rule_id)
    db.commit()
    result.succeeded += 1


def _retry(db: Session, execution: Any, details: str, result: RunResult, *, reason: str) -> None:
    attempts = execution.retry_count + 1
    if attempts > setting("AUTOMATION_MAX_RETRIES"):
        _finish_failed(db, execution, _append(details, _("Gave up after %(n)s retries.", n=attempts - 1)), result,
                       reason=reason)  # fmt: skip
        return
    _update(db, execution.id, status=ExecutionStatus.PENDING.value, retry_count=attempts, lease_until=None,
            next_attempt_at=utcnow() + backoff(attempts), result_details=details)  # fmt: skip
    db.commit()
    result.retrying += 1


def _finish_failed(
    db: Session,
    execution: Any,
    details: str,
    result: RunResult,
    *,
    reason: str | None = None,
    at: dt.datetime | None = None,
) -> None:
    _update(db, execution.id, status=ExecutionStatus.FAILED.value, finished_at=at or utcnow(), lease_until=None,
            next_attempt_at=None, result_details=details[-RESULT_MAX:])  # fmt: skip
    _fail_rule(db, execution.rule_id, reason or details, result)
    db.commit()
    result.failed += 1


def run_due(
    db: Session,
    *,
    limit: int | None = None,
    max_batches: int | None = None,
    on_batch: Callable[[RunResult], None] | None = None,
    clock: Callable[[Any], dt.datetime] | None = None,
) -> RunResult:
    """Claim and run due executions batch after batch until none is due (or ``max_batches``). Commits.

    ``clock(execution)`` is the moment actions act at (default: now); the demo data replays its
    history with each execution's own time.
    """
    result = RunResult()
    size = limit or setting("AUTOMATION_RUN_BATCH")
    batches = 0
    while max_batches is None or batches < max_batches:
        ids = claim(db, size, utcnow())
        if not ids:
            break
        batches += 1
        result.claimed += len(ids)
        for execution_id, token in ids:
            run_one(db, execution_id, result, token=token, clock=clock)
        if on_batch is not None:
            on_batch(result)
    return result


def due_count(db: Session) -> int:
    now = utcnow()
    return int(
        db.scalar(
            sa.select(sa.func.count())
            .select_from(_table)
            .where(
                _table.c.status == ExecutionStatus.PENDING.value,
                sa.or_(_table.c.next_attempt_at.is_(None), _table.c.next_attempt_at <= now),
            )
        )
        or 0
    )


class _Overtaken(Exception):
    """Another worker counted this step first: this one's writes for it are dropped."""


class NotRetryable(ValueError):
    """Only a failed execution can be retried."""


def retry(db: Session, execution_id: int) -> None:
    """Put a FAILED execution back in the queue from its next action (a person asked; the caller audits)."""
    status = db.scalar(sa.select(_table.c.status).where(_table.c.id == execution_id))
    if status != ExecutionStatus.FAILED.value:
        raise NotRetryable(_("Only a failed execution can be run again."))
    _update(db, execution_id, status=ExecutionStatus.PENDING.value, next_attempt_at=utcnow(), finished_at=None,
            lease_until=None)  # fmt: skip
