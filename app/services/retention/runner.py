"""Data retention: which entities may carry a policy, dry runs, and batched resumable runs.

``RETENTION_ENTITIES`` declares, in code, every entity a DataRetentionPolicy may
name: its time column, its personal-data columns (``info={"personal": True}``),
the user columns whose legal hold protects a row, and the strategies allowed.

A run's cutoff, its candidate count and its last candidate id are fixed when it
starts. Every strategy then walks primary-key ranges ``(last_id, hi]``: ``hi`` comes
from the primary-key index alone, and one statement per range changes exactly the
rows in it that are expired and not held (the legal-hold exclusion,
``NOT EXISTS (SELECT 1 FROM users WHERE legal_hold AND id IN (...))``, is part of
that statement). Each range is one short transaction that also commits the run's
checkpoint (last id, counts, archive bytes), so a SIGKILL leaves a range and its
checkpoint, or neither, and the rerun resumes after the last committed range.
Ranges are sized from the last transaction's duration (~40 ms), whatever the row
width, strategy or load. On PostgreSQL, HARD_DELETE and ANONYMIZE (idempotent statements)
walk ``RETENTION_LANES`` slices of the key span at once, each on its own connection and
with its own part of the checkpoint (``_run_lanes``): one UPDATE keeps one core busy.

HARD_DELETE deletes the range's rows; ANONYMIZE overwrites their personal columns
with placeholders (rows already anonymized are skipped); ARCHIVE reads them (rendered
and joined by PostgreSQL, so Python handles no row), appends them as a gzip member to a
temporary file and fsyncs it, then
deletes exactly those row versions in the range's short transaction, so no row is gone
before it is on disk and no row lock is held during file I/O. At the end the file
is renamed into ``instance/archive/`` next to its manifest (``verify_archive`` checks
one against the other). Audit logs may only be ARCHIVEd, as a contiguous oldest
prefix (the chain stays verifiable: each batch records the last archived hash as an
anchor, in the same transaction).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import gzip
import hashlib
import json
import os
import time
import uuid
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from isal import isal_zlib
from sqlalchemy import delete, event, exists, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, aggregate_order_by

from app.extensions import db
from app.i18n import _l
from app.models.base import utcnow
from app.models.classification import personal_columns
from app.models.compliance import DataRetentionPolicy, DeletionStrategy
from app.models.identity import PlatformUser
from app.models.jobs import JobRun, JobStatus
from app.services.audit import chain as audit
from app.services.jobs import JobCancelled, JobContext, JobSuperseded, partial_path, start_job

KIND = "retention.run"
ARCHIVE_GZIP_LEVEL = 2  # ISA-L (0-3)
H, A, X = DeletionStrategy.HARD_DELETE, DeletionStrategy.ANONYMIZE, DeletionStrategy.ARCHIVE


class RetentionError(ValueError):
    """A policy or run request is invalid; the message says why."""


@dataclass(frozen=True)
class RetentionEntity:
    table: str
    time_column: str
    holders: tuple[str, ...]
    strategies: frozenset[DeletionStrategy]
    min_days: int = 1

    @property
    def personal_columns(self) -> tuple[str, ...]:
        return tuple(sorted(personal_columns(self.sa_table)))

    @property
    def sa_table(self) -> sa.Table:
        return db.metadata.tables[self.table]


RETENTION_ENTITIES: dict[str, RetentionEntity] = {
    e.table: e
    for e in (
        RetentionEntity("auth_sessions", "issued_at", ("user_id",), frozenset({H, X})),
        RetentionEntity("engagement_events", "occurred_at", ("customer_id",), frozenset({H, A, X})),
        RetentionEntity("recommendation_logs", "shown_at", ("customer_id",), frozenset({H, A, X})),
        RetentionEntity("progress_metrics", "recorded_at", ("customer_id",), frozenset({H, X})),
        RetentionEntity("messages", "sent_at", ("sender_id", "recipient_id"), frozenset({H, A, X})),
        RetentionEntity("support_tickets", "created_at", ("requester_id", "assigned_to"), frozenset({A})),
        RetentionEntity("api_access_logs", "occurred_at", (), frozenset({H, X})),
        RetentionEntity("automation_executions", "triggered_at", (), frozenset({H, X})),
        # Audit logs: archive only, never anonymized or deleted without an archive; kept a year at least.
        RetentionEntity("audit_logs", "created_at", ("actor_id",), frozenset({X}), min_days=365),
    )
}


def validate_policy(entity: str, strategy: str | DeletionStrategy, days: Any) -> list[str]:
    """Clear, translated messages for an invalid (entity, strategy, period) combination; [] when valid."""
    errors = []
    spec = RETENTION_ENTITIES.get(entity)
    if spec is None:
        errors.append(
            _("%(entity)s cannot carry a retention policy; choose one of %(choices)s",
              entity=repr(entity), choices=", ".join(RETENTION_ENTITIES))
        )  # fmt: skip
    try:
        strategy = DeletionStrategy(strategy)
    except ValueError:
        errors.append(
            _("unknown strategy %(strategy)s; choose one of %(choices)s",
              strategy=repr(strategy), choices=", ".join(s.value for s in DeletionStrategy))
        )  # fmt: skip
        strategy = None
    if spec is not None and strategy is not None and strategy not in spec.strategies:
        allowed = ", ".join(sorted(s.value for s in spec.strategies))
        errors.append(
            _("%(entity)s allows only %(allowed)s, not %(strategy)s", entity=entity, allowed=allowed,
              strategy=strategy.value)
        )  # fmt: skip
    try:
        days = int(days)
    except (TypeError, ValueError):
        errors.append(_("the retention period must be a whole number of days"))
    else:
        minimum = spec.min_days if spec else 1
        if days < minimum:
            errors.append(
                _("the retention period for %(entity)s must be at least %(days)s days", entity=entity, days=minimum)
            )
    return errors


@event.listens_for(DataRetentionPolicy, "before_insert")
@event.listens_for(DataRetentionPolicy, "before_update")
def _refuse_invalid_policy(mapper: Any, connection: Any, policy: DataRetentionPolicy) -> None:
    """Safety net under every form and API: an invalid combination never reaches the table."""
    errors = validate_policy(policy.entity, policy.deletion_strategy, policy.retention_period_days)
    if errors:
        raise RetentionError("; ".join(errors))


def save_policy(
    entity: str, strategy: str, days: Any, enabled: bool, policy_id: int | None = None
) -> DataRetentionPolicy:
    errors = validate_policy(entity, strategy, days)
    if errors:
        raise RetentionError("; ".join(errors))
    policy = db.session.get(DataRetentionPolicy, policy_id) if policy_id else None
    if policy_id and policy is None:
        raise RetentionError(_("no retention policy #%(id)s", id=policy_id))
    other = db.session.scalar(select(DataRetentionPolicy).where(DataRetentionPolicy.entity == entity))
    if other is not None and other is not policy:
        raise RetentionError(_("%(entity)s already has a policy (#%(id)s); edit that one", entity=entity, id=other.id))
    if policy is None:
        policy = DataRetentionPolicy(entity=entity)
        db.session.add(policy)
    policy.deletion_strategy = DeletionStrategy(strategy)
    policy.retention_period_days = int(days)
    policy.enabled = bool(enabled)
    db.session.commit()
    return policy


def _held_clause(spec: RetentionEntity, table: sa.Table) -> Any:
    """Rows of users under legal hold are excluded in the same query that selects a batch."""
    if not spec.holders:
        return sa.true()
    users = PlatformUser.__table__
    return ~exists(select(1).where(users.c.legal_hold.is_(True), users.c.id.in_([table.c[h] for h in spec.holders])))


def placeholder(column: sa.Column) -> Any:
    """The irreversible replacement for a personal-data column."""
    if column.nullable:
        return sa.null()
    if isinstance(column.type, sa.JSON) or column.info.get("json_schema"):
        return {}
    if isinstance(column.type, (sa.Numeric, sa.Integer, sa.Float)):
        return 0
    return "[anonymized]"


def _not_anonymized(spec: RetentionEntity, table: sa.Table) -> Any:
    conds = []
    for name in spec.personal_columns:
        col = table.c[name]
        value = placeholder(col)
        if col.nullable:
            conds.append(col.is_not(None))
        elif isinstance(value, str):
            conds.append(col != value)
    return sa.or_(*conds) if conds else sa.false()


def _candidates(spec: RetentionEntity, strategy: DeletionStrategy, cutoff: dt.datetime) -> list[Any]:
    table = spec.sa_table
    conds = [table.c[spec.time_column] < cutoff, _held_clause(spec, table)]
    if strategy == A:
        conds.append(_not_anonymized(spec, table))
    return conds


@dataclass
class DryRun:
    entity: str
    strategy: str
    cutoff: dt.datetime
    count: int
    held: int
    sample: list[dict[str, Any]]


def dry_run(policy: DataRetentionPolicy, sample_size: int = 10) -> DryRun:
    """How many rows a run would touch now, how many legal holds spare, and a sample (no personal data)."""
    spec = RETENTION_ENTITIES.get(policy.entity)
    if spec is None:
        raise RetentionError(_("%(entity)s cannot carry a retention policy", entity=repr(policy.entity)))
    cutoff = utcnow() - dt.timedelta(days=policy.retention_period_days)
    table = spec.sa_table
    conds = _candidates(spec, policy.deletion_strategy, cutoff)
    count = db.session.scalar(select(func.count()).select_from(table).where(*conds)) or 0
    expired = db.session.scalar(select(func.count()).select_from(table).where(table.c[spec.time_column] < cutoff))
    shown = [c for c in table.c if c.name not in spec.personal_columns and not c.info.get("secret")]
    shown = [c for c in shown if not isinstance(c.type, sa.JSON)][:6]
    rows = db.session.execute(select(*shown).where(*conds).order_by(table.c.id).limit(sample_size)).mappings()
    sample = [{k: audit._plain(v) for k, v in row.items()} for row in rows]
    return DryRun(policy.entity, policy.deletion_strategy.value, cutoff, count, (expired or 0) - count, sample)


def plan_run(policy: DataRetentionPolicy, requested_by: uuid.UUID | None, dedupe_key: str | None = None) -> JobRun:
    """Fix the cutoff now and dispatch the run."""
    errors = validate_policy(policy.entity, policy.deletion_strategy, policy.retention_period_days)
    if errors:
        raise RetentionError("; ".join(errors))
    cutoff = utcnow() - dt.timedelta(days=policy.retention_period_days)
    params = {
        "policy_id": policy.id,
        "entity": policy.entity,
        "strategy": policy.deletion_strategy.value,
        "cutoff": cutoff.isoformat(),
    }
    return start_job(KIND, params, queue="retention", requested_by=requested_by, dedupe_key=dedupe_key)


def dispatch_enabled_policies() -> list[int]:
    """Nightly cron: one run per enabled policy per day (a second dispatch returns the first)."""
    today = utcnow().date().isoformat()
    runs = []
    for policy in db.session.scalars(select(DataRetentionPolicy).where(DataRetentionPolicy.enabled.is_(True))):
        runs.append(plan_run(policy, None, dedupe_key=f"retention-{policy.id}-{today}").id)
    return runs


def archive_dir() -> Path:
    path = Path(current_app.config["ARCHIVE_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_policy(ctx: JobContext) -> dict[str, Any]:
    params = ctx.params
    spec = RETENTION_ENTITIES[params["entity"]]
    strategy = DeletionStrategy(params["strategy"])
    if strategy not in spec.strategies:
        raise RetentionError(_l("%(entity)s does not allow %(strategy)s", entity=spec.table, strategy=strategy.value))
    cutoff = dt.datetime.fromisoformat(params["cutoff"])
    batch = int(current_app.config.get("RETENTION_BATCH", 5000))
    state = dict(ctx.state) or {"last_id": 0, "rows": 0, "batches": 0, "bytes": 0}
    if not ctx.state:
        # One pass: how many rows, and the last candidate id (the end of the run's primary-key ranges).
        total, state["max_id"] = db.session.execute(
            select(func.count(), func.max(spec.sa_table.c.id)).where(*_candidates(spec, strategy, cutoff))
        ).one()
        state["total"] = total
        ctx.commit(done=0, total=total, checkpoint=state)
    if "max_id" not in state:  # a checkpoint written before every strategy used ranges
        state["max_id"] = db.session.scalar(
            select(func.max(spec.sa_table.c.id)).where(*_candidates(spec, strategy, cutoff))
        )
        if state.get("first_id") is not None:  # an ARCHIVE whose last_id was its last archived row
            state.setdefault("archived_last_id", state["last_id"])
    archive = part = None
    if strategy == X:
        name = f"{spec.table}-{ctx.run_id}.jsonl.gz"
        archive = archive_dir() / name
        part = partial_path(archive)
        if not state.get("written"):
            with open(part, "ab"):
                pass
            with open(part, "r+b") as fh:
                fh.truncate(state["bytes"])  # drop whatever a killed attempt wrote after its last checkpoint
    step = {H: _delete_batch, A: _anonymize_batch, X: _archive_batch}[strategy]
    lanes = int(current_app.config.get("RETENTION_LANES", 2))
    with _collect_between_batches() as collect:
        if strategy != X and lanes > 1 and db.session.connection().dialect.name == "postgresql":
            _run_lanes(ctx, spec, strategy, cutoff, state, batch, lanes, collect)
        else:
            _run_batches(ctx, spec, strategy, cutoff, state, batch, step, part, collect)
    result: dict[str, Any] = {"entity": spec.table, "strategy": strategy.value, "cutoff": params["cutoff"]}
    result.update(rows=state["rows"], batches=state["batches"], overruns=state.get("overruns", 0))
    result.update(reread=state.get("reread", 0))
    if archive is not None and part is not None:
        if part.exists():
            os.replace(part, archive)
        result.update(_write_archive_manifest(archive, state, params, ctx.run_id))
    policy = db.session.get(DataRetentionPolicy, params["policy_id"])
    if policy is not None:
        policy.last_run_at = utcnow()
    audit.record("retention.run", spec.table, params["policy_id"], result)
    ctx.commit(done=state["rows"], total=state["rows"])
    return result


def _run_batches(
    ctx: JobContext, spec: RetentionEntity, strategy: DeletionStrategy, cutoff: dt.datetime, state: dict,
    batch: int, step: Any, part: Path | None, collect: Any,
) -> None:  # fmt: skip
    """The batch loop: one key range per transaction, each committed with its checkpoint."""
    overruns = changed = 0
    while not state.get("written"):
        began = time.perf_counter()
        before = json.loads(json.dumps(state))
        try:
            bounds = _next_range(spec, state, batch)
            if bounds is not None:
                locked = {"locked": changed >= 3} if strategy == X else {}
                state["rows"] += step(spec, cutoff, state, *bounds, part, **locked)
                state["batches"] += 1
            state["written"] = bounds is None or bool(state.pop("range_done", False))
            ctx.commit(done=state["rows"], checkpoint=state)
        except _RowsChanged:
            # A writer changed a row of this ARCHIVE range after it was written: redo the range.
            db.session.rollback()
            state.clear()
            state.update(before)
            changed += 1
            state["reread"] = state.get("reread", 0) + 1
            continue
        except sa.exc.OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != "57014":  # only our statement_timeout is expected
                raise
            # The batch overran its time limit (a stall, or a lock another writer holds): nothing
            # was committed; retry the same range smaller, after a short pause.
            db.session.rollback()
            state.clear()
            state.update(before)
            overruns += 1
            if overruns > int(current_app.config.get("RETENTION_MAX_OVERRUNS", 20)):
                raise
            state["overruns"] = state.get("overruns", 0) + 1
            batch = max(1, batch // 4)
            time.sleep(min(1.0, 0.05 * overruns))
            continue
        overruns = changed = 0
        batch = _next_batch_size(batch, time.perf_counter() - began)
        collect()


def _run_lanes(
    ctx: JobContext, spec: RetentionEntity, strategy: DeletionStrategy, cutoff: dt.datetime, state: dict,
    batch: int, count: int, collect: Any,
) -> None:  # fmt: skip
    """HARD_DELETE and ANONYMIZE on PostgreSQL: ``count`` lanes, each a slice of the run's key span
    walked in ranges on its own connection, a batch of every lane at a time.

    One UPDATE statement keeps one core busy (it writes the row and each index), so lanes on
    disjoint key ranges use the others. Each lane's batch is its own short transaction that
    commits its changes with its lane's checkpoint (merged into the run's with ``jsonb_set``,
    under the run row's lock, so lanes never overwrite each other); both statements are
    idempotent, so a rerun resumes every lane after its last committed range. Automatic garbage
    collection stays off; the caller collects between rounds, when no lane holds a lock.
    """
    if "lanes" not in state:
        lo, stop = state["last_id"], state.get("max_id") or 0
        cuts = [lo + (stop - lo) * i // count for i in range(count + 1)] if stop > lo else [lo] * (count + 1)
        spans = zip(cuts, cuts[1:], strict=False)
        state["lanes"] = [{"start": a, "last_id": a, "stop": b, "rows": 0, "batches": 0} for a, b in spans]
        ctx.commit(checkpoint=state)
    limit_ms = _statement_limit_ms()
    max_overruns = int(current_app.config.get("RETENTION_MAX_OVERRUNS", 20))
    sizes = [batch] * len(state["lanes"])
    overruns = [0] * len(state["lanes"])
    engine = db.engine
    with contextlib.ExitStack() as stack:
        conns = [stack.enter_context(engine.connect()) for _ in state["lanes"]]
        pool = stack.enter_context(ThreadPoolExecutor(len(conns)))
        while open_lanes := [i for i, lane in enumerate(state["lanes"]) if lane["last_id"] < lane["stop"]]:
            job = (ctx, spec, strategy, cutoff, limit_ms)
            futures = {i: pool.submit(_lane_batch, conns[i], *job, i, state["lanes"][i], sizes[i]) for i in open_lanes}
            cancel = superseded = False
            for i, future in futures.items():
                try:
                    lane, seconds, cancelled = future.result()
                except sa.exc.OperationalError as exc:
                    if getattr(exc.orig, "sqlstate", None) != "57014":  # only our statement_timeout is expected
                        raise
                    overruns[i] += 1
                    state["overruns"] = state.get("overruns", 0) + 1
                    if overruns[i] > max_overruns:
                        raise
                    sizes[i] = max(1, sizes[i] // 4)
                    continue
                except JobSuperseded:
                    superseded = True
                    continue
                state["rows"] += lane["rows"] - state["lanes"][i]["rows"]  # as the lane's commit did
                state["lanes"][i] = lane
                overruns[i] = 0
                sizes[i] = _next_batch_size(sizes[i], seconds)
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
    """Whether a run's checkpoint says ``row_id``'s range was decided (changed, or left as not expired or held)."""
    lanes = state.get("lanes")
    if not lanes:
        return row_id <= state["last_id"]
    return row_id <= lanes[0]["start"] or any(lane["start"] < row_id <= lane["last_id"] for lane in lanes)


def _lane_batch(
    conn: sa.Connection, ctx: JobContext, spec: RetentionEntity, strategy: DeletionStrategy, cutoff: dt.datetime,
    limit_ms: int, index: int, lane: dict, size: int,
) -> tuple[dict, float, bool]:  # fmt: skip
    """One range of one lane, committed with the lane's checkpoint; (new lane state, seconds, cancel asked)."""
    began = time.perf_counter()
    table = spec.sa_table
    lo = lane["last_id"]
    with conn.begin():
        upper = select(table.c.id).where(table.c.id > lo).order_by(table.c.id).offset(size - 1).limit(1)
        hi = conn.execute(select(upper.scalar_subquery(), *_settings_sql(limit_ms))).scalar()
        hi = lane["stop"] if hi is None or hi >= lane["stop"] else hi
        changed = conn.execute(_change(spec, strategy, cutoff, lo, hi)).rowcount
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
def _collect_between_batches() -> Iterator[Any]:
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


def _next_batch_size(size: int, seconds: float) -> int:
    """Size the next range from the last batch's duration, aiming at ``RETENTION_BATCH_SECONDS``
    (40 ms, well under the 100 ms a concurrent writer may wait); it grows at most 1.5x per batch,
    within [RETENTION_BATCH_MIN, RETENTION_BATCH_MAX]. Row width, indexes, archive serialisation
    and load all change what a row costs, so the size follows the measured time, not a constant."""
    cfg = current_app.config
    target = float(cfg.get("RETENTION_BATCH_SECONDS", 0.04))
    low = min(size, int(cfg.get("RETENTION_BATCH_MIN", 1000)))
    high = int(cfg.get("RETENTION_BATCH_MAX", 100000))
    factor = min(1.5, max(0.25, target / max(seconds, 1e-4)))
    return max(low, min(high, int(size * factor)))


def _next_range(spec: RetentionEntity, state: dict, limit: int) -> tuple[int, int] | None:
    """The next primary-key range ``(lo, hi]``: at most ``limit`` ids after the checkpoint.

    The upper bound comes from the primary-key index alone (no row is read or locked), capped
    at the last candidate id fixed at planning; ``state["range_done"]`` says the range reaches
    it. ``None`` when nothing is left.
    """
    table = spec.sa_table
    lo, stop = state["last_id"], state.get("max_id")
    if stop is None or lo >= stop:
        return None
    upper = select(table.c.id).where(table.c.id > lo).order_by(table.c.id).offset(limit - 1).limit(1)
    # The batch's settings ride along: the range is the first statement of its transaction.
    hi = db.session.execute(select(upper.scalar_subquery(), *_batch_settings_sql())).scalar()
    if hi is None or hi >= stop:
        hi, state["range_done"] = stop, True
    return lo, hi


def _batch_settings() -> None:
    """On PostgreSQL: a time limit on the batch's statements, and commit without waiting for the WAL flush.

    ``statement_timeout`` (``RETENTION_STATEMENT_TIMEOUT``, 60 ms) bounds how long the batch can
    hold its row locks, whatever stalls it (CPU, I/O, a lock it waits for); an overrun batch is
    rolled back and retried smaller (``run_policy``).

    Asynchronous commit: the checkpoint commits in the same transaction as the batch, so a server
    crash that loses an asynchronously committed batch loses its changes and its checkpoint
    together (at most the last few batches, all later WAL too); the rerun resumes from the older
    checkpoint and redoes them (an ARCHIVE truncates its file back to the older byte count first).
    A SIGKILLed worker loses nothing: the server flushes within ``wal_writer_delay``. The run's
    final commit is synchronous, which flushes the WAL of every batch before the run is reported
    done and audited.
    """
    settings = _batch_settings_sql()
    if settings:
        db.session.execute(select(*settings))


def _batch_settings_sql() -> list[Any]:
    """``_batch_settings`` as expressions to select (``set_config(..., true)`` is ``SET LOCAL``), so
    they can ride on a batch's first statement; none on SQLite."""
    if db.session.connection().dialect.name != "postgresql":
        return []
    return _settings_sql(_statement_limit_ms())


def _statement_limit_ms() -> int:
    return max(1, int(float(current_app.config.get("RETENTION_STATEMENT_TIMEOUT", 0.06)) * 1000))


def _settings_sql(limit_ms: int) -> list[Any]:
    return [
        func.set_config("statement_timeout", str(limit_ms), True),
        func.set_config("synchronous_commit", "off", True),
    ]


def _range_conds(spec: RetentionEntity, strategy: DeletionStrategy, cutoff: dt.datetime, lo: int, hi: int) -> list:
    """The batch's rows: its key range, cut to the expired rows nobody holds, in the one statement that changes them."""
    table = spec.sa_table
    return [table.c.id > lo, table.c.id <= hi, *_candidates(spec, strategy, cutoff)]


def _change(spec: RetentionEntity, strategy: DeletionStrategy, cutoff: dt.datetime, lo: int, hi: int) -> Any:
    """The one statement that HARD_DELETEs or ANONYMIZEs a key range's expired, unheld rows
    (personal columns get their placeholders; rows already anonymized are skipped)."""
    table = spec.sa_table
    conds = _range_conds(spec, strategy, cutoff, lo, hi)
    if strategy == H:
        stmt = delete(table).where(*conds)
    else:
        stmt = update(table).where(*conds).values({name: placeholder(table.c[name]) for name in spec.personal_columns})
    return stmt.execution_options(synchronize_session=False)


def _delete_batch(spec: RetentionEntity, cutoff: dt.datetime, state: dict, lo: int, hi: int, part: Any) -> int:
    """HARD_DELETE one key range; every row in it is then decided, so the checkpoint moves to ``hi``.

    ``_next_range`` applied the batch settings in this transaction."""
    state["last_id"] = hi
    return db.session.execute(_change(spec, H, cutoff, lo, hi)).rowcount


def _anonymize_batch(spec: RetentionEntity, cutoff: dt.datetime, state: dict, lo: int, hi: int, part: Any) -> int:
    """ANONYMIZE one key range; ``_next_range`` applied the batch settings in this transaction."""
    state["last_id"] = hi
    return db.session.execute(_change(spec, A, cutoff, lo, hi)).rowcount


class _RowsChanged(Exception):
    """Between reading an ARCHIVE range and deleting it, another writer changed or added a row in it."""


def _archive_batch(
    spec: RetentionEntity, cutoff: dt.datetime, state: dict, lo: int, hi: int, part: Path, locked: bool = False
) -> int:
    """ARCHIVE one key range: its rows are on disk before they are deleted, and no file I/O
    happens while they are locked.

    On PostgreSQL: (1) read the range's rows (expired, not held), rendered as lines by the
    database, with each row version's ``xmin``, and end that read-only transaction; (2) write
    them as one gzip member after the checkpoint's byte count and fsync; (3) in one short
    transaction, ``DELETE`` the range under the same conditions ``RETURNING id, xmin`` and
    commit it with the checkpoint (the caller). If the deleted versions are not exactly the
    ones written (a writer changed or added a row in between), ``_RowsChanged`` rolls the
    batch back and the caller retries it; the retry overwrites the same bytes. After repeated
    changes (``locked``), and on SQLite, the batch instead deletes ``RETURNING`` the rows and
    writes and fsyncs them before its commit, holding the rows' locks meanwhile.

    A crash before the commit keeps the rows; the rerun truncates the file to the checkpoint's
    byte count and archives them again.
    """
    table = spec.sa_table
    pg = db.session.connection().dialect.name == "postgresql"  # _next_range applied the batch settings
    if spec.table == "audit_logs":
        hi = _audit_prefix_end(cutoff, lo, hi, state)
    conds = _range_conds(spec, X, cutoff, lo, hi)
    state["last_id"] = hi
    hashed = "row_hash" in table.c
    if pg:
        batch = _pg_archive_rows(spec, conds, locked)
    else:
        stmt = delete(table).where(*conds).execution_options(synchronize_session=False).returning(*table.c)
        rows = sorted(db.session.execute(stmt).mappings(), key=lambda r: r["id"])
        batch = _ArchiveBatch(
            len(rows), rows[0]["id"] if rows else None, rows[-1]["id"] if rows else None,
            rows[-1]["row_hash"] if rows and hashed else None, "\n".join(archive_line(table, r) for r in rows), None,
        )  # fmt: skip
    if not batch.rows:
        return 0
    blob = _gzip_lines(batch.lines)
    with open(part, "r+b") as fh:
        fh.seek(state["bytes"])
        fh.write(blob)
        fh.truncate()
        fh.flush()
        os.fsync(fh.fileno())
    if batch.versions is not None:
        _batch_settings()
        _maintenance(spec)
        gone = delete(table).where(*conds).returning(table.c.id, _row_version(table)).cte("gone")
        if db.session.scalar(select(_versions(gone.c.id, gone.c._v))) != batch.versions:
            raise _RowsChanged()
    if spec.table == "audit_logs":
        # The anchor that lets `flask audit verify` start from the first remaining row.
        state["archived_last_hash"] = batch.last_hash
        audit.record(
            "audit.archive", "audit_logs", batch.last_id, {"archived_last_hash": batch.last_hash, "rows": batch.rows}
        )
    state["bytes"] += len(blob)
    state.setdefault("first_id", batch.first_id)
    state["archived_last_id"] = batch.last_id
    return batch.rows


@dataclass
class _ArchiveBatch:
    """One ARCHIVE range, as the database hands it over: its lines (in id order) and ends."""

    rows: int
    first_id: int | None
    last_id: int | None
    last_hash: str | None  # audit logs: the last archived row's chain hash
    lines: str
    versions: str | None  # "id.xmin,..." of the rows read, when they are to be deleted later


def _row_version(table: sa.Table) -> Any:
    return sa.cast(sa.literal_column(f"{table.name}.xmin"), sa.Text).label("_v")


def _versions(ids: Any, versions: Any) -> Any:
    """Every row version of a range as one string, to compare what was read with what is deleted."""
    pair = sa.cast(ids, sa.Text).concat(".").concat(versions)
    return func.coalesce(func.string_agg(pair, aggregate_order_by(sa.literal_column("','"), ids)), "")


def _pg_archive_rows(spec: RetentionEntity, conds: list[Any], locked: bool) -> _ArchiveBatch:
    """Read a range's lines (rendered and joined by PostgreSQL: Python handles no row), with the
    versions of the rows read; or, ``locked``, delete the range and take the lines it returns."""
    table = spec.sa_table
    hashed = "row_hash" in table.c
    line = archive_line_sql(table).label("_line")
    extra = [table.c.row_hash] if hashed else []
    if locked:
        _maintenance(spec)
        rows = delete(table).where(*conds).returning(table.c.id, *extra, line).cte("rows")
    else:
        rows = select(table.c.id, _row_version(table), *extra, line).where(*conds).subquery("rows")
    summary = select(
        func.count(),
        func.min(rows.c.id),
        func.max(rows.c.id),
        func.coalesce(func.string_agg(rows.c._line, aggregate_order_by(sa.literal_column("E'\\n'"), rows.c.id)), ""),
        sa.null() if locked else _versions(rows.c.id, rows.c._v),
    ).subquery("s")
    last_hash = select(table.c.row_hash).where(table.c.id == summary.c[2]).scalar_subquery() if hashed else sa.null()
    # The locked DELETE's RETURNING rows are gone from the table: the last hash comes from them.
    if hashed and locked:
        last_hash = select(rows.c.row_hash).where(rows.c.id == summary.c[2]).scalar_subquery()
    count, first, last, lines, versions, last_row_hash = db.session.execute(select(summary, last_hash)).one()
    if not locked:
        db.session.commit()  # only a read: the file I/O that follows holds neither a snapshot nor a lock
    return _ArchiveBatch(count, first, last, last_row_hash, lines, versions)


def _maintenance(spec: RetentionEntity) -> None:
    """Audit logs are append-only; the archive's delete is the one maintenance write the guard lets through."""
    if spec.table == "audit_logs" and db.session.connection().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL coachdesk.maintenance = 'on'"))


def _gzip_lines(lines: str) -> bytes:
    """One gzip member per batch, so the file is a valid gzip stream after any checkpoint.

    ISA-L at level 2 compresses JSON lines about as small as zlib at 6, about ten times faster."""
    data = isal_zlib.compressobj(ARCHIVE_GZIP_LEVEL, isal_zlib.DEFLATED, 31)
    return data.compress((lines + "\n").encode()) + data.flush()


def _base_type(column: sa.Column) -> Any:
    return getattr(column.type, "impl_instance", column.type)


def archive_line(table: sa.Table, row: Any) -> str:
    """One row as its archive line: jsonb's text form (keys by length, then name), timestamps in
    ISO 8601 UTC, decimals, dates and UUIDs as strings, JSON columns nested as stored.

    ``archive_line_sql`` makes PostgreSQL print the same text, so an archive reads the same
    whichever backend wrote it.
    """
    doc = {}
    for column in table.c:
        value = row[column.name]
        doc[column.name] = value if isinstance(_base_type(column), sa.JSON) else audit._plain(value)
    return audit.jsonb_text(doc)


def archive_line_sql(table: sa.Table) -> Any:
    """``archive_line`` as a PostgreSQL expression over ``table``'s columns."""
    pairs: list[Any] = []
    for column in table.c:
        base = _base_type(column)
        if isinstance(base, sa.DateTime):
            utc = sa.func.timezone("UTC", column)
            whole = sa.func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS')
            # Python's isoformat() prints microseconds only when there are some, always six digits.
            frac = sa.case((sa.func.date_trunc("second", column) == column, ""), else_=sa.func.to_char(utc, ".US"))
            value: Any = sa.case((column.is_(None), sa.null()), else_=sa.func.concat(whole, frac, "+00:00"))
        elif isinstance(base, sa.Float):
            raise TypeError(f"{table.name}.{column.name}: floats print differently in Python and PostgreSQL")
        elif isinstance(base, (sa.Numeric, sa.Date, sa.Time, sa.Uuid)):
            value = sa.cast(column, sa.Text)
        elif isinstance(base, (sa.JSON, sa.Integer, sa.Boolean, sa.String)):
            value = column
        else:
            raise TypeError(f"{table.name}.{column.name}: no archive rendering for {base!r}")
        pairs += [sa.literal(column.name, sa.Text), value]
    return sa.cast(sa.func.jsonb_build_object(*pairs), sa.Text)


def _audit_prefix_end(cutoff: dt.datetime, lo: int, hi: int, state: dict) -> int:
    """Audit logs leave as their oldest contiguous prefix: the range ends before the first row
    that is too young or belongs to a held user, and the run stops there."""
    table = db.metadata.tables["audit_logs"]
    users = PlatformUser.__table__
    held = exists(select(1).where(users.c.legal_hold.is_(True), users.c.id == table.c.actor_id))
    blocker = db.session.scalar(
        select(func.min(table.c.id)).where(
            table.c.id > lo, table.c.id <= hi, sa.or_(table.c.created_at >= cutoff, held)
        )
    )
    if blocker is None:
        return hi
    state["range_done"] = True
    return blocker - 1


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_archive_manifest(archive: Path, state: dict, params: dict, run_id: int) -> dict[str, Any]:
    """The manifest, fsynced and renamed into place (with the directory entry) before the run is done."""
    body = {
        "file": archive.name,
        "sha256": _sha256(archive),
        "bytes": archive.stat().st_size,
        "rows": state["rows"],
        "first_id": state.get("first_id"),
        "last_id": state.get("archived_last_id"),
        "entity": params["entity"],
        "cutoff": params["cutoff"],
        "run_id": run_id,
        "archived_last_hash": state.get("archived_last_hash"),
        "written_at": utcnow().isoformat(),
    }
    manifest = manifest_path(archive)
    tmp = partial_path(manifest)
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(body, indent=2, sort_keys=True))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, manifest)
    folder = os.open(archive.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # both renames (archive and manifest) survive a power loss
    finally:
        os.close(folder)
    return {"archive": archive.name, "sha256": body["sha256"]}


def manifest_path(archive: Path) -> Path:
    return archive.with_name(archive.name.replace(".jsonl.gz", ".manifest.json"))


def verify_archive(archive: Path) -> list[str]:
    """Problems found checking an archive against its manifest (digest, size, rows, id order); [] when it holds.

    Diagnostics for operators and tests, in English like the CLI's other checks.
    """
    manifest = manifest_path(archive)
    if not archive.exists() or not manifest.exists():
        return [f"{archive.name}: archive or manifest missing"]
    body = json.loads(manifest.read_text())
    problems = []
    if _sha256(archive) != body.get("sha256"):
        problems.append("sha256 differs from the manifest")
    if archive.stat().st_size != body.get("bytes"):
        problems.append("size differs from the manifest")
    ids = []
    try:
        with gzip.open(archive, "rt", encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                try:
                    ids.append(json.loads(line)["id"])
                except (ValueError, KeyError, TypeError):
                    problems.append(f"line {n} is not a JSON row with an id")
                    break
    except (OSError, EOFError, zlib.error) as exc:
        problems.append(f"not a readable gzip stream: {exc}")
    if len(ids) != body.get("rows"):
        problems.append(f"{len(ids)} rows, the manifest says {body.get('rows')}")
    if any(b <= a for a, b in zip(ids, ids[1:], strict=False)):
        problems.append("row ids are not strictly increasing (a row archived twice?)")
    if ids and (ids[0] != body.get("first_id") or ids[-1] != body.get("last_id")):
        problems.append("first or last id differs from the manifest")
    return problems


def set_legal_hold(user_id: Any, held: bool, reason: str = "") -> PlatformUser:
    """Put a user under legal hold (or release them). Audited as an update plus an explicit event."""
    try:
        uid = uuid.UUID(str(user_id))
    except ValueError:
        raise RetentionError(_("%(value)s is not a user id", value=repr(user_id))) from None
    user = db.session.get(PlatformUser, uid)
    if user is None:
        raise RetentionError(_("no user %(id)s", id=uid))
    user.legal_hold = held
    db.session.flush()
    audit.record("legal_hold.set" if held else "legal_hold.release", "users", uid, {"reason": reason[:200]})
    db.session.commit()
    return user


def held_users(limit: int = 200) -> list[PlatformUser]:
    return list(db.session.scalars(select(PlatformUser).where(PlatformUser.legal_hold.is_(True)).limit(limit)))
