"""Engagement: events by type over time, from the daily rollup when no customer filter applies."""

from __future__ import annotations

import plotly.graph_objects as go
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import models as m
from app.models.rollups import EngagementDaily
from app.services.analytics import charting as ch
from app.services.analytics.reports import Records, Report, ReportContext, ReportData, options, periods

SERIES = 8


def query(ctx: ReportContext) -> ReportData:
    unit = ch.choose_unit(ctx.range, SERIES + 1)
    if ctx.use_rollups and not ctx.customer_filtered:
        d = EngagementDaily
        period = ctx.bucket(d.day, unit)
        stmt = (
            sa.select(period, d.event_type, sa.func.sum(d.events))
            .where(d.day >= ctx.range.start, d.day <= ctx.range.end)
            .group_by(period, d.event_type)
        )
    else:
        ev = m.EngagementEvent
        period = ctx.bucket(ev.occurred_at, unit)
        stmt = (
            sa.select(period, ev.event_type, sa.func.count())
            .where(*ctx.in_range(ev.occurred_at), *ctx.customers(ev.customer_id))
            .group_by(period, ev.event_type)
        )
    raw = [(ch.as_date(p), t, ch.number(n)) for p, t, n in ctx.session.execute(stmt).all()]
    if not raw:
        return ReportData(["period", "event_type", "events"], [])
    totals: dict[str, float] = {}
    for _, t, n in raw:
        totals[t] = totals.get(t, 0) + n
    keep = ch.top_labels(list(totals.items()), SERIES)
    series = keep + ([ch.OTHER] if len(totals) > SERIES else [])
    cells: dict[tuple, float] = {}
    for p, t, n in raw:
        key = (p, t if t in keep else ch.OTHER)
        cells[key] = cells.get(key, 0) + n
    rows = [(p, s, cells.get((p, s), 0)) for p in ch.bucket_starts(ctx.range, unit) for s in series]
    return ReportData(["period", "event_type", "events"], rows, {"unit": unit, "series": series})


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    fig = ch.base_figure(options(ctx, x=str(_l("Period")), y=str(_l("Events")), barmode="stack"))
    for name in data.meta["series"]:
        pts = [r for r in data.rows if r[1] == name]
        fig.add_trace(go.Bar(x=[r[0].isoformat() for r in pts], y=[r[2] for r in pts], name=ch.shown(name)))
    totals: dict = {}
    for r in data.rows:
        totals[r[0]] = totals.get(r[0], 0) + r[2]
    ch.value_axis(fig, ch.COUNT, list(totals.values()))
    periods(fig, ctx, data.rows[-1][0], data.meta["unit"])
    return fig


REPORT = Report(
    key="engagement_by_type",
    title=_l("Events by type"),
    dashboard="engagement",
    query=query,
    figure=figure,
    order=20,
    records=Records("engagementevents"),
    reads=("EngagementEvents",),
)
