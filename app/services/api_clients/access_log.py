"""The API access log, written in batches off the request path.

Why an in-process buffer and not a Redis list drained by a job: a request only appends a tuple to a
list under a lock (microseconds, no network), and one background thread per process writes what
gathered with a single ``executemany`` INSERT every ``interval`` seconds or as soon as
``batch_size`` rows wait. No second moving part has to run (a drain job, its schedule) for logs to
appear, and a Redis outage cannot cost log rows. The price is that a process killed hard (SIGKILL,
OOM) loses at most its last interval of rows; a clean shutdown loses none: ``close`` (registered
with ``atexit``, which gunicorn workers run when they exit after SIGTERM, and callable from a
``worker_exit`` hook) stops the thread and writes the rest.

Rows go in through SQLAlchemy Core, not the ORM: access logs are telemetry, not changes of record,
so they take no audit rows (the audit trail's ORM hooks never see them). A batch refused because a
client was deleted meanwhile is written again without that client's rows; a batch that fails on a
lost connection is kept for the next round, up to ``max_buffer`` rows (then the oldest are dropped
and counted in the log).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from dataclasses import asdict, dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from app.models.automation import APIAccessLog, APIClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessRecord:
    client_id: int
    endpoint: str
    method: str
    status_code: int
    latency_ms: int
    occurred_at: dt.datetime
    request_id: str


class AccessLogWriter:
    """A per-process buffer of access records and the thread that writes it."""

    def __init__(
        self, engine: Engine, *, batch_size: int = 500, interval: float = 1.0, max_buffer: int = 50_000
    ) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.interval = interval
        self.max_buffer = max_buffer
        self._rows: list[AccessRecord] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one INSERT at a time, in order
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self.dropped = 0

    def record(self, row: AccessRecord) -> None:
        with self._lock:
            self._rows.append(row)
            waiting = len(self._rows)
        self._ensure_thread()
        if waiting >= self.batch_size:
            self._wake.set()

    def pending(self) -> int:
        with self._lock:
            return len(self._rows)

    def _ensure_thread(self) -> None:
        """Start the writer in this process (a forked gunicorn worker starts its own: threads do not fork)."""
        pid = os.getpid()
        if self._pid == pid and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == pid and self._thread is not None and self._thread.is_alive():
                return
            self._pid = pid
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="api-access-log", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # never let the writer die: the next round tries again
                log.exception("api access log: flush failed")

    def flush(self) -> int:
        """Write every waiting row in batches of ``batch_size``; returns how many were written."""
        written = 0
        with self._write_lock:
            while True:
                with self._lock:
                    batch, self._rows = self._rows[: self.batch_size], self._rows[self.batch_size :]
                if not batch:
                    return written
                try:
                    written += self._insert(batch)
                except OperationalError:
                    self._keep(batch)
                    log.warning("api access log: database unavailable, %s rows kept for the next round", len(batch))
                    return written

    def _insert(self, batch: list[AccessRecord]) -> int:
        rows = [asdict(row) for row in batch]
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(APIAccessLog.__table__), rows)
            return len(rows)
        except IntegrityError:
            # A client deleted since its requests were served: keep the others' rows.
            with self.engine.begin() as conn:
                ids = {row["client_id"] for row in rows}
                alive = set(conn.scalars(sa.select(APIClient.id).where(APIClient.id.in_(ids))))
                rows = [row for row in rows if row["client_id"] in alive]
                if rows:
                    conn.execute(sa.insert(APIAccessLog.__table__), rows)
            self.dropped += len(batch) - len(rows)
            return len(rows)

    def _keep(self, batch: list[AccessRecord]) -> None:
        with self._lock:
            self._rows[:0] = batch
            over = len(self._rows) - self.max_buffer
            if over > 0:
                del self._rows[:over]
                self.dropped += over
                log.warning("api access log: buffer full, %s oldest rows dropped", over)

    def close(self) -> None:
        """Stop the thread and write what is left (process exit)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            thread.join(timeout=5)
        try:
            self.flush()
        except Exception:
            log.exception("api access log: final flush failed; %s rows lost", self.pending())
