"""A run's heartbeat, ticking on its own thread and connection while the job function works.

Batches write ``heartbeat_at`` when they commit, but one long step (a big gzip, a slow
statement) can outlast ``JOBS_STALE_AFTER`` and get a live run re-dispatched. The ticker
refreshes ``heartbeat_at`` every ``JOBS_HEARTBEAT_SECONDS`` in a transaction of its own,
only while this attempt still owns the run; when a newer attempt has it, or the run ended,
it stops. A SIGKILLed worker takes the thread with it, so its run goes stale.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from flask import current_app
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from app.extensions import db
from app.models.base import utcnow
from app.models.jobs import JobRun, JobStatus

log = logging.getLogger(__name__)

HEARTBEAT_DEFAULT = 20.0
THREAD_PREFIX = "job-heartbeat-"


def heartbeat_seconds() -> float:
    return float(current_app.config.get("JOBS_HEARTBEAT_SECONDS", HEARTBEAT_DEFAULT) or HEARTBEAT_DEFAULT)


def beat(engine: Engine, run_id: int, attempt: int) -> bool:
    """Refresh the run's heartbeat on a connection of its own; False once this attempt no longer owns the run."""
    with engine.begin() as conn:
        owned = conn.execute(
            update(JobRun)
            .where(JobRun.id == run_id, JobRun.attempts == attempt, JobRun.status == JobStatus.RUNNING)
            .values(heartbeat_at=utcnow())
        ).rowcount
    return bool(owned)


class Heartbeat:
    """``with Heartbeat(run_id, attempt):`` ticks while the block runs; leaving the block stops and joins the thread."""

    def __init__(self, run_id: int, attempt: int, interval: float | None = None) -> None:
        self.run_id = run_id
        self.attempt = attempt
        self.interval = interval if interval is not None else heartbeat_seconds()
        self.engine: Engine = db.engine
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Heartbeat:
        # One shared connection (in-memory SQLite) cannot carry a second, concurrent transaction.
        if not isinstance(self.engine.pool, (StaticPool, SingletonThreadPool)):
            self._thread = threading.Thread(target=self._tick, name=f"{THREAD_PREFIX}{self.run_id}", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(self.interval, 5.0) + 30.0)

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if not beat(self.engine, self.run_id, self.attempt):
                    log.info("run %s: attempt %s no longer owns the run; heartbeat stops", self.run_id, self.attempt)
                    return
            except Exception:  # a locked SQLite file, a dropped connection: try again next tick
                log.warning("run %s: heartbeat failed", self.run_id, exc_info=True)
