"""Engagement: badges awarded per month."""

from __future__ import annotations

import plotly.graph_objects as go
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import models as m
from app.services.analytics import charting as ch
from app.services.analytics.reports import (
    Records,
    Report,
    ReportContext,
    ReportData,
    bar_figure,
    metric_rows,
    use_metric_rollup,
)


def query(ctx: ReportContext) -> ReportData:
    cb = m.CustomerBadge
    month = ctx.bucket(cb.awarded_at, "month")
    stmt = (
        sa.select(month, sa.func.count())
        .where(*ctx.in_range(cb.awarded_at), *ctx.customers(cb.customer_id))
        .group_by(month)
    )
    if use_metric_rollup(ctx):  # whole months at the range's edges
        found = {month: count for month, _, count, _ in metric_rows(ctx, "badge_awarded")}
    else:
        found = {ch.as_date(k): n for k, n in ctx.session.execute(stmt).all()}
    if not found:
        return ReportData(["month", "badges_awarded"], [])
    return ReportData(
        ["month", "badges_awarded"], [(mo, found.get(mo, 0)) for mo in ch.bucket_starts(ctx.range, "month")]
    )


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    return bar_figure(data, ctx, 0, (1,), [_l("Badges awarded")], x=str(_l("Month")), y=str(_l("Badges awarded")))


REPORT = Report(
    key="engagement_badges",
    title=_l("Badges awarded"),
    dashboard="engagement",
    query=query,
    figure=figure,
    order=60,
    records=Records("customerbadges"),
    reads=("CustomerBadges",),
)
