"""The 360 page's metrics tab: the last 90 days of progress metrics as small line charts.

The chart is drawn server-side as an inline SVG polyline (no script, readable without JS): this
module turns readings into the polyline's points in a fixed viewBox; the template draws them.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models.analytics import ProgressMetric
from app.policy.scope import Actor, scope_criteria

WINDOW_DAYS = 90
READINGS_LIMIT = 1000  # newest first: a wearable's minute data cannot make the tab slow
MAX_SERIES = 6
WIDTH, HEIGHT, PAD = 300.0, 80.0, 4.0


def polyline(points: list[tuple[dt.datetime, float]], start: dt.datetime, end: dt.datetime) -> str:
    """Readings as "x,y x,y ..." in a WIDTH x HEIGHT box: time left to right, the series' range bottom to top."""
    if not points:
        return ""
    values = [v for _, v in points]
    low, high = min(values), max(values)
    span_v = (high - low) or 1.0
    span_t = (end - start).total_seconds() or 1.0
    out = []
    for at, value in points:
        x = PAD + (WIDTH - 2 * PAD) * max(0.0, min(1.0, (at - start).total_seconds() / span_t))
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * ((value - low) / span_v if high != low else 0.5)
        out.append(f"{x:.1f},{y:.1f}")
    return " ".join(out)


def metrics_tab(actor: Actor, cid: uuid.UUID, readable: frozenset[str], now: dt.datetime) -> dict[str, Any]:
    """One series per metric type (most readings first), with its latest reading, range and chart points."""
    start = now - dt.timedelta(days=WINDOW_DAYS)
    rows = db.session.execute(
        sa.select(
            ProgressMetric.id,
            ProgressMetric.metric_type,
            ProgressMetric.value,
            ProgressMetric.unit,
            ProgressMetric.recorded_at,
        )  # fmt: skip
        .where(
            ProgressMetric.customer_id == cid,
            ProgressMetric.recorded_at >= start,
            ProgressMetric.recorded_at <= now,
            scope_criteria(ProgressMetric, actor),
        )
        .order_by(ProgressMetric.recorded_at.desc(), ProgressMetric.id.desc())
        .limit(READINGS_LIMIT)
    ).all()
    grouped: dict[str, list[Any]] = {}
    for r in rows:
        grouped.setdefault(r.metric_type, []).append(r)
    series = []
    for metric_type, readings in sorted(grouped.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:MAX_SERIES]:
        readings.reverse()  # oldest first for the line
        values: list[decimal.Decimal] = [r.value for r in readings]
        latest = readings[-1]
        series.append(
            {
                "metric_type": metric_type,
                "unit": latest.unit,
                "count": len(readings),
                "latest": {"id": latest.id, "value": latest.value, "recorded_at": latest.recorded_at},
                "first": {"id": readings[0].id, "value": readings[0].value, "recorded_at": readings[0].recorded_at},
                "min": min(values),
                "max": max(values),
                "points": polyline([(r.recorded_at, float(r.value)) for r in readings], start, now),
            }
        )
    return {"series": series, "start": start, "end": now, "width": WIDTH, "height": HEIGHT}
