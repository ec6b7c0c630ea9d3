"""Revenue: invoice collection rate by due month (paid / issued, drafts and voids excluded)."""

from __future__ import annotations

import plotly.graph_objects as go
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import models as m
from app.models.commerce import InvoiceStatus
from app.models.rollups import InvoiceMonthly
from app.services.analytics import charting as ch
from app.services.analytics.reports import Records, Report, ReportContext, ReportData, options, periods, rate


def query(ctx: ReportContext) -> ReportData:
    i, s = m.Invoice, m.Subscription
    month = ctx.bucket(i.due_date, "month")
    paid = sa.func.sum(sa.case((i.status == InvoiceStatus.PAID, 1), else_=0))
    paid_amount = sa.func.sum(sa.case((i.status == InvoiceStatus.PAID, i.amount), else_=0))
    stmt = (
        sa.select(month, sa.func.count(), paid, sa.func.sum(i.amount), paid_amount)
        .where(*ctx.in_range(i.due_date), i.status.not_in([InvoiceStatus.DRAFT, InvoiceStatus.VOID]))
        .group_by(month)
    )
    if ctx.use_rollups and not ctx.customer_filtered:  # whole months at the range's edges
        r = InvoiceMonthly
        is_paid = r.status == InvoiceStatus.PAID.value
        stmt = (
            sa.select(
                r.month,
                sa.func.sum(r.invoices),
                sa.func.sum(sa.case((is_paid, r.invoices), else_=0)),
                sa.func.sum(r.amount),
                sa.func.sum(sa.case((is_paid, r.amount), else_=0)),
            )
            .where(r.month >= ch.floor_date(ctx.range.start, "month"), r.month <= ctx.range.end)
            .where(r.status.not_in([InvoiceStatus.DRAFT.value, InvoiceStatus.VOID.value]))
            .group_by(r.month)
        )
    elif ctx.customer_filtered:  # the narrowed customers' subscriptions, as a semi-join
        subs = sa.select(s.id).where(*ctx.customers(s.customer_id))
        if ctx.filters.product_id is not None:
            subs = subs.where(s.product_id == ctx.filters.product_id)
        stmt = stmt.where(i.subscription_id.in_(subs))
    found = {ch.as_date(k): tuple(map(ch.number, v)) for k, *v in ctx.session.execute(stmt).all()}
    rows = [
        (mo, n, ch.number(p), ch.number(a), ch.number(pa), rate(p, n))
        for mo in ch.bucket_starts(ctx.range, "month")
        for n, p, a, pa in [found.get(mo, (0, 0, 0, 0))]
    ]
    if not found:
        rows = []
    return ReportData(["due_month", "issued", "paid", "amount_issued", "amount_paid", "collection_rate"], rows)


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    fig = ch.base_figure(options(ctx, x=str(_l("Due month")), y=str(_l("Collection rate"))))
    fig.add_trace(
        go.Scatter(
            x=[r[0].isoformat() for r in data.rows],
            y=[r[5] for r in data.rows],
            mode="lines+markers",
            name=str(_l("Collection rate")),
        )
    )
    ch.value_axis(fig, ch.PERCENT, range=[0, 1.05])
    periods(fig, ctx, data.rows[-1][0], "month")
    return fig


REPORT = Report(
    key="revenue_collection",
    title=_l("Invoice collection rate"),
    dashboard="revenue",
    query=query,
    figure=figure,
    order=30,
    records=Records("invoices"),
    reads=("Invoices",),
)
