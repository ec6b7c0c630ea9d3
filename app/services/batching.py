"""Resumable walks over a table's primary key in short batches, for jobs that change many rows.

A job fixes the last id it will touch (``state["max_id"]``) when it starts, then walks
primary-key ranges ``(last_id, hi]``: ``hi`` comes from the primary-key index alone (no row is
read or locked), and the job's step changes the range's rows in one short transaction that
also commits the run's checkpoint, so a SIGKILL leaves a range and its checkpoint, or neither,
and the rerun resumes after the last committed range. Ranges are sized from the last
transaction's duration, whatever the row width, statement or load. On PostgreSQL each batch
runs under a statement time limit (an overrun is rolled back and retried smaller) and commits
without waiting for the WAL flush. An idempotent statement per range can instead walk
``lanes`` slices of the key span at once, each on its own connection with its own part of the
checkpoint (``run_lanes``): one UPDATE keeps one core busy.

The checkpoint keys this module owns: ``last_id``, ``max_id``, ``rows``, ``batches``,
``written`` (the walk is over), ``overruns``, ``reread`` and ``lanes``.
"""

from __future__ import annotations

import contextlib
import gc
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from app.extensions import db
from app.models.base import utcnow
from app.models.jobs import JobRun, JobStatus
from app.services.jobs.context import JobContext
from app.services.jobs.errors import JobCancelled, JobSuperseded

STATEMENT_TIMEOUT = "57014"  # PostgreSQL's sqlstate for a statement_timeout


@dataclass(frozen=True)
class Tuning:
    """How a job's batches are sized and bounded (``from_config`` reads a service's ``<PREFIX>_*`` settings).

    The target (40 ms) stays well under the 100 ms a concurrent writer may wait behind a batch's
    row locks; the statement limit (60 ms) bounds how long a stalled batch can hold them.
    """

    batch: int = 5000  # the first range's size (<PREFIX>_BATCH)
    lanes: int = 2  # <PREFIX>_LANES
    target_seconds: float = 0.04  # <PREFIX>_BATCH_SECONDS
    min_size: int = 1000  # <PREFIX>_BATCH_MIN
    max_size: int = 100000  # <PREFIX>_BATCH_MAX
    statement_timeout: float = 0.06  # <PREFIX>_STATEMENT_TIMEOUT, seconds
    max_overruns: int = 20  # <PREFIX>_MAX_OVERRUNS: consecutive overruns of one range before the run fails

    @classmethod
    def from_config(cls, prefix: str) -> Tuning:
        cfg, d = current_app.config, cls
        return cls(
            batch=int(cfg.get(f"{prefix}_BATCH", d.batch)),
            lanes=int(cfg.get(f"{prefix}_LANES", d.lanes)),
            target_seconds=float(cfg.get(f"{prefix}_BATCH_SECONDS", d.target_seconds)),
            min_size=int(cfg.get(f"{prefix}_BATCH_MIN", d.min_size)),
            max_size=int(cfg.get(f"{prefix}_BATCH_MAX", d.max_size)),
            statement_timeout=float(cfg.get(f"{prefix}_STATEMENT_TIMEOUT", d.statement_timeout)),
            max_overruns=int(cfg.get(f"{prefix}_MAX_OVERRUNS", d.max_overruns)),
        )

    @property
    def limit_ms(self) -> int:
        return max(1, int(self.statement_timeout * 1000))


class RetryBatch(Exception):
    """Raised by a step: the range changed under it; roll the batch back and redo the range."""


def run_ranges(
    ctx: JobContext, table: sa.Table, state: dict, step: Callable[[int, int, int], int], tuning: Tuning
) -> None:
    """The batch loop: one key range per transaction, each committed with its checkpoint.

    ``step(lo, hi, retries)`` changes the range's rows in the session's transaction and returns
    how many; ``retries`` counts its consecutive ``RetryBatch``. The checkpoint moves to ``hi``;
    a step may lower ``state["last_id"]`` and set ``state["range_done"]`` to end the walk there.
    """
    batch, overruns, retries = tuning.batch, 0, 0
    with _collect_between_batches() as collect:
        while not state.get("written"):
            began = time.perf_counter()
            before = json.loads(json.dumps(state))
            try:
                bounds = next_range(table, state, batch, tuning)
                if bounds is not None:
                    state["last_id"] = bounds[1]
                    state["rows"] += step(*bounds, retries)
                    state["batches"] += 1
                state["written"] = bounds is None or bool(state.pop("range_done", False))
                ctx.commit(done=state["rows"], checkpoint=state)
            except RetryBatch:
                db.session.rollback()
                state.clear()
                state.update(before)
                retries += 1
                state["reread"] = state.get("reread", 0) + 1
                continue
            except sa.exc.OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) != STATEMENT_TIMEOUT:  # only our limit is expected
                    raise
                # The batch overran its time limit (a stall, or a lock another writer holds): nothing
                # was committed; retry the same range smaller, after a short pause.
                db.session.rollback()
                state.clear()
                state.update(before)
                overruns += 1
                if overruns > tuning.max_overruns:
                    raise
                state["overruns"] = state.get("overruns", 0) + 1
                batch = max(1, batch // 4)
                time.sleep(min(1.0, 0.05 * overruns))
                continue
            overruns = retries = 0
            batch = next_batch_size(batch, time.perf_counter() - began, tuning)
            collect()


def lanes_apply(tuning: Tuning) -> bool:
    """Whether ``run_lanes`` may run: more than one lane, on PostgreSQL."""
    return tuning.lanes > 1 and db.session.connection().dialect.name == "postgresql"


def run_lanes(ctx: JobContext, table: sa.Table, state: dict, change: Callable[[int, int], Any], tuning: Tuning) -> None:
    """``tuning.lanes`` lanes, each a slice of the run's key span walked in ranges on its own
    connection, a batch of every lane at a time; ``change(lo, hi)`` is the range's statement.

    Each lane's batch is its own short transaction that commits its changes with its lane's
    checkpoint (merged into the run's with ``jsonb_set``, under the run row's lock, so lanes never
    overwrite each other); the statement must be idempotent, so a rerun resumes every lane after
    its last committed range. Automatic garbage collection stays off; it runs between rounds,
    when no lane holds a lock.
    """
    if "lanes" not in state:
        count = tuning.lanes
        lo, stop = state["last_id"], state.get("max_id") or 0
        cuts = [lo + (stop - lo) * i // count for i in range(count + 1)] if stop > lo else [lo] * (count + 1)
        spans = zip(cuts, cuts[1:], strict=False)
        state["lanes"] = [{"start": a, "last_id": a, "stop": b, "rows": 0, "batches": 0} for a, b in spans]
        ctx.commit(checkpoint=state)
    sizes = [tuning.batch] * len(state["lanes"])
    overruns = [0] * len(state["lanes"])
    engine = db.engine
    with contextlib.ExitStack() as stack:
        collect = stack.enter_context(_collect_between_batches())
        conns = [stack.enter_context(engine.connect()) for _ in state["lanes"]]
        pool = stack.enter_context(ThreadPoolExecutor(len(conns)))
        while open_lanes := [i for i, lane in enumerate(state["lanes"]) if lane["last_id"] < lane["stop"]]:
            job = (ctx, table, change, tuning.limit_ms)
            futures = {i: pool.submit(_lane_batch, conns[i], *job, i, state["lanes"][i], sizes[i]) for i in open_lanes}
            cancel = superseded = False
            for i, future in futures.items():
                try:
                    lane, seconds, cancelled = future.result()
                except sa.exc.OperationalError as exc:
                    if getattr(exc.orig, "sqlstate", None) != STATEMENT_TIMEOUT:  # only our limit is expected
                        raise
                    overruns[i] += 1
                    state["overruns"] = state.get("overruns", 0) + 1
                    if overruns[i] > tuning.max_overruns:
                        raise
                    sizes[i] = max(1, sizes[i] // 4)
                    continue
                except JobSuperseded:
                    superseded = True
                    continue
                state["rows"] += lane["rows"] - state["lanes"][i]["rows"]  # as the lane's commit did
                state["lanes"][i] = lane
                overruns[i] = 0
                sizes[i] = next_batch_size(sizes[i], seconds, tuning)
                cancel = cancel or cancelled
            if superseded:
                raise JobSuperseded(f"run {ctx.run_id}: attempt {ctx.attempt} no longer owns the run")
            if cancel:
                raise JobCancelled()
            if any(overruns):
                time.sleep(min(1.0, 0.05 * max(overruns)))
            collect()
            ctx.progressed(state["rows"])
            ctx.pace()
    state["batches"] = state.get("batches", 0) + sum(lane["batches"] for lane in state["lanes"])
    state["last_id"] = state.get("max_id") or state["last_id"]
    state["written"] = True
    ctx.commit(done=state["rows"], checkpoint=state)


def is_committed(state: dict, row_id: int) -> bool:
    """Whether a run's checkpoint says ``row_id``'s range was decided (changed, or left as it was)."""
    lanes = state.get("lanes")
    if not lanes:
        return row_id <= state["last_id"]
    return row_id <= lanes[0]["start"] or any(lane["start"] < row_id <= lane["last_id"] for lane in lanes)


def _lane_batch(
    conn: sa.Connection, ctx: JobContext, table: sa.Table, change: Callable[[int, int], Any], limit_ms: int,
    index: int, lane: dict, size: int,
) -> tuple[dict, float, bool]:  # fmt: skip
    """One range of one lane, committed with the lane's checkpoint; (new lane state, seconds, cancel asked)."""
    began = time.perf_counter()
    lo = lane["last_id"]
    with conn.begin():
        upper = select(table.c.id).where(table.c.id > lo).order_by(table.c.id).offset(size - 1).limit(1)
        hi = conn.execute(select(upper.scalar_subquery(), *_settings_sql(limit_ms))).scalar()
        hi = lane["stop"] if hi is None or hi >= lane["stop"] else hi
        changed = conn.execute(change(lo, hi)).rowcount
        new = {**lane, "last_id": hi, "rows": lane["rows"] + changed, "batches": lane["batches"] + 1}
        runs = JobRun.__table__
        rows_so_far = sa.cast(func.jsonb_extract_path_text(runs.c.checkpoint, "rows"), sa.BigInteger)
        owned = conn.execute(
            update(runs)
            .where(runs.c.id == ctx.run_id, runs.c.attempts == ctx.attempt, runs.c.status == JobStatus.RUNNING)
            .values(
                # This lane's state and the run's row count, merged under the run row's lock.
                checkpoint=func.jsonb_set(
                    func.jsonb_set(
                        runs.c.checkpoint, sa.literal(["lanes", str(index)], ARRAY(sa.Text)), sa.literal(new, JSONB())
                    ),
                    sa.literal(["rows"], ARRAY(sa.Text)),
                    func.to_jsonb(rows_so_far + changed),
                ),
                progress_done=runs.c.progress_done + changed,
                heartbeat_at=utcnow(),
            )
            .returning(runs.c.cancel_requested)
        ).first()
        if owned is None:
            raise JobSuperseded(f"run {ctx.run_id}: attempt {ctx.attempt} no longer owns the run")
    return new, time.perf_counter() - began, bool(owned.cancel_requested)


@contextlib.contextmanager
def _collect_between_batches() -> Iterator[Callable[[], None]]:
    """Python's garbage collector may not pause a batch while it holds row locks.

    A full collection over a worker's heap (the app, FAB, SQLAlchemy) took 100-200 ms, and when
    it started inside a batch transaction it held that batch's row locks as long (measured:
    ARCHIVE transactions of 160-230 ms against a 60 ms statement limit). So automatic
    collection is off during the run and the caller collects between batches, after the
    commit: the young generations every batch, everything every 100 batches.
    """
    enabled = gc.isenabled()
    gc.disable()
    count = 0

    def collect() -> None:
        nonlocal count
        count += 1
        gc.collect(2 if count % 100 == 0 else 1)

    try:
        yield collect
    finally:
        if enabled:
            gc.enable()


def next_batch_size(size: int, seconds: float, tuning: Tuning) -> int:
    """Size the next range from the last batch's duration, aiming at ``tuning.target_seconds``; it
    grows at most 1.5x per batch, within [min_size, max_size]. Row width, indexes, serialisation
    and load all change what a row costs, so the size follows the measured time, not a constant."""
    low = min(size, tuning.min_size)
    factor = min(1.5, max(0.25, tuning.target_seconds / max(seconds, 1e-4)))
    return max(low, min(tuning.max_size, int(size * factor)))


def next_range(table: sa.Table, state: dict, limit: int, tuning: Tuning) -> tuple[int, int] | None:
    """The next primary-key range ``(lo, hi]``: at most ``limit`` ids after the checkpoint.

    The upper bound comes from the primary-key index alone (no row is read or locked), capped
    at the last id fixed when the run started; ``state["range_done"]`` says the range reaches
    it. ``None`` when nothing is left. The batch settings ride along: this is the first
    statement of the batch's transaction.
    """
    lo, stop = state["last_id"], state.get("max_id")
    if stop is None or lo >= stop:
        return None
    upper = select(table.c.id).where(table.c.id > lo).order_by(table.c.id).offset(limit - 1).limit(1)
    hi = db.session.execute(select(upper.scalar_subquery(), *batch_settings_sql(tuning))).scalar()
    if hi is None or hi >= stop:
        hi, state["range_done"] = stop, True
    return lo, hi


def batch_settings(tuning: Tuning) -> None:
    """On PostgreSQL: a time limit on the batch's statements, and commit without waiting for the WAL flush.

    ``statement_timeout`` bounds how long the batch can hold its row locks, whatever stalls it
    (CPU, I/O, a lock it waits for); an overrun batch is rolled back and retried smaller.

    Asynchronous commit: the checkpoint commits in the same transaction as the batch, so a server
    crash that loses an asynchronously committed batch loses its changes and its checkpoint
    together (at most the last few batches, all later WAL too); the rerun resumes from the older
    checkpoint and redoes them (a file the batches append to is cut back to the older size first).
    A SIGKILLed worker loses nothing: the server flushes within ``wal_writer_delay``. The run's
    final commit is synchronous, which flushes the WAL of every batch before the run is reported
    done.
    """
    settings = batch_settings_sql(tuning)
    if settings:
        db.session.execute(select(*settings))


def batch_settings_sql(tuning: Tuning) -> list[Any]:
    """``batch_settings`` as expressions to select (``set_config(..., true)`` is ``SET LOCAL``), so
    they can ride on a batch's first statement; none on SQLite."""
    if db.session.connection().dialect.name != "postgresql":
        return []
    return _settings_sql(tuning.limit_ms)


def _settings_sql(limit_ms: int) -> list[Any]:
    return [
        func.set_config("statement_timeout", str(limit_ms), True),
        func.set_config("synchronous_commit", "off", True),
    ]
