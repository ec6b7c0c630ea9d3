"""The ARCHIVE strategy's batch: a range's rows are on disk before they are deleted.

Rows are read (rendered and joined by PostgreSQL, so Python handles no row), appended as a
gzip member to the run's partial file and fsynced, then exactly those row versions are
deleted in the range's short transaction, so no row is gone before it is on disk and no row
lock is held during file I/O. Audit logs leave as a contiguous oldest prefix (the chain stays
verifiable: each batch records the last archived hash as an anchor, in the same transaction).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, exists, func, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by

from app.extensions import db
from app.models.identity import PlatformUser
from app.services.artifacts import ResumableFile
from app.services.audit import chain as audit
from app.services.batching import RetryBatch, Tuning, batch_settings
from app.services.retention.archive import archive_line, archive_line_sql, gzip_lines
from app.services.retention.policies import RetentionEntity, X
from app.services.retention.strategies import range_conds


class RowsChanged(RetryBatch):
    """Between reading an ARCHIVE range and deleting it, another writer changed or added a row in it."""


def archive_batch(
    spec: RetentionEntity, cutoff: dt.datetime, state: dict, lo: int, hi: int, part: ResumableFile, tuning: Tuning,
    locked: bool = False,
) -> int:  # fmt: skip
    """ARCHIVE one key range: its rows are on disk before they are deleted, and no file I/O
    happens while they are locked.

    On PostgreSQL: (1) read the range's rows (expired, not held), rendered as lines by the
    database, with each row version's ``xmin``, and end that read-only transaction; (2) write
    them as one gzip member after the checkpoint's byte count and fsync; (3) in one short
    transaction, ``DELETE`` the range under the same conditions ``RETURNING id, xmin`` and
    commit it with the checkpoint (the caller). If the deleted versions are not exactly the
    ones written (a writer changed or added a row in between), ``RowsChanged`` rolls the
    batch back and the caller retries it; the retry overwrites the same bytes. After repeated
    changes (``locked``), and on SQLite, the batch instead deletes ``RETURNING`` the rows and
    writes and fsyncs them before its commit, holding the rows' locks meanwhile.

    A crash before the commit keeps the rows; the rerun truncates the file to the checkpoint's
    byte count and archives them again.
    """
    table = spec.sa_table
    pg = db.session.connection().dialect.name == "postgresql"  # next_range applied the batch settings
    if spec.table == "audit_logs":
        hi = audit_prefix_end(cutoff, lo, hi, state)
    conds = range_conds(spec, X, cutoff, lo, hi)
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
    blob = gzip_lines(batch.lines)
    part.write(blob, at=state["bytes"])
    if batch.versions is not None:
        batch_settings(tuning)
        _maintenance(spec)
        gone = delete(table).where(*conds).returning(table.c.id, _row_version(table)).cte("gone")
        if db.session.scalar(select(_versions(gone.c.id, gone.c._v))) != batch.versions:
            raise RowsChanged()
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


def audit_prefix_end(cutoff: dt.datetime, lo: int, hi: int, state: dict) -> int:
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
