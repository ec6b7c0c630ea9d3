"""File downloads from the console's file browsers (audit exports, archives).

``file_downloaded`` is called before a file is sent; if it raises, the download
is refused. For now it logs one structured line; the audit trail will also
write an AuditLogs row here.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

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
    return record
