"""Revenue: monthly recurring revenue per currency.

MRR of a month = the sum of product prices of non-trial subscriptions running in that
month (from the month of ``start_date`` to the month of ``end_date``). Computed from
two GROUP BYs (starts and ends per month) and a running sum over those few rows.
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
    metric_rows,
    options,
    periods,
    use_metric_rollup,
)


def query(ctx: ReportContext) -> ReportData:
    s, p = m.Subscription, m.Product
    where = [s.status != SubscriptionStatus.TRIAL, s.start_date <= ctx.range.end, *ctx.customers(s.customer_id)]
    if ctx.filters.product_id is not None:
        where.append(s.product_id == ctx.filters.product_id)
    start_m = ctx.bucket(s.start_date, "month")
    end_m = ctx.bucket(s.end_date, "month")
    starts = sa.select(start_m, p.currency, sa.func.sum(p.price)).join(p, p.id == s.product_id).where(*where)
    ends = (
        sa.select(end_m, p.currency, sa.func.sum(p.price))
        .join(p, p.id == s.product_id)
        .where(*where, s.end_date.is_not(None))
    )
    if use_metric_rollup(ctx):
        added, removed = _from_rollup(ctx, "subscription_start"), _from_rollup(ctx, "subscription_end")
    else:
        added = ctx.session.execute(starts.group_by(start_m, p.currency)).all()
        removed = ctx.session.execute(ends.group_by(end_m, p.currency)).all()
    currencies = sorted({c for _, c, _ in added})
    months = ch.bucket_starts(ctx.range, "month")
    rows = []
    for currency in currencies:
        for month in months:
            plus = sum(ch.number(v) for mo, c, v in added if c == currency and ch.as_date(mo) <= month)
            minus = sum(ch.number(v) for mo, c, v in removed if c == currency and ch.as_date(mo) < month)
            rows.append((month, currency, round(plus - minus, 2)))
    if not any(r[2] for r in rows):
        rows = []
    return ReportData(["month", "currency", "mrr"], rows)


def _from_rollup(ctx: ReportContext, metric: str) -> list[tuple]:
    """(month, currency, price sum) of non-trial subscriptions, from metric_monthly (dim = status|currency)."""
    out = []
    for month, dim, _count, amount in metric_rows(ctx, metric, history=True):
        status, _, currency = dim.partition("|")
        if status != SubscriptionStatus.TRIAL.value:
            out.append((month, currency, amount))
    return out


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    fig = ch.base_figure(options(ctx, x=str(_l("Month")), y=str(_l("Monthly recurring revenue"))))
    for currency in sorted({r[1] for r in data.rows}):
        pts = [r for r in data.rows if r[1] == currency]
        fig.add_trace(
            go.Scatter(x=[r[0].isoformat() for r in pts], y=[r[2] for r in pts], name=currency, mode="lines+markers")
        )
    ch.value_axis(fig, ch.AMOUNT)
    periods(fig, ctx, data.rows[-1][0], "month")
    return fig


REPORT = Report(
    key="revenue_mrr",
    title=_l("Monthly recurring revenue"),
    dashboard="revenue",
    query=query,
    figure=figure,
    order=10,
    records=Records("subscriptions", {"status": SubscriptionStatus.ACTIVE}, dated=False),
    reads=("Subscriptions", "Products"),
)
