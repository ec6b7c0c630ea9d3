"""Verify the audit chain (the first row edited, deleted or inserted), and chain unchained rows.

On PostgreSQL the database checks each id range (``pg_check``, as the export does); on
SQLite Python checks each row (``check_row``); both name the first broken row the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select, text

from app.extensions import db
from app.i18n import N_
from app.models.compliance import AuditLog
from app.services.audit import checkpoints
from app.services.audit import pg_check as chain_check
from app.services.audit.chain import CHAIN_COLUMNS, archive_anchors, lock_chain, record, row_hash

FIRST = N_("first row does not start the chain nor continue an archived segment")
# The database's reasons (as export manifests name them), in check_row's words.
WORDS = {
    chain_check.NO_HASH: N_("row is not chained (no hash): inserted outside the audit service"),
    chain_check.BROKEN: N_("link broken: the row before it was deleted, or this row was inserted"),
    chain_check.CONTENT: N_("content does not match its hash: the row was edited"),
}
# check_row's words, as export manifests name them.
MANIFEST_REASONS = {**{v: k for k, v in WORDS.items()}, FIRST: chain_check.BROKEN}


@dataclass
class VerifyReport:
    ok: bool
    rows: int
    first_bad_id: int | None = None
    reason: str | None = None
    last_hash: str | None = None


def check_row(row: dict[str, Any], expected_prev: str | None, first: bool, anchors: set[str]) -> str | None:
    """Why ``row`` breaks the chain (English, marked: translate it where it is shown), or None."""
    if row["row_hash"] is None:
        return N_("row is not chained (no hash): inserted outside the audit service")
    if first:
        if row["prev_hash"] is not None and row["prev_hash"] not in anchors:
            return FIRST
    elif row["prev_hash"] != expected_prev:
        return N_("link broken: the row before it was deleted, or this row was inserted")
    if row_hash(row) != row["row_hash"]:
        return N_("content does not match its hash: the row was edited")
    return None


def iter_rows(batch: int = 5000, where: Any = None) -> Iterator[dict[str, Any]]:
    """Audit rows in id order, in keyset batches (never all in memory)."""
    table = AuditLog.__table__
    cols = [table.c[name] for name in CHAIN_COLUMNS]
    last = 0
    while True:
        stmt = select(*cols).where(table.c.id > last).order_by(table.c.id).limit(batch)
        if where is not None:
            stmt = stmt.where(where)
        rows = db.session.execute(stmt).mappings().all()
        if not rows:
            return
        for row in rows:
            yield dict(row)
        last = rows[-1]["id"]


Progress = Callable[[int, int], None]


def verify_chain(batch: int = 10000, progress: Progress | None = None) -> VerifyReport:
    """Check every row's hash and link, in id order, up to the last row when it starts, then the chain
    against the signed checkpoints (truncation, recomputation, a forged anchor).

    On PostgreSQL the database checks each id range (``chain_check``, as the export does), on
    SQLite Python does (``check_row``); both name the first broken row the same way.
    ``progress(done, total)`` follows the rows checked."""
    table = AuditLog.__table__
    stop, total = db.session.execute(select(sa.func.max(table.c.id), sa.func.count())).one()
    report = verify_range(0, stop or 0, batch, progress, total)
    if report.ok:
        # Links and hashes hold; the signed checkpoints say whether rows were cut off or recomputed.
        problems = checkpoints.check()
        if problems:
            return VerifyReport(False, report.rows, None, "; ".join(problems), report.last_hash)
    return report


def verify_range(
    after: int, stop: int, batch: int = 10000, progress: Progress | None = None, total: int | None = None
) -> VerifyReport:
    """Check the rows with ``after < id <= stop`` whole: hashes, links between them, and the link of
    the first to the row before it (or, with none before, to an archive anchor).

    A filtered or date-bounded export checks its id span this way: ids and creation times need not
    be in the same order (backdated rows, clock skew), so only the whole span says the chain holds."""
    table = AuditLog.__table__
    if total is None:
        total = db.session.scalar(select(sa.func.count()).where(table.c.id > after, table.c.id <= stop)) or 0
    if progress:
        progress(0, total)
    prev = db.session.scalar(select(table.c.row_hash).where(table.c.id <= after).order_by(table.c.id.desc()).limit(1))
    if db.session.get_bind().dialect.name == "postgresql":
        return _verify_in_database(after, stop, batch, total, progress, prev)
    anchors = archive_anchors()
    count = 0
    for row in iter_rows(batch, where=sa.and_(table.c.id > after, table.c.id <= stop)):
        problem = check_row(row, prev, prev is None and count == 0, anchors)
        if problem:
            return VerifyReport(False, count, row["id"], problem, prev)
        prev = row["row_hash"]
        count += 1
        if progress and count % batch == 0:
            progress(count, total)
    if progress:
        progress(count, total)
    return VerifyReport(True, count, None, None, prev)


def _verify_in_database(
    after: int, stop: int, span: int, total: int, progress: Progress | None, prev: str | None
) -> VerifyReport:
    table = AuditLog.__table__
    words = WORDS
    anchors = archive_anchors()
    starts = prev is None
    count = 0
    for chunk in chain_check.batches([], after, stop, span, chain_check.check_only(), linked=True):
        if chain_check.first_link(chunk, prev, True, anchors if starts and count == 0 else set()):
            reason = FIRST if starts and count == 0 else words[chain_check.BROKEN]
            return VerifyReport(False, count, chunk.first_id, reason, prev)
        if chunk.bad_id is not None:
            before = select(table.c.id, table.c.row_hash).where(table.c.id < chunk.bad_id, table.c.id >= chunk.first_id)
            rows = db.session.execute(before.order_by(table.c.id.desc())).all()
            last = rows[0].row_hash if rows else prev
            return VerifyReport(False, count + len(rows), chunk.bad_id, words[chunk.bad_reason], last)
        prev = chunk.last_hash
        count += chunk.rows
        if progress:
            progress(count, total)
    return VerifyReport(True, count, None, None, prev)


def rechain() -> int:
    """Chain rows written without hashes (bulk demo seeding), from the first such row on. Audited."""
    table = AuditLog.__table__
    first = db.session.scalar(select(sa.func.min(table.c.id)).where(table.c.row_hash.is_(None)))
    if first is None:
        return 0
    conn = db.session.connection()
    lock_chain(conn)
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL coachdesk.maintenance = 'on'"))
    prev = conn.execute(
        select(table.c.row_hash).where(table.c.id < first).order_by(table.c.id.desc()).limit(1)
    ).scalar()
    count = 0
    for row in iter_rows(where=table.c.id >= first):
        row["prev_hash"] = prev
        prev = row_hash(row)
        conn.execute(sa.update(table).where(table.c.id == row["id"]).values(prev_hash=row["prev_hash"], row_hash=prev))
        count += 1
    record("audit.rechain", "audit_logs", first, {"rows": count})
    db.session.commit()
    return count
