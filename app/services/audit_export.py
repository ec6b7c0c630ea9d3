"""Audit export: a verifiable file of audit rows for a time range and filters.

The request fixes the snapshot (``max_id``) when it is planned. The job streams
rows in batches (never all in memory; on PostgreSQL id ranges rendered, checked and
streamed by the database with COPY, see ``_pg_chunks``), appends each batch to a temporary
partial file in a hidden sibling folder (gzip: one gzip member per batch, so the file can be cut back to
any committed batch), fsyncs it and commits the checkpoint (last id, bytes, rows,
chain state) with the run. A rerun truncates the temporary file to the committed
size and carries on. Only a complete file is renamed into ``instance/exports/``;
its ``.manifest.json`` (SHA-256, rows, id range, first/last chain hash, whether
the chain verified, filters, requester, times) is renamed in last.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from isal import isal_zlib
from sqlalchemy import func, select

from app.extensions import db
from app.i18n import _l
from app.models.base import utcnow
from app.models.compliance import AuditLog
from app.models.jobs import JobRun, JobStatus
from app.services import audit
from app.services.jobs import JobContext, partial_path, start_job

KIND = "audit.export"
FORMATS = {"jsonl": "jsonl.gz", "csv": "csv"}
CSV_FIELDS = [
    "id", "created_at", "actor_id", "action", "resource_type", "resource_id",
    "metadata", "ip_address", "user_agent", "prev_hash", "row_hash",
]  # fmt: skip
MAX_FILTER = 100
GZIP_LEVEL = 1  # ISA-L: 8x smaller JSON lines at memcpy-like speed
_NO_HASH = "row is not chained (no hash)"
_BROKEN = "link broken: a row before it was deleted, or this row was inserted"
_CONTENT = "content does not match its hash"


class Row(NamedTuple):
    """One exported row: its chain fields, canonical text, whether its hash matched, its CSV cells."""

    id: int
    prev_hash: str | None
    row_hash: str | None
    canon: str
    hash_ok: bool
    csv: tuple


class ExportError(ValueError):
    """The export request is invalid; the message says why."""


def parse_when(raw: Any, name: str) -> dt.datetime:
    """ISO date or datetime (naive = UTC) -> aware UTC datetime."""
    if isinstance(raw, dt.datetime):
        value = raw
    else:
        text = str(raw or "").strip()
        if not text:
            raise ExportError(_("%(field)s: a date is required (YYYY-MM-DD or YYYY-MM-DDTHH:MM)", field=name))
        try:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ExportError(
                _(
                    "%(field)s: %(value)s is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)",
                    field=name,
                    value=repr(text),
                )
            ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def build_params(
    start: Any,
    end: Any,
    fmt: str,
    actor: str | None = None,
    action: str | None = None,
    resource_type: str | None = None,
) -> dict[str, Any]:
    """Validate an export request and return the job parameters (snapshot fixed now)."""
    since = parse_when(start, "from")
    until = parse_when(end, "to")
    if since >= until:
        raise ExportError(_("the 'from' time must be before the 'to' time"))
    if fmt not in FORMATS:
        raise ExportError(_("format must be one of %(choices)s", choices=", ".join(FORMATS)))
    actor_id = None
    if actor:
        try:
            actor_id = str(uuid.UUID(str(actor).strip()))
        except ValueError:
            raise ExportError(_("actor: %(value)s is not a user id (UUID)", value=repr(actor))) from None
    for name, value in (("action", action), ("resource type", resource_type)):
        if value and len(value) > MAX_FILTER:
            raise ExportError(_("%(field)s: at most %(n)s characters", field=name, n=MAX_FILTER))
    max_id = db.session.scalar(select(func.max(AuditLog.id))) or 0
    return {
        "from": since.isoformat(),
        "to": until.isoformat(),
        "format": fmt,
        "actor_id": actor_id,
        "action": (action or "").strip() or None,
        "resource_type": (resource_type or "").strip() or None,
        "max_id": max_id,
    }


def request_export(params: dict[str, Any], requested_by: uuid.UUID | None, enqueue: bool = True) -> JobRun:
    return start_job(KIND, params, queue="exports", requested_by=requested_by, enqueue=enqueue)


def exports_dir() -> Path:
    path = Path(current_app.config["EXPORTS_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_names(run_id: int, fmt: str) -> tuple[str, str, str]:
    final = f"audit-{run_id}.{FORMATS[fmt]}"
    return final, f"{final}.part", f"audit-{run_id}.manifest.json"


def paths(run_id: int, fmt: str) -> tuple[Path, Path, Path]:
    """The export's final file, its partial (temporary) file and its manifest."""
    final_name, _, manifest_name = file_names(run_id, fmt)
    directory = exports_dir()
    return directory / final_name, partial_path(directory / final_name), directory / manifest_name


def _filters(params: dict[str, Any]) -> list[Any]:
    """The request's WHERE clause, with named parameters (the batch statements are compiled apart and share them)."""
    table = AuditLog.__table__
    conds = [
        table.c.id <= sa.bindparam("max_id", params["max_id"], type_=sa.BigInteger),
        table.c.created_at >= sa.bindparam("since", parse_when(params["from"], "from"), type_=table.c.created_at.type),
        table.c.created_at < sa.bindparam("until", parse_when(params["to"], "to"), type_=table.c.created_at.type),
    ]
    if params.get("actor_id"):
        conds.append(table.c.actor_id == sa.bindparam("actor", uuid.UUID(params["actor_id"]), type_=sa.Uuid()))
    if params.get("action"):
        conds.append(table.c.action == sa.bindparam("action", params["action"], type_=sa.String()))
    if params.get("resource_type"):
        conds.append(table.c.resource_type == sa.bindparam("rtype", params["resource_type"], type_=sa.String()))
    return conds


def _unfiltered(params: dict[str, Any]) -> bool:
    return not (params.get("actor_id") or params.get("action") or params.get("resource_type"))


def _encode_batch(rows: list[Row], fmt: str) -> bytes:
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(r.csv for r in rows)
        return buf.getvalue().encode()
    # One JSON object per line: the canonical text the hash covers, plus id and row_hash.
    lines = "".join(
        f'{{"id":{r.id},"row_hash":{"null" if r.row_hash is None else chr(34) + r.row_hash + chr(34)},{r.canon[1:]}\n'
        for r in rows
    )
    return _gzip_member(lines.encode())


def run_export(ctx: JobContext) -> dict[str, Any]:
    params = ctx.params
    fmt = params["format"]
    batch_size = int(current_app.config.get("AUDIT_EXPORT_BATCH", 10000))
    final, part, manifest = paths(ctx.run_id, fmt)
    directory, final_name, manifest_name = final.parent, final.name, manifest.name
    state = dict(ctx.state)
    if not state.get("written"):
        state = _write_rows(ctx, params, part, batch_size, state)
    if part.exists():
        os.replace(part, final)
        _fsync_dir(directory)
    if not final.exists():
        raise RuntimeError(_l("export file %(file)s is missing after its rows were written", file=final_name))
    digest = _sha256(final)
    body = {
        "export_id": ctx.run_id,
        "file": final_name,
        "format": fmt,
        "sha256": digest,
        "bytes": final.stat().st_size,
        "rows": state["rows"],
        "first_id": state.get("first_id"),
        "last_id": state.get("last_id") or None,
        "first_hash": state.get("first_hash"),
        "last_hash": state.get("last_hash"),
        "chain_verified": state["chain_ok"],
        "chain_check": "links and content" if _unfiltered(params) else "content of each row (filtered export)",
        "chain_problem": state.get("chain_problem"),
        "filters": {k: params.get(k) for k in ("from", "to", "actor_id", "action", "resource_type")},
        "snapshot_max_id": params["max_id"],
        "requested_by": str(ctx.requested_by) if ctx.requested_by else None,
        "requested_at": state.get("requested_at"),
        "completed_at": utcnow().isoformat(),
    }
    tmp_manifest = partial_path(manifest)
    tmp_manifest.write_text(json.dumps(body, indent=2, sort_keys=True))
    os.replace(tmp_manifest, manifest)
    audit.record(
        "export.audit",
        "audit_logs",
        ctx.run_id,
        {
            "rows": state["rows"],
            "format": fmt,
            "sha256": digest,
            "chain_verified": state["chain_ok"],
            **body["filters"],
        },
    )
    ctx.commit(done=state["rows"], total=state["rows"])
    return {"file": final_name, "manifest": manifest_name, "rows": state["rows"], "sha256": digest}


def _write_rows(ctx: JobContext, params: dict, part: Path, batch_size: int, state: dict) -> dict[str, Any]:
    table = AuditLog.__table__
    conds = _filters(params)
    fmt = params["format"]
    if not state:
        total = db.session.scalar(select(func.count()).select_from(table).where(*conds)) or 0
        state = {
            "last_id": 0,
            "rows": 0,
            "bytes": 0,
            "chain_ok": True,
            "requested_at": utcnow().isoformat(),
            "total": total,
        }
        if fmt == "csv":
            part.write_bytes((",".join(CSV_FIELDS) + "\n").encode())
            state["bytes"] = part.stat().st_size
        else:
            part.write_bytes(b"")
        ctx.commit(done=0, total=total, checkpoint=state)
    if not part.exists():
        raise RuntimeError(_l("the temporary export file disappeared; start a new export"))
    anchors = audit.archive_anchors()
    linked = _unfiltered(params)
    with open(part, "r+b") as out:
        out.truncate(state["bytes"])
        out.seek(state["bytes"])
        prev = state.get("last_hash")
        if linked and state["last_id"] == 0:
            prev = db.session.scalar(
                select(table.c.row_hash).where(table.c.id < _first_id(conds)).order_by(table.c.id.desc()).limit(1)
            )
        if db.session.get_bind().dialect.name == "postgresql":
            for chunk in _pg_chunks(conds, state["last_id"], params["max_id"], batch_size, fmt, linked, anchors):
                if state["chain_ok"]:
                    problem = _first_link(chunk, prev, linked, anchors)
                    if problem or chunk.bad_id is not None:
                        state["chain_ok"] = False
                        state["chain_problem"] = problem or {"id": chunk.bad_id, "reason": chunk.bad_reason}
                prev = chunk.last_hash
                summary = (chunk.rows, chunk.first_id, chunk.last_id, chunk.first_hash, chunk.last_hash)
                _append(ctx, out, state, chunk.data, *summary)
        else:
            for rows in _batches(conds, state["last_id"], batch_size, fmt):
                for row in rows:
                    if state["chain_ok"]:
                        problem = _check(row, prev, linked, anchors)
                        if problem:
                            state["chain_ok"] = False
                            state["chain_problem"] = {"id": row.id, "reason": problem}
                    prev = row.row_hash
                summary = (len(rows), rows[0].id, rows[-1].id, rows[0].row_hash, rows[-1].row_hash)
                _append(ctx, out, state, _encode_batch(rows, fmt), *summary)
    state["written"] = True
    ctx.commit(done=state["rows"], checkpoint=state)
    return state


def _append(
    ctx: JobContext,
    out: Any,
    state: dict,
    data: bytes,
    rows: int,
    first_id: int | None,
    last_id: int | None,
    first_hash: str | None,
    last_hash: str | None,
) -> None:
    """Make one batch durable, then commit its checkpoint (a rerun truncates back to ``bytes``)."""
    out.write(data)
    out.flush()
    os.fsync(out.fileno())
    state["bytes"] += len(data)
    state["rows"] += rows
    state["last_id"] = last_id
    state["last_hash"] = last_hash
    state.setdefault("first_id", first_id)
    state.setdefault("first_hash", first_hash)
    ctx.commit(done=state["rows"], checkpoint=state)


def _gzip_member(data: bytes) -> bytes:
    """A complete gzip member per batch (so the file can be cut back to any batch).

    ISA-L level 1 compresses JSON lines about 5 times faster than zlib level 3, and smaller;
    it releases the GIL, so the fetching threads compress in parallel."""
    compressor = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


def _first_id(conds: list[Any]) -> int:
    table = AuditLog.__table__
    return db.session.scalar(select(func.min(table.c.id)).where(*conds)) or 0


def _first_link(chunk: Chunk, prev: str | None, linked: bool, anchors: set[str]) -> dict[str, Any] | None:
    """The link of a batch's first row to the previous batch (PostgreSQL checked the links inside it).

    A first row without a hash is reported by PostgreSQL itself, which checks that first."""
    if not linked or chunk.first_hash is None:
        return None
    if chunk.first_prev != prev and not (prev is None and chunk.first_prev in anchors):
        return {"id": chunk.first_id, "reason": _BROKEN}
    return None


def _check(row: Row, prev: str | None, linked: bool, anchors: set[str]) -> str | None:
    if row.row_hash is None:
        return _NO_HASH
    if linked and row.prev_hash != prev and not (prev is None and row.prev_hash in anchors):
        return _BROKEN
    if not row.hash_ok:
        return _CONTENT
    return None


def _batches(conds: list[Any], after: int, limit: int, fmt: str) -> Iterator[list[Row]]:
    """Keyset batches after ``after`` (SQLite: rows fetched and hashed in Python)."""
    while rows := _fetch(conds, after, limit, fmt):
        yield rows
        after = rows[-1].id


class Chunk(NamedTuple):
    """One PostgreSQL batch: the file bytes (compressed for JSONL), and its checked summary."""

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
# Raised by the checked COPY at the first row whose hash or link is wrong (a custom SQLSTATE,
# so no other error can pass for a chain problem). A temporary function: no schema object.
_PROBLEM_STATE = "CDA01"
_RAISE_PROBLEM = """CREATE OR REPLACE FUNCTION pg_temp.coachdesk_chain_problem(row_id bigint, reason text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'CDA01', MESSAGE = reason, DETAIL = row_id::text;
END $$"""


def _pg_chunks(
    conds: list[Any], after: int, stop: int, span: int, fmt: str, linked: bool, anchors: set[str]
) -> Iterator[Chunk]:
    """Batches of ``span`` consecutive ids after ``after`` (up to the snapshot's ``stop``), in id order.

    Each batch is one cheap summary query (count, chain ends) and one ``COPY (SELECT ...) TO
    STDOUT`` in which PostgreSQL builds every row's canonical text, checks its hash and its link
    to the row before it in the batch, and renders the file lines; a wrong row makes the COPY
    raise (``_PROBLEM_STATE``), and only then is the batch redone as a check query that names
    the first problem plus a COPY without the check. Python touches no row: it checks each
    batch's first link, and compresses (ISA-L, outside the GIL) in the fetching thread. Batches
    are id ranges, so they do not depend on each other: two read connections fetch and
    compress the next two batches while the caller writes the current one.
    """
    sql = _pg_sql(conds, fmt)
    iso = {"isolation_level": "REPEATABLE READ"}
    ranges = ((lo, min(lo + span, stop)) for lo in range(after, stop, span))
    with (
        db.engine.connect().execution_options(**iso) as one,
        db.engine.connect().execution_options(**iso) as two,
        ThreadPoolExecutor(2) as pool,
    ):
        raws = [one.connection.driver_connection, two.connection.driver_connection]
        for raw in raws:
            raw.execute(_RAISE_PROBLEM)
            raw.commit()

        def fetch(raw: Any, lo: int, hi: int) -> Chunk:
            params = {**sql.params, "after": lo, "hi": hi, "linked": linked, "anchors": sorted(anchors)}
            with raw.cursor() as cur:
                summary = cur.execute(sql.summary, params).fetchone()
                if summary is None:
                    return _EMPTY
                try:
                    data, problem = _copy(cur, sql.checked_copy, params), (None, None)
                except psycopg.Error as exc:
                    if exc.sqlstate != _PROBLEM_STATE:
                        raise
                    raw.rollback()
                    *summary, bad_id, bad_reason = cur.execute(sql.check, params).fetchone()
                    data, problem = _copy(cur, sql.plain_copy, params), (bad_id, bad_reason)
            return Chunk(data if fmt == "csv" else _gzip_member(_jsonl_lines(data)), *summary, *problem)

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


def _copy(cur: Any, statement: str, params: dict[str, Any]) -> bytes:
    with cur.copy(statement, params) as copy:
        return b"".join(bytes(block) for block in copy)


class BatchSQL(NamedTuple):
    """The statements of one batch (parameters: after, hi, linked, anchors, plus ``params``)."""

    summary: str
    checked_copy: str
    check: str
    plain_copy: str
    params: dict[str, Any]


# JSON lines leave PostgreSQL as they are: CSV format with a delimiter and quote that JSON text
# cannot hold raw (it escapes every control character), so no value is quoted or escaped. Each
# line leaves as two fields, the head ('{"id":..,"row_hash":..,') and the canonical text, which
# Python joins by dropping the delimiter and the canonical text's "{": PostgreSQL is spared
# building a second copy of every line.
_RAW_LINES = "(FORMAT csv, DELIMITER E'\\x1f', QUOTE E'\\x1e')"
_JSONL_FIELDS = """concat('{"id":', id, ',"row_hash":', coalesce(to_json(row_hash)::text, 'null'), ','), canon"""
_JSONL_JOINT = b",\x1f{"


def _jsonl_lines(data: bytes) -> bytes:
    return data.replace(_JSONL_JOINT, b",")


def _pg_sql(conds: list[Any], fmt: str) -> BatchSQL:
    table = AuditLog.__table__
    canon_row, canon = audit.canonical_sql(table)
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
    rows = (
        select(table.c.id, table.c.prev_hash, table.c.row_hash, canon.label("canon"))
        .select_from(table.join(canon_row, sa.true()))
        .where(*in_range)
    )
    # Same order and wording as _check(): no hash, then a broken link, then content. The first
    # row's link (to the previous batch) is checked by the caller.
    problem = f"""CASE
        WHEN row_hash IS NULL THEN '{_NO_HASH}'
        WHEN %(linked)s AND NOT first AND prev_hash IS DISTINCT FROM expected
             AND NOT (expected IS NULL AND coalesce(prev_hash = ANY(%(anchors)s::text[]), false))
             THEN '{_BROKEN}'
        WHEN encode(sha256(textsend(canon)), 'hex') IS DISTINCT FROM row_hash THEN '{_CONTENT}'
    END"""
    # Only constants and SQLAlchemy-compiled SQL are interpolated; values travel as parameters.
    checked = f"""(SELECT w.*, {problem} AS problem
        FROM (SELECT b.*, lag(row_hash) OVER o AS expected, lag(id) OVER o IS NULL AS first
              FROM ({compiled(rows)}) b WINDOW o AS (ORDER BY id)) w) x"""  # noqa: S608
    firsts = select(table.c.id, table.c.prev_hash, table.c.row_hash).where(*in_range)
    summary = f"""SELECT (SELECT count(*) FROM audit_logs WHERE {compiled(sa.and_(*in_range))}),
        f.prev_hash, f.id, l.id, f.row_hash, l.row_hash
        FROM ({compiled(firsts.order_by(table.c.id).limit(1))}) f,
             ({compiled(firsts.order_by(table.c.id.desc()).limit(1))}) l"""  # noqa: S608
    check = f"""
    SELECT count(*), (array_agg(prev_hash ORDER BY id))[1], min(id), max(id),
           (array_agg(row_hash ORDER BY id))[1], (array_agg(row_hash ORDER BY id DESC))[1],
           min(id) FILTER (WHERE problem IS NOT NULL),
           (array_agg(problem ORDER BY id) FILTER (WHERE problem IS NOT NULL))[1]
    FROM {checked}"""  # noqa: S608
    raise_at_problem = "WHERE problem IS NULL OR pg_temp.coachdesk_chain_problem(id, problem)"
    if fmt != "csv":
        # One pass: the canonical text is built once, for the line and for the check.
        checked_copy = (
            f"COPY (SELECT {_JSONL_FIELDS} FROM {checked} {raise_at_problem} ORDER BY id) TO STDOUT {_RAW_LINES}"  # noqa: S608,E501
        )
        plain_copy = f"COPY (SELECT {_JSONL_FIELDS} FROM ({compiled(rows)}) x ORDER BY id) TO STDOUT {_RAW_LINES}"  # noqa: S608,E501
        return BatchSQL(summary, checked_copy, check, plain_copy, params)

    def cells(created: Any) -> list[Any]:
        return [table.c.id, created, sa.cast(table.c.actor_id, sa.Text), table.c.action, table.c.resource_type,
                table.c.resource_id, sa.cast(table.c.metadata_json, sa.Text), table.c.ip_address,
                table.c.user_agent, table.c.prev_hash, table.c.row_hash]  # fmt: skip

    lines = compiled(select(*cells(audit.utc_text_sql(table.c.created_at))).where(*in_range).order_by(table.c.id))
    # The check rides along the CSV rows: same ids, same order, canonical text (and its UTC time) built once per row.
    cols = cells(canon_row.c.created_at)
    names = ", ".join(f"c{i}" for i in range(len(cols)))
    labelled = [c.label(f"c{i}") for i, c in enumerate(cols)]
    with_cells = (
        select(*labelled, canon.label("canon"), table.c.id, table.c.prev_hash, table.c.row_hash)
        .select_from(table.join(canon_row, sa.true()))
        .where(*in_range)
    )
    checked_cells = f"""(SELECT w.*, {problem} AS problem
        FROM (SELECT b.*, lag(row_hash) OVER o AS expected, lag(id) OVER o IS NULL AS first
              FROM ({compiled(with_cells)}) b WINDOW o AS (ORDER BY id)) w) x"""  # noqa: S608
    checked_copy = f"COPY (SELECT {names} FROM {checked_cells} {raise_at_problem} ORDER BY id) TO STDOUT (FORMAT csv)"  # noqa: S608,E501
    return BatchSQL(summary, checked_copy, check, f"COPY ({lines}) TO STDOUT (FORMAT csv)", params)


def _fetch(conds: list[Any], after: int, limit: int, fmt: str) -> list[Row]:
    """The next batch, hashed in Python (SQLite)."""
    table = AuditLog.__table__
    stmt = select(*[table.c[n] for n in audit.CHAIN_COLUMNS]).where(table.c.id > after, *conds)
    out = []
    for m in db.session.execute(stmt.order_by(table.c.id).limit(limit)).mappings():
        canon = audit.canonical(m)
        ok = hashlib.sha256(canon.encode()).hexdigest() == m["row_hash"]
        cells = _csv_cells(m["id"], audit.format_ts(m["created_at"]), m["actor_id"], m, m["metadata_json"])
        out.append(Row(m["id"], m["prev_hash"], m["row_hash"], canon, ok, cells))
    return out


def _csv_cells(row_id: int, ts: str, actor: Any, m: Any, meta: Any, raw_meta: bool = False) -> tuple:
    if meta is not None and not raw_meta:
        meta = audit.jsonb_text(meta)
    return (
        row_id, ts, actor or "", m["action"], m["resource_type"], m["resource_id"] or "", meta or "",
        m["ip_address"] or "", m["user_agent"] or "", m["prev_hash"] or "", m["row_hash"] or "",
    )  # fmt: skip


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def verify_export(manifest_path: Path) -> dict[str, Any]:
    """Check a file against its manifest: SHA-256 and row count. Returns the manifest."""
    body = json.loads(manifest_path.read_text())
    data = manifest_path.parent / body["file"]
    if _sha256(data) != body["sha256"]:
        raise ExportError(_("%(file)s: SHA-256 does not match the manifest", file=body["file"]))
    if count_rows(data, body["format"]) != body["rows"]:
        raise ExportError(_("%(file)s: row count does not match the manifest", file=body["file"]))
    return body


def read_rows(path: Path, fmt: str) -> list[dict[str, Any]]:
    import gzip

    if fmt == "csv":
        with open(path, newline="") as fh:
            return list(csv.DictReader(fh))
    with gzip.open(path, "rt") as fh:
        return [json.loads(line) for line in fh]


def count_rows(path: Path, fmt: str) -> int:
    return len(read_rows(path, fmt))


def export_file(run_id: int, which: str) -> tuple[JobRun, Path]:
    """The finished export's data file or manifest, for a download."""
    run = db.session.get(JobRun, run_id)
    if run is None or run.kind != KIND or run.status != JobStatus.SUCCEEDED or not run.result:
        raise ExportError(_("no finished export #%(id)s", id=run_id))
    name = run.result["manifest"] if which == "manifest" else run.result["file"]
    path = exports_dir() / name
    if not path.is_file():
        raise ExportError(_("the file of export #%(id)s is no longer there", id=run_id))
    return run, path


def record_download(run_id: int, which: str) -> None:
    audit.record("export.download", "audit_export", run_id, {"file": which}, commit=True)


__all__ = [
    "ExportError",
    "build_params",
    "request_export",
    "run_export",
    "verify_export",
    "export_file",
    "record_download",
]
