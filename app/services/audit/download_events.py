"""Data leaving the console: file downloads (audit exports, archives) and grid exports.

Both functions are called before any byte is sent; if one raises, the download
or export is refused. Each logs one structured line and writes an AuditLogs row
(actor, IP and user agent come from the request's audit context).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from app.services.audit import chain as audit

log = logging.getLogger("coachdesk.downloads")


def file_downloaded(
    *, user_id: int | None, area: str, relative_path: str, size_bytes: int, ip: str | None = None
) -> dict[str, object]:
    """Record that a console user downloaded ``relative_path`` from ``area``."""
    record: dict[str, object] = {
        "event": "file_downloaded",
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "user_id": user_id,
        "area": area,
        "path": relative_path,
        "size_bytes": size_bytes,
        "ip": ip,
    }
    log.info(json.dumps(record, sort_keys=True))
    audit.record("export.download", area, relative_path, {"path": relative_path, "size_bytes": size_bytes}, commit=True)
    return record


def grid_exported(
    *, user_id: int | None, grid: str, export_type: str, query: dict[str, Any], ip: str | None = None
) -> dict[str, object]:
    """Record that a console user exported a catalogue grid (with its search and filters)."""
    record: dict[str, object] = {
        "event": "grid_exported",
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "user_id": user_id,
        "grid": grid,
        "format": export_type,
        "query": {k: str(v)[:200] for k, v in sorted(query.items())},
        "ip": ip,
    }
    log.info(json.dumps(record, sort_keys=True))
    audit.record("export.grid", grid, None, {"format": export_type, "filters": sorted(query)}, commit=True)
    return record
