"""Job kind ``plans.assign``: assign one program to many customers, with progress in SQL.

The name is ``assignment.KIND``: the module that starts these runs and reports on them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from app.extensions import db
from app.models.identity import ConsoleUser
from app.policy.scope import Actor
from app.services.jobs.context import JobContext
from app.services.jobs.kinds import job_kind
from app.services.training import assignment, plans


@job_kind(assignment.KIND, queue=assignment.QUEUE, timeout=1800)
def plan_assignment(ctx: JobContext) -> dict[str, Any]:
    """Run the assignment for the console user who asked (their row scope is re-checked now)."""
    params = ctx.params
    console_user = db.session.get(ConsoleUser, params["console_user_id"])
    start = params.get("start_date")
    result = plans.assign_program(
        Actor.of(console_user),
        int(params["program_id"]),
        [uuid.UUID(c) for c in params["customer_ids"]],
        start_date=dt.date.fromisoformat(start) if start else None,
        start_week=int(params.get("start_week", 1)),
        commit_batch=ctx.progress,
    )
    return {"created": result.created, "existing": result.existing, "items": result.items}
