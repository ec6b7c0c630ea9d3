"""Engagement: events per active customer, per month (active = at least one event that month)."""

from __future__ import annotations

import plotly.graph_objects as go
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import models as m
from app.models.rollups import CustomerActivityMonthly
from app.services.analytics import charting as ch
from app.services.analytics.reports import Records, Report, ReportContext, ReportData, customer_ids, options, periods


def query(ctx: ReportContext) -> ReportData:
    first = ch.floor_date(ctx.range.start, "month")
    if ctx.use_rollups:
        a = CustomerActivityMonthly
        stmt = (
            sa.select(a.month, sa.func.sum(a.events), sa.func.count())
            .where(a.month >= first, a.month <= ctx.range.end)
            .where(*ctx.customers(a.customer_id))  # the rollup holds customers only
            .group_by(a.month)
        )
    else:
        ev = m.EngagementEvent
        month = ctx.bucket(ev.occurred_at, "month")
        stmt = (
            sa.select(month, sa.func.count(), sa.func.count(sa.distinct(ev.customer_id)))
            .where(*ch.range_criteria(ev.occurred_at, ch.DateRange(first, ctx.range.end)))
            .where(ev.customer_id.in_(customer_ids()), *ctx.customers(ev.customer_id))
            .group_by(month)
        )
    found = {ch.as_date(k): (ch.number(e), n) for k, e, n in ctx.session.execute(stmt).all()}
    if not found:
        return ReportData(["month", "events", "active_customers", "events_per_active_customer"], [])
    rows = []
    for mo in ch.bucket_starts(ctx.range, "month"):
        events, active = found.get(mo, (0, 0))
        rows.append((mo, events, active, round(events / active, 2) if active else None))
    return ReportData(["month", "events", "active_customers", "events_per_active_customer"], rows)


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    fig = ch.base_figure(options(ctx, x=str(_l("Month")), y=str(_l("Active customers"))))
    xs = [r[0].isoformat() for r in data.rows]
    fig.add_trace(go.Bar(x=xs, y=[r[2] for r in data.rows], name=str(_l("Active customers"))))
    per_active = str(_l("Events per active customer"))
    fig.add_trace(go.Scatter(x=xs, y=[r[3] for r in data.rows], name=per_active, yaxis="y2", mode="lines+markers"))
    fig.update_layout(
        yaxis2={
            "overlaying": "y", "side": "right", "rangemode": "tozero", "nticks": 6, "showgrid": False,
            "title": {"text": per_active}, "automargin": True,
        }
    )  # fmt: skip
    ch.value_axis(fig, ch.COUNT, [r[2] for r in data.rows])
    ch.value_axis(fig, ch.DECIMAL, axis="yaxis2")
    periods(fig, ctx, data.rows[-1][0], "month")
    return fig


REPORT = Report(
    key="engagement_per_active",
    title=_l("Events per active customer"),
    dashboard="engagement",
    query=query,
    figure=figure,
    order=10,
    records=Records("engagementevents"),
    reads=("EngagementEvents",),
)
