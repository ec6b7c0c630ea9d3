"""Job kinds of the automation engine, and its place among the domain-event handlers.

``automation.run`` is what the cron starts every minute: it dispatches the waiting domain events
(the engine's handler turns matches into executions, in the dispatcher's transaction) and then
runs every execution that is due, new ones and retries alike. One run a minute does both, so a
booking made now acts within the minute and the job log gains one row a minute, not two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flask
from flask import Flask

from app.extensions import db
from app.services.automation import engine
from app.services.automation.matching import match_events
from app.services.automation.time_jobs import time_rules_job  # noqa: F401  (a kind: discovery finds it here)
from app.services.events.dispatch import DEFAULT_BATCH, DispatchResult, dispatch_pending, pending_count
from app.services.events.handlers import handlers, register_handler
from app.services.jobs.context import JobContext
from app.services.jobs.kinds import job_kind

RUN_KIND = "automation.run"
HANDLER = "automation"


def _match(events: Sequence[Any]) -> None:
    match_events(db.session, events)


def install(app: Flask) -> None:
    """Register the engine as a domain-event handler on ``app`` (called by create_app)."""
    register_handler(app, HANDLER, _match)


@job_kind(RUN_KIND, queue="default", timeout=900)
def run_job(ctx: JobContext) -> dict[str, Any]:
    """Dispatch waiting events to the rules, then run the due executions (progress: both, in items)."""
    waiting = pending_count(db.session)
    due = engine.due_count(db.session)
    total = waiting + due
    ctx.commit(done=0, total=total)
    batch = int(flask.current_app.config.get("EVENTS_DISPATCH_BATCH", DEFAULT_BATCH))

    def dispatched(result: DispatchResult) -> None:
        ctx.commit(done=result.dispatched, total=max(total, result.dispatched))

    events = dispatch_pending(db.session, handlers(), batch_size=batch, commit_batch=dispatched)
    db.session.commit()
    total = max(total, events.dispatched + engine.due_count(db.session))

    def ran(result: engine.RunResult) -> None:
        ctx.commit(done=events.dispatched + result.claimed, total=max(total, events.dispatched + result.claimed))

    result = engine.run_due(db.session, on_batch=ran)
    return {
        "events": events.dispatched,
        "executions": result.claimed,
        "succeeded": result.succeeded,
        "failed": result.failed,
        "retrying": result.retrying,
        "deferred": result.deferred,
        "paused_rules": result.paused_rules,
    }
