"""Revenue: new, churned and paused subscriptions per month.

New: ``start_date`` in the month. Churned: cancelled or expired with ``end_date`` in the
month. Paused: currently paused, counted in the month the pause ends (``pause_until``).
"""

from __future__ import annotations

import plotly.graph_objects as go
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import models as m
from app.models.commerce import SubscriptionStatus
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
    s = m.Subscription
    common = ctx.customers(s.customer_id)
    if ctx.filters.product_id is not None:
        common.append(s.product_id == ctx.filters.product_id)

    def per_month(column, *criteria):
        bucket = ctx.bucket(column, "month")
        stmt = sa.select(bucket, sa.func.count()).where(*ctx.in_range(column), *common, *criteria).group_by(bucket)
        return {ch.as_date(k): n for k, n in ctx.session.execute(stmt).all()}

    churn_statuses = [SubscriptionStatus.CANCELLED, SubscriptionStatus.EXPIRED]
    if use_metric_rollup(ctx):  # whole months at the range's edges

        def from_rollup(metric: str, statuses: list[str] | None = None) -> dict:
            out: dict = {}
            for month, dim, count, _ in metric_rows(ctx, metric):
                if statuses is None or dim.partition("|")[0] in statuses:
                    out[month] = out.get(month, 0) + count
            return out

        new = from_rollup("subscription_start")
        churned = from_rollup("subscription_end", [st.value for st in churn_statuses])
        paused = from_rollup("subscription_pause_end", [SubscriptionStatus.PAUSED.value])
    else:
        new = per_month(s.start_date)
        churned = per_month(s.end_date, s.status.in_(churn_statuses))
        paused = per_month(s.pause_until, s.status == SubscriptionStatus.PAUSED)
    if not (new or churned or paused):
        return ReportData(["month", "new", "churned", "paused"], [])
    rows = [(mo, new.get(mo, 0), churned.get(mo, 0), paused.get(mo, 0)) for mo in ch.bucket_starts(ctx.range, "month")]
    return ReportData(["month", "new", "churned", "paused"], rows)


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    names = [_l("New"), _l("Churned"), _l("Paused")]
    return bar_figure(data, ctx, 0, (1, 2, 3), names, x=str(_l("Month")), y=str(_l("Subscriptions")))


REPORT = Report(
    key="revenue_movements",
    title=_l("New, churned and paused subscriptions"),
    dashboard="revenue",
    query=query,
    figure=figure,
    order=20,
    records=Records("subscriptions"),
    reads=("Subscriptions",),
)
