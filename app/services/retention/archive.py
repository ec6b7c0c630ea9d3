"""The retention archive file: one JSON line per row, gzip members, and a manifest beside it.

A run appends each batch's lines as one gzip member (so the file is a valid gzip stream after
any checkpoint) to its partial file; at the end the file is renamed into ``instance/archive/``
next to its manifest (SHA-256, size, rows, id range, the audit chain's last archived hash).
``verify_archive`` checks one against the other. PostgreSQL renders the lines itself
(``archive_line_sql``) exactly as Python does (``archive_line``), so an archive reads the same
whichever backend wrote it.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from isal import isal_zlib

from app.models.base import utcnow
from app.services.artifacts import sha256, write_manifest
from app.services.audit import chain as audit

ARCHIVE_GZIP_LEVEL = 2  # ISA-L (0-3)


def archive_dir() -> Path:
    path = Path(current_app.config["ARCHIVE_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def archive_path(table: str, run_id: int) -> Path:
    return archive_dir() / f"{table}-{run_id}.jsonl.gz"


def manifest_path(archive: Path) -> Path:
    return archive.with_name(archive.name.replace(".jsonl.gz", ".manifest.json"))


def gzip_lines(lines: str) -> bytes:
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


def write_archive_manifest(archive: Path, state: dict, params: dict, run_id: int) -> dict[str, Any]:
    """The manifest, fsynced and renamed into place (with the directory entry) before the run is done."""
    body = {
        "file": archive.name,
        "sha256": sha256(archive),
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
    write_manifest(manifest_path(archive), body)
    return {"archive": archive.name, "sha256": body["sha256"]}


def verify_archive(archive: Path) -> list[str]:
    """Problems found checking an archive against its manifest (digest, size, rows, id order); [] when it holds.

    Diagnostics for operators and tests, in English like the CLI's other checks.
    """
    manifest = manifest_path(archive)
    if not archive.exists() or not manifest.exists():
        return [f"{archive.name}: archive or manifest missing"]
    body = json.loads(manifest.read_text())
    problems = []
    if sha256(archive) != body.get("sha256"):
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
