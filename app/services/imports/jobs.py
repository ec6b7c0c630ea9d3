"""Job kind ``imports.commit``: write a previewed upload, all or nothing, with progress in SQL."""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.services.imports import service
from app.services.jobs.context import JobContext
from app.services.jobs.kinds import job_kind


@job_kind(service.KIND, queue=service.QUEUE, timeout=1800)
def commit_import(ctx: JobContext) -> dict[str, Any]:
    """Check and write the file; the rows and the run's success commit together, or not at all."""
    if ctx.state.get("written"):  # a rerun after the rows and this checkpoint committed: done already
        return dict(ctx.state["written"])
    side = None
    if db.engine.dialect.name == "postgresql":  # SQLite has one writer: progress moves at the end there
        engine, run_id = db.engine, ctx.run_id

        def side(done: int) -> None:
            service.report_progress(engine, run_id, done)

    result = service.run_commit(
        db.session,
        ctx.params,
        run_id=ctx.run_id,
        actor_id=ctx.requested_by,
        progress=lambda done, total: ctx.commit(done=done, total=total),
        side_progress=side,
    )
    ctx.commit(done=ctx.total or 0, checkpoint={"written": result})
    return result
