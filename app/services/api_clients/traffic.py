"""One API client's traffic from ``api_access_logs``: requests per minute or hour by status class, p95 latency.

One grouped query does it on both databases: an inner query numbers each period's requests by
latency (window functions), the outer one counts per period and status class (2xx, 3xx, 4xx, 5xx)
and picks the nearest-rank 95th percentile (the request ranked ceil(0.95 n), integer arithmetic so
SQLite needs no math functions). The scan rides the (client_id, occurred_at) index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import plotly.graph_objects as go
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from app.models.automation import APIAccessLog
from app.services.analytics import charting as ch

# window -> (length, bucket unit)
WINDOWS: dict[str, tuple[dt.timedelta, str]] = {
    "hour": (dt.timedelta(hours=1), "minute"),
    "day": (dt.timedelta(days=1), "hour"),
    "week": (dt.timedelta(days=7), "hour"),
}
CLASSES = ("2xx", "3xx", "4xx", "5xx")


@dataclass
class Period:
    start: str  # ISO minute or hour, UTC
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))
    p95_ms: int | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Traffic:
    window: str
    unit: str
    since: dt.datetime
    until: dt.datetime
    periods: list[Period]

    @property
    def total(self) -> int:
        return sum(p.total for p in self.periods)

    def class_totals(self) -> dict[str, int]:
        return {c: sum(p.counts[c] for p in self.periods) for c in CLASSES}


def _bucket(dialect: str, unit: str) -> sa.ColumnElement:
    column = APIAccessLog.occurred_at
    if dialect == "postgresql":
        pattern = 'YYYY-MM-DD"T"HH24:MI' if unit == "minute" else 'YYYY-MM-DD"T"HH24:00'
        return sa.func.to_char(sa.func.timezone(sa.literal_column("'UTC'"), column), sa.literal_column(f"'{pattern}'"))
    pattern = "%Y-%m-%dT%H:%M" if unit == "minute" else "%Y-%m-%dT%H:00"
    return sa.func.strftime(sa.literal_column(f"'{pattern}'"), column)


def client_traffic(session: Session, client_id: int, window: str = "day", now: dt.datetime | None = None) -> Traffic:
    """The client's requests over the last hour (per minute), day or week (per hour)."""
    if window not in WINDOWS:
        raise ch.ChartInputError(
            _(
                "unknown window %(value)s; expected one of %(choices)s",
                value=repr(window)[:40],
                choices=", ".join(WINDOWS),
            )
        )
    length, unit = WINDOWS[window]
    until = now or dt.datetime.now(dt.UTC)
    since = until - length
    dialect = session.get_bind().dialect.name
    bucket = _bucket(dialect, unit)
    status_class = (APIAccessLog.status_code // 100).label("klass")  # integer division on both databases
    inner = (
        sa.select(
            bucket.label("period"),
            status_class,
            APIAccessLog.latency_ms.label("latency"),
            sa.func.row_number().over(partition_by=bucket, order_by=APIAccessLog.latency_ms).label("rank"),
            sa.func.count().over(partition_by=bucket).label("n"),
        )
        .where(APIAccessLog.client_id == client_id, APIAccessLog.occurred_at >= since, APIAccessLog.occurred_at < until)
        .subquery()
    )
    p95_rank = (inner.c.n * 95 + 99) // 100
    rows = session.execute(
        sa.select(
            inner.c.period,
            inner.c.klass,
            sa.func.count(),
            sa.func.max(sa.case((inner.c.rank == p95_rank, inner.c.latency))),
        )
        .group_by(inner.c.period, inner.c.klass)
        .order_by(inner.c.period)
    ).all()
    periods: dict[str, Period] = {}
    for period, klass, count, p95 in rows:
        entry = periods.setdefault(period, Period(period))
        name = f"{int(klass)}xx"
        if name in entry.counts:
            entry.counts[name] += int(count)
        if p95 is not None:
            entry.p95_ms = int(p95)
    return Traffic(window, unit, since, until, [periods[k] for k in sorted(periods)])


def figure(traffic: Traffic, locale: str = "en") -> go.Figure:
    """Stacked requests per period by status class, and p95 latency on a second axis."""
    per = _("Requests per minute") if traffic.unit == "minute" else _("Requests per hour")
    fig = ch.base_figure(
        ch.FigureOptions(
            locale=locale,
            y_title=per,
            extra_layout={
                "barmode": "stack",
                "yaxis2": {"title": _("p95 latency (ms)"), "overlaying": "y", "side": "right", "rangemode": "tozero"},
            },
        )
    )
    xs = [p.start for p in traffic.periods]
    colours = {"2xx": "#2ca02c", "3xx": "#1f77b4", "4xx": "#ff7f0e", "5xx": "#d62728"}
    for name in CLASSES:
        ys = [p.counts[name] for p in traffic.periods]
        if any(ys):
            fig.add_trace(go.Bar(x=xs, y=ys, name=name, marker_color=colours[name]))
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=[p.p95_ms for p in traffic.periods],
            name=_("p95 latency (ms)"),
            yaxis="y2",
            mode="lines+markers",
            line={"color": "#444"},
        )
    )
    return fig
