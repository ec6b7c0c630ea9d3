"""Role workspaces: what each console role's home page shows, read from the services' tables.

One module per role builds its panels as plain data (rows with the ids the page links to); the
home view picks the modules of the viewer's roles. Every query is bounded (LIMIT, or a GROUP BY
over a dated range on an indexed column) and a coach's panels are limited to their own customers
and sessions, whatever other roles the same person holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

ROW_LIMIT = 10


@dataclass
class Panel:
    """One panel: its rows and, when the rows are a sample, how many there are in all."""

    rows: list[Any] = field(default_factory=list)
    total: int | None = None
    error: str | None = None


def day_bounds(today: dt.date, zone: Any, days: int = 1) -> tuple[dt.datetime, dt.datetime]:
    """[midnight of ``today``, midnight ``days`` later) in ``zone``, as UTC instants."""
    start = dt.datetime.combine(today, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(today + dt.timedelta(days=days), dt.time(), tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)
