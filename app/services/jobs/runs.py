"""Job runs in SQL: start and dispatch, retry, cancel, re-dispatch stale runs, and what the console shows."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from app.extensions import db
from app.i18n import LazyMessage
from app.models.base import utcnow
from app.models.jobs import JobRun, JobStatus
from app.models.labels import enum_label
from app.services.audit import chain as audit
from app.services.jobs.errors import JobError, JobsUnavailable
from app.services.jobs.kinds import DEFAULT_TIMEOUT, get_kind
from app.services.jobs.queues import RUNNER, cancel_rq_job, get_queue, rq_job_pending

log = logging.getLogger(__name__)

STALE_AFTER_DEFAULT = 60  # seconds without a heartbeat before a running run counts as dead (JOBS_STALE_AFTER)
RETRY_ACTION = "job.retry"  # audit actions: the console and `flask jobs` write the same row
CANCEL_ACTION = "job.cancel"


def start_job(
    kind: str,
    params: dict[str, Any],
    *,
    requested_by: uuid.UUID | None = None,
    queue: str | None = None,
    dedupe_key: str | None = None,
    enqueue: bool = True,
) -> JobRun:
    """Record a run in SQL (committed) and put it on its queue. ``enqueue=False``: for ``run_inline``."""
    known = get_kind(kind)
    if known is None:
        raise JobError(f"unknown job kind {kind!r}")
    try:
        params = json.loads(json.dumps(params))
    except (TypeError, ValueError) as exc:
        raise JobError(f"job parameters must be JSON: {exc}") from None
    if dedupe_key:
        existing = db.session.scalar(select(JobRun).where(JobRun.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    run = JobRun(
        kind=kind,
        queue=queue or known.queue,
        params=params,
        status=JobStatus.QUEUED,
        requested_by=requested_by,
        dedupe_key=dedupe_key,
    )
    db.session.add(run)
    db.session.commit()
    if enqueue:
        dispatch(run)
    return run


def dispatch(run: JobRun) -> None:
    """Enqueue ``run`` under a fresh unique RQ job id (the run stays queued in SQL if Redis is down)."""
    from rq.exceptions import DuplicateJobError

    run.dispatches += 1
    run.rq_job_id = f"jobrun-{run.id}-{run.dispatches}"
    db.session.commit()
    kind = get_kind(run.kind)
    try:
        get_queue(run.queue).enqueue(
            RUNNER,
            run.id,
            job_id=run.rq_job_id,
            unique=True,
            job_timeout=kind.timeout if kind is not None else DEFAULT_TIMEOUT,
            result_ttl=3600,
            failure_ttl=30 * 86400,
            description=f"{run.kind} #{run.id}",
        )
    except DuplicateJobError:
        log.info("run %s already enqueued as %s", run.id, run.rq_job_id)
    except JobsUnavailable:
        raise
    except Exception as exc:  # redis.ConnectionError and friends
        raise JobsUnavailable(_("the job queue is unreachable: %(error)s", error=exc.__class__.__name__)) from None


def retry_run(run_id: int) -> JobRun:
    """Re-dispatch a failed run, or a running one whose worker stopped sending heartbeats.

    Audited (``job.retry``) in the session's transaction: the caller commits.
    """
    run = _get(run_id)
    stale = _stale_before()
    if run.status == JobStatus.FAILED or (
        run.status == JobStatus.RUNNING and (run.heartbeat_at is None or run.heartbeat_at < stale)
    ):
        run.status = JobStatus.QUEUED
        run.error = None
        run.cancel_requested = False
        db.session.commit()
        dispatch(run)
        audit.record(RETRY_ACTION, "job_runs", run.id, {})
        return run
    raise JobError(
        _("Job #%(id)s is “%(status)s” and cannot be retried.", id=run.id, status=enum_label(JobStatus(run.status)))
    )


def cancel_run(run_id: int) -> JobRun:
    """Cancel a queued run now; ask a running one to stop after its current batch.

    Audited (``job.cancel``) in the session's transaction: the caller commits.
    """
    run = _get(run_id)
    if run.status == JobStatus.QUEUED:
        run.status = JobStatus.CANCELLED
        run.finished_at = utcnow()
        db.session.commit()
        cancel_rq_job(run.rq_job_id)
    elif run.status == JobStatus.RUNNING:
        run.cancel_requested = True
        db.session.commit()
    else:
        raise JobError(
            _(
                "Job #%(id)s is “%(status)s” and cannot be cancelled.",
                id=run.id,
                status=enum_label(JobStatus(run.status)),
            )
        )
    audit.record(CANCEL_ACTION, "job_runs", run.id, {})
    return run


def redispatch_stale() -> list[int]:
    """Re-dispatch runs whose worker died (stale heartbeat) or whose queue entry was lost."""
    stale = _stale_before()
    runs = db.session.scalars(
        select(JobRun).where(
            or_(
                and_(
                    JobRun.status == JobStatus.RUNNING, or_(JobRun.heartbeat_at < stale, JobRun.heartbeat_at.is_(None))
                ),
                and_(JobRun.status == JobStatus.QUEUED, JobRun.created_at < stale),
            )
        )
    ).all()
    redone = []
    for run in runs:
        if run.status == JobStatus.QUEUED and rq_job_pending(run.rq_job_id):
            continue
        run.status = JobStatus.QUEUED
        db.session.commit()
        dispatch(run)
        redone.append(run.id)
    return redone


def _get(run_id: int) -> JobRun:
    run = db.session.get(JobRun, run_id)
    if run is None:
        raise JobError(_("no job #%(id)s", id=run_id))
    return run


def _stale_before() -> dt.datetime:
    return utcnow() - dt.timedelta(seconds=current_app.config.get("JOBS_STALE_AFTER", STALE_AFTER_DEFAULT))


# --------------------------------------------------------------------------- console


def recent_runs(limit: int = 100, status: str | None = None, kinds: tuple[str, ...] = ()) -> list[JobRun]:
    """The newest runs first, optionally of some kinds or in one status (what the console pages list)."""
    stmt = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(JobRun.status == status)
    if kinds:
        stmt = stmt.where(JobRun.kind.in_(kinds))
    return list(db.session.scalars(stmt))


def failure_message(run: JobRun) -> str | None:
    """A failed run's error as a person should read it: a known failure in the current language,
    anything else (an unexpected exception) exactly as stored."""
    if not run.error:
        return None
    if run.status == JobStatus.FAILED and isinstance(run.result, dict):
        message = LazyMessage.from_json(run.result.get("failure"))
        if message is not None:
            try:
                if "%(" in message.msgid:
                    message.msgid % message.params  # noqa: B018 (the stored parameters must fill the msgid)
                return str(message)
            except (KeyError, ValueError, TypeError):  # a record or a catalogue entry that does not fit
                log.warning("run %s: failure message %r does not render", run.id, message.msgid)
    return run.error


def run_status(run: JobRun) -> dict[str, Any]:
    """The small JSON a page polls for progress."""
    return {
        "id": run.id,
        "kind": run.kind,
        "status": run.status,
        "attempts": run.attempts,
        "done": run.progress_done,
        "total": run.progress_total,
        "error": failure_message(run),
        "result": run.result if run.status == JobStatus.SUCCEEDED else None,
        "finished": run.finished,
    }
