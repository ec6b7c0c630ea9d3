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

from app.services.spreadsheet_safety import numeric_column, safe_cell

_signals = Namespace()
export_started = _signals.signal("coachdesk.csv-export-started")


def stream_csv(
    header: Sequence[str],
    rows: Iterable[Any],
    cells: Callable[[Any], Sequence[Any]],
    chunk_rows: int = 500,
    numeric: Sequence[bool] = (),
) -> Iterator[str]:
    """Yield CSV text in chunks of ``chunk_rows`` rows; memory stays flat whatever the row count.

    Every cell goes through ``spreadsheet_safety.safe_cell``; ``numeric`` flags, per column, the
    columns whose SQL type is numeric (``numeric_columns``), so their numbers keep a minus sign."""
    flags = tuple(numeric)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(h) for h in header])
    pending = 1
    for row in rows:
        writer.writerow([safe_cell(c, numeric=i < len(flags) and flags[i]) for i, c in enumerate(cells(row))])
        pending += 1
        if pending >= chunk_rows:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if buffer.tell():
        yield buffer.getvalue()


def numeric_columns(model: type, columns: Sequence[str]) -> list[bool]:
    """For each (possibly dotted) column of ``model``: whether its SQL type is numeric."""
    return [numeric_column(model, c) for c in columns]
