"""Assigning a program to many customers in the background (job kind ``plans.assign``).

The run lives in ``job_runs`` like every other job (progress and outcome in SQL,
Redis only carries the run id). The work is resumable as it stands: the job
commits each batch of ``plans.assign_program`` together with its progress, and
customers that already have the plan are skipped, so a rerun after a crash
finishes exactly once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import current_app

from app.extensions import db
from app.models.jobs import JobRun, JobStatus
from app.services.jobs import runs as jobs

KIND = "plans.assign"
QUEUE = "default"

# The page's poller speaks in these words; keep them stable for plan_builder.js.
_PAGE_STATUS = {
    JobStatus.QUEUED: "queued",
    JobStatus.RUNNING: "started",
    JobStatus.SUCCEEDED: "finished",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELLED: "canceled",
}


def jobs_available() -> bool:
    """Whether a queue can be reached (configured Redis, or the embedded one)."""
    return bool(current_app.config.get("REDIS_URL")) or current_app.config.get("APP_ENV") == "embedded"


def enqueue_assignment(
    *,
    console_user_id: int,
    requested_by: uuid.UUID | None,
    program_id: int,
    customer_ids: list[uuid.UUID],
    start_date: dt.date | None,
    start_week: int,
) -> int:
    """Record and queue a bulk assignment; returns the run id the page polls."""
    params = {
        "console_user_id": console_user_id,
        "program_id": program_id,
        "customer_ids": [str(c) for c in customer_ids],
        "start_date": start_date.isoformat() if start_date else None,
        "start_week": start_week,
    }
    run = jobs.start_job(KIND, params, requested_by=requested_by, queue=QUEUE)
    return run.id


def job_status(job_id: str, *, console_user_id: int, is_admin: bool) -> dict[str, Any] | None:
    """Status and progress of an assignment the user started (admins see all); None if unknown or not theirs."""
    try:
        run_id = int(job_id)
    except ValueError:
        return None
    run = db.session.get(JobRun, run_id) if 0 < run_id < 2**62 else None
    if run is None or run.kind != KIND:
        return None
    if not is_admin and (run.params or {}).get("console_user_id") != console_user_id:
        return None
    return {
        "id": run.id,
        "status": _PAGE_STATUS.get(JobStatus(run.status), str(run.status)),
        "done": run.progress_done or 0,
        "total": run.progress_total
        if run.progress_total is not None
        else len((run.params or {}).get("customer_ids", [])),
        "result": run.result if run.status == JobStatus.SUCCEEDED else None,
        "error": jobs.failure_message(run),
    }
