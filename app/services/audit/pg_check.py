"""The audit chain checked by PostgreSQL, one id range per query: for exports and ``flask audit verify``.

Each batch is one query that returns one row: the batch's summary (count, chain ends, the
first row whose hash or link is wrong) and, for an export, its whole file text, lines
joined by ``string_agg``. PostgreSQL builds every row's canonical text, checks its hash and
its link to the row before it in the batch, and renders the lines; Python touches no row
(a COPY would hand it one message per row): it checks each batch's first link
(``first_link``). Batches are id ranges, so they do not depend on each other: two read
connections fetch the next two batches while the caller handles the current one.

On SQLite the callers check rows in Python (``verify.check_row``, the export's ``_check``),
with the same reasons.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import select

from app.extensions import db
from app.models.compliance import AuditLog
from app.services.audit import chain as audit

# Why a row breaks the chain, as the export manifest names it (English; ``flask audit verify``
# words them its own way, see ``verify.verify_chain``).
NO_HASH = "row is not chained (no hash)"
BROKEN = "link broken: a row before it was deleted, or this row was inserted"
CONTENT = "content does not match its hash"


class Rendering(NamedTuple):
    """What a batch renders besides its check: a LATERAL row to join, the file line (or None,
    to check only), extra columns, and the SQL of the canonical bytes the hash covers."""

    lateral: Any
    line: Any | None
    extra: list[Any]
    content: str


def check_only() -> Rendering:
    lateral, canon = audit.canonical_sql(AuditLog.__table__)
    return Rendering(lateral, None, [canon.label("canon")], "textsend(canon)")


class Chunk(NamedTuple):
    """One batch: its file bytes (after ``finish``; empty when only checked), and its checked summary."""

    data: bytes
    rows: int
    first_prev: str | None
    first_id: int | None
    last_id: int | None
    first_hash: str | None
    last_hash: str | None
    bad_id: int | None
    bad_reason: str | None


_EMPTY = Chunk(b"", 0, None, None, None, None, None, None, None)


class BatchSQL(NamedTuple):
    """The statements of one batch (parameters: after, hi, linked, plus ``params``)."""

    batch: str  # count, first prev_hash, first id, last id, first and last row_hash, first bad id, the lines
    reason: str  # the problem of row %(bad)s
    params: dict[str, Any]


def batches(
    conds: list[Any],
    after: int,
    stop: int,
    span: int,
    rendering: Rendering,
    linked: bool,
    finish: Callable[[bytes], bytes] | None = None,
) -> Iterator[Chunk]:
    """Batches of ``span`` consecutive ids after ``after`` (up to ``stop``) that match ``conds``, in id order.

    ``linked``: check each row's link to the row before it (an unfiltered range); ``finish``
    turns a batch's text into its file bytes (gzip) in the fetching thread, outside the GIL.
    """
    sql = batch_sql(conds, rendering)
    iso = {"isolation_level": "REPEATABLE READ"}
    ranges = ((lo, min(lo + span, stop)) for lo in range(after, stop, span))
    with (
        db.engine.connect().execution_options(**iso) as one,
        db.engine.connect().execution_options(**iso) as two,
        ThreadPoolExecutor(2) as pool,
    ):
        raws = [one.connection.driver_connection, two.connection.driver_connection]

        def fetch(raw: Any, lo: int, hi: int) -> Chunk:
            params = {**sql.params, "after": lo, "hi": hi, "linked": linked}
            with raw.cursor(binary=True) as cur:
                # Not prepared: a generic plan cannot see that the time range matches the whole id
                # range and scans the created_at index of the whole table for every batch.
                *summary, bad_id, text = cur.execute(sql.batch, params, prepare=False).fetchone()
                if not summary[0]:
                    return _EMPTY
                reason = None
                if bad_id is not None:
                    reason = cur.execute(sql.reason, {**params, "bad": bad_id}, prepare=False).fetchone()[0]
            data = b"" if text is None else text + b"\n"
            return Chunk(finish(data) if finish else data, *summary, bad_id, reason)

        pending = deque(pool.submit(fetch, raws[i], *r) for i, r in zip(range(2), ranges, strict=False))
        turn = 0
        while pending:
            chunk = pending.popleft().result()
            following = next(ranges, None)
            if following is not None:
                pending.append(pool.submit(fetch, raws[turn % 2], *following))
            turn += 1
            if chunk.rows:
                yield chunk
        one.rollback()
        two.rollback()


def first_link(chunk: Chunk, prev: str | None, linked: bool, anchors: set[str]) -> str | None:
    """Why a batch's first row does not link to ``prev`` (the row before the batch), or None.

    Inside a batch PostgreSQL checked the links; a first row without a hash is reported by
    PostgreSQL itself, which checks that first. With no row before (``prev`` None), the row
    may continue an archived segment (``anchors``)."""
    if not linked or chunk.first_hash is None:
        return None
    if chunk.first_prev != prev and not (prev is None and chunk.first_prev in anchors):
        return BROKEN
    return None


def batch_sql(conds: list[Any], rendering: Rendering) -> BatchSQL:
    table = AuditLog.__table__
    in_range = [
        table.c.id > sa.bindparam("after", type_=sa.BigInteger),
        table.c.id <= sa.bindparam("hi", type_=sa.BigInteger),
        *conds,
    ]
    dialect = db.engine.dialect

    def compiled(stmt: Any) -> str:
        text = stmt.compile(dialect=dialect)
        for key, value in text.params.items():
            if key not in ("after", "hi") and params.setdefault(key, value) != value:
                raise RuntimeError(f"two values for the batch parameter {key!r}")  # would mix up statements
        return str(text)

    params: dict[str, Any] = {}
    line = [] if rendering.line is None else [sa.func.textsend(rendering.line).label("line")]
    rows = (
        select(table.c.id, table.c.prev_hash, table.c.row_hash, *line, *rendering.extra)
        .select_from(table.join(rendering.lateral, sa.true()))
        .where(*in_range)
    )
    # No hash, then a broken link, then content (the order of verify.check_row). A row with no
    # row before it in the batch (expected is NULL: the first row, or one after a row with no
    # hash, which is itself the first problem) has its link checked by the caller.
    problem = f"""CASE
        WHEN row_hash IS NULL THEN '{NO_HASH}'
        WHEN %(linked)s AND prev_hash IS DISTINCT FROM expected AND expected IS NOT NULL THEN '{BROKEN}'
        WHEN encode(sha256({rendering.content}), 'hex') IS DISTINCT FROM row_hash THEN '{CONTENT}'
    END"""
    # Only constants and SQLAlchemy-compiled SQL are interpolated; values travel as parameters.
    # The sorted subquery is not flattened, so each row's problem is worked out once, and the
    # aggregates read it already in id order.
    checked = f"""(SELECT w.*, {problem} AS problem
        FROM (SELECT b.*, lag(row_hash) OVER (ORDER BY id) AS expected FROM ({compiled(rows)}) b) w
        ORDER BY id) x"""  # noqa: S608
    lines = "string_agg(line, '\\x0a'::bytea ORDER BY id)" if line else "NULL::bytea"
    # The chain ends are read back by id (two index lookups), not tracked row by row.
    batch = f"""SELECT a.n, f.prev_hash, a.first_id, a.last_id, f.row_hash, l.row_hash, a.bad_id, a.lines
        FROM (SELECT count(*) AS n, min(id) AS first_id, max(id) AS last_id,
                     min(id) FILTER (WHERE problem IS NOT NULL) AS bad_id, {lines} AS lines
              FROM {checked}) a
        LEFT JOIN audit_logs f ON f.id = a.first_id
        LEFT JOIN audit_logs l ON l.id = a.last_id"""  # noqa: S608
    reason = f"SELECT problem FROM {checked} WHERE id = %(bad)s"  # noqa: S608
    return BatchSQL(batch, reason, params)


__all__ = ["NO_HASH", "BROKEN", "CONTENT", "Rendering", "check_only", "Chunk", "batches", "first_link", "batch_sql"]
