"""Audit export: a verifiable file of audit rows for a time range and filters.

The request fixes the snapshot (``max_id``) when it is planned. The job streams
rows in batches (never all in memory; on PostgreSQL id ranges rendered and checked by
the database, one query per batch, see ``chain_check``), appends each batch to a temporary
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
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

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
from app.services import spreadsheet_safety
from app.services.artifacts import ResumableFile, partial_path, publish, sha256, write_manifest
from app.services.audit import chain as audit
from app.services.audit import pg_check as chain_check
from app.services.audit import signing, verify
from app.services.jobs.context import JobContext
from app.services.jobs.runs import start_job
from app.services.timezones import as_local

KIND = "audit.export"
FORMATS = {"jsonl": "jsonl.gz", "csv": "csv"}
CSV_FIELDS = [
    "id", "created_at", "actor_id", "action", "resource_type", "resource_id",
    "metadata", "ip_address", "user_agent", "prev_hash", "row_hash",
]  # fmt: skip
MAX_FILTER = 100
GZIP_LEVEL = 1  # ISA-L: 8x smaller JSON lines at memcpy-like speed


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


def parse_when(raw: Any, name: str, zone: dt.tzinfo | None = None, day_end: bool = False) -> dt.datetime:
    """ISO date or datetime -> aware UTC datetime. A naive value is wall time in ``zone`` (UTC if
    none); a bare date is its midnight, or with ``day_end`` the next midnight (the day included)."""
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
        if day_end and _is_bare_date(text):
            value += dt.timedelta(days=1)
    if value.tzinfo is None:
        value = as_local(value, zone or dt.UTC)
    return value.astimezone(dt.UTC)


def _is_bare_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def build_params(
    start: Any,
    end: Any,
    fmt: str,
    actor: str | None = None,
    action: str | None = None,
    resource_type: str | None = None,
    zone: dt.tzinfo | None = None,
) -> dict[str, Any]:
    """Validate an export request and return the job parameters (snapshot fixed now).

    Times without an offset are read in ``zone`` (the viewer's; UTC from the CLI); a bare 'to'
    date includes that whole day. The parameters hold the UTC instants."""
    since = parse_when(start, "from", zone)
    until = parse_when(end, "to", zone, day_end=True)
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


def _encode_batch(rows: list[Row], fmt: str) -> bytes:
    """A batch's file bytes, as PostgreSQL renders them (``_rendering``), for SQLite."""
    if fmt == "csv":
        return "".join(",".join(r.csv) + "\n" for r in rows).encode()
    # One JSON object per line: id and row_hash, then the canonical text the hash covers.
    lines = "".join(f'{{"id":{r.id},"row_hash":{json.dumps(r.row_hash)},{r.canon[1:]}\n' for r in rows)
    return _gzip_member(lines.encode())


def run_export(ctx: JobContext) -> dict[str, Any]:
    params = ctx.params
    fmt = params["format"]
    batch_size = int(current_app.config.get("AUDIT_EXPORT_BATCH", 10000))
    final, part, manifest = paths(ctx.run_id, fmt)
    final_name, manifest_name = final.name, manifest.name
    state = dict(ctx.state)
    if not state.get("written"):
        state = _write_rows(ctx, params, part, batch_size, state)
    if part.exists():
        publish(part, final)
    if not final.exists():
        raise RuntimeError(_l("export file %(file)s is missing after its rows were written", file=final_name))
    # Hashed as it was written; a file that is not the size the rows left is read again.
    digest = state.get("sha256") if final.stat().st_size == state["bytes"] else None
    digest = digest or sha256(final)
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
        "chain_check": "links and content of every row from first_id to last_id; the file holds those that match",
        "chain_problem": state.get("chain_problem"),
        "filters": {k: params.get(k) for k in ("from", "to", "actor_id", "action", "resource_type")},
        "snapshot_max_id": params["max_id"],
        "requested_by": str(ctx.requested_by) if ctx.requested_by else None,
        "requested_at": state.get("requested_at"),
        "completed_at": utcnow().isoformat(),
    }
    body = signing.sign({**body, "public_key": signing.public_key_hex()})
    write_manifest(manifest, body)
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
    return {
        "file": final_name,
        "manifest": manifest_name,
        "rows": state["rows"],
        "sha256": digest,
        "chain_verified": state["chain_ok"],
        "chain_problem": state.get("chain_problem"),
    }


def _write_rows(ctx: JobContext, params: dict, part: Path, batch_size: int, state: dict) -> dict[str, Any]:
    table = AuditLog.__table__
    conds = _filters(params)
    fmt = params["format"]
    if not state:
        total, first, last = db.session.execute(
            select(func.count(), func.min(table.c.id), func.max(table.c.id)).where(*conds)
        ).one()
        state = {
            "last_id": 0,
            "span": [first - 1, last] if total else [0, 0],  # the ids the batches walk (only those that match)
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
    # The file pass checks each row's content; the links are checked over the whole id span after it.
    # The file's SHA-256 grows with each batch, so no second pass reads the file back.
    with ResumableFile(part, state["bytes"], hashed=True) as out:
        if db.session.get_bind().dialect.name == "postgresql":
            after, stop = state.get("span", [0, params["max_id"]])
            finish = None if fmt == "csv" else _gzip_member
            lo = max(state["last_id"], after)
            for chunk in chain_check.batches(conds, lo, stop, batch_size, _rendering(fmt), False, finish):
                if state["chain_ok"] and chunk.bad_id is not None:
                    state["chain_ok"] = False
                    state["chain_problem"] = {"id": chunk.bad_id, "reason": chunk.bad_reason}
                summary = (chunk.rows, chunk.first_id, chunk.last_id, chunk.first_hash, chunk.last_hash)
                _append(ctx, out, state, chunk.data, *summary)
        else:
            for rows in _batches(conds, state["last_id"], batch_size, fmt):
                for row in rows:
                    problem = _check(row)
                    if state["chain_ok"] and problem:
                        state["chain_ok"] = False
                        state["chain_problem"] = {"id": row.id, "reason": problem}
                summary = (len(rows), rows[0].id, rows[-1].id, rows[0].row_hash, rows[-1].row_hash)
                _append(ctx, out, state, _encode_batch(rows, fmt), *summary)
    if state["rows"]:
        _verify_span(state)
    state["written"] = True
    state["sha256"] = out.hexdigest()
    ctx.commit(done=state["rows"], checkpoint=state)
    return state


def _verify_span(state: dict[str, Any]) -> None:
    """Check the chain over the export's whole id span (its first to its last id, every row between).

    The file holds only the rows that match the filters; ids and creation times need not be in the
    same order (backdated rows, clock skew), so links are checked over the span, not the file."""
    report = verify.verify_range(state["first_id"] - 1, state["last_id"])
    state["span_rows"] = report.rows if report.ok else None
    if not report.ok:  # the span holds the file's rows: its first problem comes first
        state["chain_ok"] = False
        reason = verify.MANIFEST_REASONS.get(report.reason or "", report.reason)
        state["chain_problem"] = {"id": report.first_bad_id, "reason": reason}


def _append(
    ctx: JobContext,
    out: ResumableFile,
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


def _check(row: Row) -> str | None:
    if row.row_hash is None:
        return chain_check.NO_HASH
    if not row.hash_ok:
        return chain_check.CONTENT
    return None


def _batches(conds: list[Any], after: int, limit: int, fmt: str) -> Iterator[list[Row]]:
    """Keyset batches after ``after`` (SQLite: rows fetched and hashed in Python)."""
    while rows := _fetch(conds, after, limit, fmt):
        yield rows
        after = rows[-1].id


def _csv_text(column: Any) -> Any:
    """A spreadsheet-safe CSV cell, always quoted (as ``_csv_quote``); NULL is an empty, unquoted cell.
    Constants inline."""
    quote = sa.literal_column("'\"'")
    safe = spreadsheet_safety.neutralise_sql(column)
    cell = quote.concat(sa.func.replace(safe, quote, sa.literal_column("'\"\"'"))).concat(quote)
    return sa.func.coalesce(cell, sa.literal_column("''"))


def _csv_quote(value: Any) -> str:
    """Text cells are for spreadsheets: neutralised (``spreadsheet_safety``); the JSONL file keeps values as stored."""
    return "" if value is None else '"' + spreadsheet_safety.neutralise(str(value)).replace('"', '""') + '"'


def _rendering(fmt: str) -> chain_check.Rendering:
    """The file lines PostgreSQL renders beside the chain check (SQLite: ``_encode_batch``, the same bytes)."""
    table = AuditLog.__table__
    if fmt == "csv":
        # The file's cells, and beside them the canonical text the check hashes (its UTC time built once).
        lateral, canon = audit.canonical_sql(table)
        # A JSON null is an empty cell, as SQLite's driver (which reads it as None) writes it.
        metadata = sa.cast(sa.func.nullif(table.c.metadata_json, sa.literal_column("'null'::jsonb")), sa.Text)
        cells = [
            sa.cast(table.c.id, sa.Text),
            lateral.c.created_at,
            sa.func.coalesce(sa.cast(table.c.actor_id, sa.Text), sa.literal_column("''")),
            *(_csv_text(c) for c in (table.c.action, table.c.resource_type, table.c.resource_id,
                                     metadata, table.c.ip_address, table.c.user_agent,
                                     table.c.prev_hash, table.c.row_hash)),
        ]  # fmt: skip
        line = sa.func.concat_ws(sa.literal_column("','"), *cells)
        return chain_check.Rendering(lateral, line, [canon.label("canon")], "textsend(canon)")
    # One row_to_json is both the line and (all but its head) the canonical text.
    lateral, line = audit.line_sql(table)
    return chain_check.Rendering(lateral, line, [], audit.canonical_in_line_sql("line", "id"))


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


def _csv_cells(row_id: int, ts: str, actor: Any, m: Any, meta: Any) -> tuple[str, ...]:
    """Id, time and actor as they are; every other cell quoted (``_csv_text`` in SQL)."""
    texts = (m["action"], m["resource_type"], m["resource_id"], None if meta is None else audit.jsonb_text(meta),
             m["ip_address"], m["user_agent"], m["prev_hash"], m["row_hash"])  # fmt: skip
    return (str(row_id), ts, str(actor) if actor else "", *(_csv_quote(t) for t in texts))


def verify_export(manifest_path: Path) -> dict[str, Any]:
    """Check a file against its manifest: the manifest's signature (this app's key), SHA-256, row count."""
    body = json.loads(manifest_path.read_text())
    if not signing.verify(body):
        raise ExportError(_("%(file)s: the manifest's signature does not verify", file=manifest_path.name))
    data = manifest_path.parent / body["file"]
    if sha256(data) != body["sha256"]:
        raise ExportError(_("%(file)s: SHA-256 does not match the manifest", file=body["file"]))
    if count_rows(data, body["format"]) != body["rows"]:
        raise ExportError(_("%(file)s: row count does not match the manifest", file=body["file"]))
    return body


def manifest_for(path: Path) -> Path:
    """An export's manifest, given the manifest or its data file (``audit-<id>.<ext>``)."""
    if path.name.endswith(".manifest.json"):
        return path
    run_id = path.name.split(".", 1)[0]
    return path.with_name(f"{run_id}.manifest.json")


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
