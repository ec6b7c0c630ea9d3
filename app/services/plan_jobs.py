"""Assigning a program to many customers in the background, on RQ.

TEMPORARY until the shared job infrastructure (``app/services/jobs.py``:
``start_job(kind, params, queue=..., requested_by=...)`` with a ``JobContext``
that stores progress and checkpoints in SQL) is merged: this enqueues straight
onto an ``rq.Queue`` on the app's Redis and keeps progress in ``job.meta``.
On merge: replace ``enqueue_assignment`` with ``start_job("plan_assignment", ...)``
and ``job_status`` with the jobs console's status lookup; the job body
(``app.jobs.plan_assignment.run``) keeps calling ``plans.assign_program``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import current_app
from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job

JOB_FUNCTION = "app.jobs.plan_assignment.run"
QUEUE = "default"


class JobsUnavailable(RuntimeError):
    """No Redis is configured: the caller should run the work inline instead."""


def redis_connection() -> Redis:
    url = current_app.config.get("REDIS_URL")
    if not url:
        raise JobsUnavailable("REDIS_URL is not configured")
    return Redis.from_url(url)


def jobs_available() -> bool:
    return bool(current_app.config.get("REDIS_URL"))


def enqueue_assignment(
    *,
    console_user_id: int,
    program_id: int,
    customer_ids: list[uuid.UUID],
    start_date: dt.date | None,
    start_week: int,
) -> str:
    """Queue a bulk assignment; returns the job id the page polls."""
    params = {
        "console_user_id": console_user_id,
        "program_id": program_id,
        "customer_ids": [str(c) for c in customer_ids],
        "start_date": start_date.isoformat() if start_date else None,
        "start_week": start_week,
    }
    queue = Queue(QUEUE, connection=redis_connection())
    job = queue.enqueue(
        JOB_FUNCTION,
        params,
        job_timeout=1800,
        result_ttl=86400,
        failure_ttl=86400,
        meta={"kind": "plan_assignment", "requested_by": console_user_id, "done": 0, "total": len(customer_ids)},
    )
    return job.id


def job_status(job_id: str, *, console_user_id: int, is_admin: bool) -> dict[str, Any] | None:
    """Status and progress of a job the user started (admins see all); None if unknown or not theirs."""
    try:
        job = Job.fetch(job_id, connection=redis_connection())
    except (NoSuchJobError, ValueError):
        return None
    meta = job.get_meta(refresh=True)
    if meta.get("kind") != "plan_assignment" or (not is_admin and meta.get("requested_by") != console_user_id):
        return None
    status = job.get_status(refresh=True)
    result = job.return_value() if status and status.value == "finished" else None
    return {
        "id": job.id,
        "status": status.value if status else "unknown",
        "done": meta.get("done", 0),
        "total": meta.get("total", 0),
        "result": result,
        "error": meta.get("error"),
    }
