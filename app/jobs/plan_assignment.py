"""Job entry point: assign one program to many customers, reporting progress on the job.

TEMPORARY wiring (see ``app/services/plan_jobs.py``): progress lives in
``job.meta`` until the shared ``JobContext`` (progress and checkpoint in SQL)
lands; then ``progress`` becomes ``ctx.progress`` and nothing else changes.
The work itself is resumable as is: ``plans.assign_program`` commits per batch
and skips customers that already have the plan, so a rerun finishes exactly once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, has_app_context
from rq import get_current_job


@contextmanager
def _app_context() -> Iterator[Flask]:
    if has_app_context():  # a worker run in-process by a test or a CLI command
        yield current_app._get_current_object()  # type: ignore[attr-defined]
        return
    from app import create_app
    from app.extensions import db

    app = create_app()
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()


def run(params: dict[str, Any]) -> dict[str, Any]:
    """Run a bulk assignment for the console user who asked for it (their scope, re-checked now)."""
    from app.extensions import db
    from app.models.identity import ConsoleUser
    from app.services import plans
    from app.services.plan_scope import actor_for
    from app.services.programs import ProgramError

    job = get_current_job()

    def progress(done: int, total: int) -> None:
        if job is not None:
            job.meta.update(done=done, total=total)
            job.save_meta()

    with _app_context():
        console_user = db.session.get(ConsoleUser, params["console_user_id"])
        actor = actor_for(console_user)
        start = params.get("start_date")
        try:
            result = plans.assign_program(
                actor,
                int(params["program_id"]),
                [uuid.UUID(c) for c in params["customer_ids"]],
                start_date=dt.date.fromisoformat(start) if start else None,
                start_week=int(params.get("start_week", 1)),
                progress=progress,
            )
        except (plans.PlanError, ProgramError) as exc:
            if job is not None:
                job.meta["error"] = exc.message
                job.save_meta()
            raise
    return {"created": result.created, "existing": result.existing, "items": result.items}
