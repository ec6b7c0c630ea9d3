"""Job kinds of the domain events: the dispatcher (every minute) and the detectors (missed plan
days, overdue invoices, SLA breaches), started by the cron and by ``flask events``.

Both resume from their checkpoint: the dispatcher needs none (unstamped rows are the work left),
a detector keeps the last key it walked. Both are idempotent, so an overlapping run is harmless.
"""

from __future__ import annotations

from typing import Any

import flask

from app.extensions import db
from app.services.events import detectors
from app.services.events.dispatch import DEFAULT_BATCH, DispatchResult, dispatch_pending, pending_count
from app.services.events.handlers import handlers
from app.services.jobs.context import JobContext
from app.services.jobs.kinds import job_kind

DISPATCH_KIND = "events.dispatch"
DETECT_KIND = "events.detect"


@job_kind(DISPATCH_KIND, queue="default", timeout=600)
def dispatch_job(ctx: JobContext) -> dict[str, Any]:
    """Dispatch what waits now (at most ``max_batches`` batches: the next minute's run takes the rest)."""
    batch = int(ctx.params.get("batch_size") or flask.current_app.config.get("EVENTS_DISPATCH_BATCH", DEFAULT_BATCH))
    max_batches = ctx.params.get("max_batches")
    done = int(ctx.state.get("dispatched", 0))
    total = done + pending_count(db.session)
    ctx.commit(done=done, total=total)

    def commit(result: DispatchResult) -> None:
        ctx.commit(done=done + result.dispatched, total=max(total, done + result.dispatched),
                   checkpoint={"dispatched": done + result.dispatched, "last_id": result.last_id})  # fmt: skip

    result = dispatch_pending(
        db.session, handlers(), batch_size=batch, max_batches=int(max_batches) if max_batches else None,
        commit_batch=commit,
    )  # fmt: skip
    return {"dispatched": done + result.dispatched, "batches": result.batches, "last_id": result.last_id}


@job_kind(DETECT_KIND, queue="default", timeout=3600)
def detect_job(ctx: JobContext) -> dict[str, Any]:
    """Run one detector (``params["detector"]``) from its checkpoint; a retry resumes after the last batch."""
    name = str(ctx.params.get("detector", ""))
    config = flask.current_app.config
    emitted = int(ctx.state.get("emitted", 0))

    def commit(result: detectors.DetectResult) -> None:
        total = emitted + result.emitted
        ctx.commit(done=total, checkpoint={"after": result.after, "emitted": total})

    result = detectors.detect(
        db.session,
        name,
        lookback_days=int(config.get("EVENTS_DETECT_LOOKBACK_DAYS", detectors.DEFAULT_LOOKBACK_DAYS)),
        batch_size=int(config.get("EVENTS_DETECT_BATCH", detectors.DEFAULT_BATCH)),
        after=int(ctx.state.get("after", 0)),
        commit_batch=commit,
    )
    return {"detector": name, "emitted": emitted + result.emitted, "batches": result.batches}
