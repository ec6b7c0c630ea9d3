"""Streamed CSV export of a scoped, filtered list.

``export_started`` is the hook point for auditing: it is sent once per export,
before the first row, with the resource, the acting console user and a
description of the filters; connect a receiver to record it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from blinker import Namespace

_signals = Namespace()
export_started = _signals.signal("coachdesk.csv-export-started")

# Cells starting with these are evaluated as formulas by spreadsheets (CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value


def stream_csv(
    header: Sequence[str], rows: Iterable[Any], cells: Callable[[Any], Sequence[str]], chunk_rows: int = 500
) -> Iterator[str]:
    """Yield CSV text in chunks of ``chunk_rows`` rows; memory stays flat whatever the row count."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(h) for h in header])
    pending = 1
    for row in rows:
        writer.writerow([safe_cell(c) for c in cells(row)])
        pending += 1
        if pending >= chunk_rows:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if buffer.tell():
        yield buffer.getvalue()
