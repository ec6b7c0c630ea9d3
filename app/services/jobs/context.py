"""Executing a run: claim it, hand the kind's function a ``JobContext``, record how it ended."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import update

from app.extensions import db
from app.i18n import _l, message_of
from app.models.base import utcnow
from app.models.jobs import JobRun, JobStatus
from app.services.audit.context import AuditContext, acting_as
from app.services.jobs.errors import JobCancelled, JobError, JobSuperseded
from app.services.jobs.heartbeat import Heartbeat
from app.services.jobs.kinds import get_kind

log = logging.getLogger(__name__)

MAX_ERROR = 4000
Progress = Callable[[int, int | None], None]


class JobContext:
    """What a job function sees: its params, its last checkpoint, and ``commit``."""

    def __init__(self, run: JobRun, attempt: int, on_progress: Progress | None = None):
        self.run_id = run.id
        self.kind = run.kind
        self.params: dict[str, Any] = dict(run.params or {})
        self.state: dict[str, Any] = dict(run.checkpoint or {})
        self.requested_by = run.requested_by
        self.attempt = attempt
        self.done = run.progress_done
        self.total = run.progress_total
        self._on_progress = on_progress
        self._delay = float(current_app.config.get("JOBS_TEST_BATCH_DELAY", 0) or 0)

    def commit(self, *, done: int | None = None, total: int | None = None, checkpoint: dict | None = None) -> None:
        """Commit the session's pending batch together with this run's progress and checkpoint."""
        values: dict[str, Any] = {"heartbeat_at": utcnow()}
        if done is not None:
            values["progress_done"] = self.done = done
        if total is not None:
            values["progress_total"] = self.total = total
        if checkpoint is not None:
            self.state = json.loads(json.dumps(checkpoint))
            values["checkpoint"] = self.state
        # One round trip: the update says whether this attempt still owns the run and whether a cancel was asked.
        owned = db.session.execute(
            update(JobRun)
            .where(JobRun.id == self.run_id, JobRun.attempts == self.attempt, JobRun.status == JobStatus.RUNNING)
            .values(**values)
            .returning(JobRun.cancel_requested)
            .execution_options(synchronize_session=False)
        ).first()
        if owned is None:
            db.session.rollback()
            raise JobSuperseded(f"run {self.run_id}: attempt {self.attempt} no longer owns the run")
        cancel = owned.cancel_requested
        db.session.commit()
        if self._on_progress is not None:
            self._on_progress(self.done, self.total)
        if cancel:
            raise JobCancelled()
        self.pace()

    def progressed(self, done: int) -> None:
        """Progress that other connections already committed (retention lanes): tell the watcher (CLI, bench)."""
        self.done = done
        if self._on_progress is not None:
            self._on_progress(self.done, self.total)

    def pace(self) -> None:
        """Test-only (``JOBS_TEST_BATCH_DELAY``): a pause after each batch, so a job can be killed mid-way."""
        if self._delay:
            time.sleep(self._delay)

    def progress(self, done: int, total: int | None = None) -> None:
        self.commit(done=done, total=total)


def execute_run(run_id: int, on_progress: Progress | None = None) -> JobRun | None:
    """Claim a queued run (compare-and-set) and execute it; returns None if someone else has it.

    While the job function runs, a ``Heartbeat`` keeps ``heartbeat_at`` fresh between its batches."""
    now = utcnow()
    claimed = db.session.execute(
        update(JobRun)
        .where(JobRun.id == run_id, JobRun.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, attempts=JobRun.attempts + 1, heartbeat_at=now, error=None, finished_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if not claimed:
        log.info("run %s is not queued; nothing to do", run_id)
        return None
    run = db.session.get(JobRun, run_id, populate_existing=True)
    assert run is not None
    if run.started_at is None:
        run.started_at = now
        db.session.commit()
    kind = get_kind(run.kind)
    ctx = JobContext(run, run.attempts, on_progress)
    context = AuditContext(extra={"job_run": run.id})
    try:
        if kind is None:
            raise JobError(_l("unknown job kind %(kind)s", kind=repr(run.kind)))
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
        with Heartbeat(run_id, ctx.attempt), acting_as(context), force_locale(language):
            result = kind.func(ctx)
    except JobSuperseded:
        log.warning("run %s attempt %s superseded", run_id, ctx.attempt)
        return None
    except JobCancelled:
        _finish(run_id, ctx.attempt, JobStatus.CANCELLED, None, None)
    except Exception as exc:
        db.session.rollback()
        log.exception("run %s failed", run_id)
        error, failure = describe_exception(exc)
        _finish(run_id, ctx.attempt, JobStatus.FAILED, failure, error)
    else:
        _finish(run_id, ctx.attempt, JobStatus.SUCCEEDED, result, None)
    return db.session.get(JobRun, run_id, populate_existing=True)


def run_inline(run: JobRun, on_progress: Progress | None = None) -> JobRun | None:
    """Execute a run created with ``enqueue=False`` in this process (CLI)."""
    return execute_run(run.id, on_progress)


def describe_exception(exc: BaseException) -> tuple[str, dict[str, Any] | None]:
    """What a failed run stores: ``ClassName: English text`` in ``error`` (for logs), and for a
    known failure (raised with an ``app.i18n._l`` message or ``SourceText``) ``{"failure": {msgid, params}}`` as
    its ``result``, so the console can show it in the reader's language."""
    message = message_of(exc.args[0]) if len(exc.args) == 1 else None
    if message is None:
        return f"{exc.__class__.__name__}: {exc}"[:MAX_ERROR], None
    return f"{exc.__class__.__name__}: {message.source}"[:MAX_ERROR], {"failure": message.as_json()}


def _finish(run_id: int, attempt: int, status: str, result: dict | None, error: str | None) -> None:
    db.session.execute(
        update(JobRun)
        .where(JobRun.id == run_id, JobRun.attempts == attempt)
        .values(status=status, result=result, error=error, finished_at=utcnow(), heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
