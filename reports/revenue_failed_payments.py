"""Revenue: failed payments in the range by failure reason (top 15, the rest as "Other")."""

from __future__ import annotations

import plotly.graph_objects as go
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import models as m
from app.models.commerce import PaymentStatus
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

TOP = 15


def query(ctx: ReportContext) -> ReportData:
    p, i, s = m.Payment, m.Invoice, m.Subscription
    base = sa.select(p.failure_reason, sa.func.count()).where(
        p.status == PaymentStatus.FAILED, *ctx.in_range(p.created_at)
    )
    if ctx.customer_filtered:  # the narrowed customers' invoices, as a semi-join
        subs = sa.select(s.id).where(*ctx.customers(s.customer_id))
        if ctx.filters.product_id is not None:
            subs = subs.where(s.product_id == ctx.filters.product_id)
        base = base.where(p.invoice_id.in_(sa.select(i.id).where(i.subscription_id.in_(subs))))
    if use_metric_rollup(ctx):  # whole months at the range's edges
        per_reason: dict[str, int] = {}
        for _month, reason, count, _amount in metric_rows(ctx, "payment_failed"):
            per_reason[reason] = per_reason.get(reason, 0) + count
        top_rows = sorted(per_reason.items(), key=lambda kv: (-kv[1], kv[0]))
        rows = top_rows[:TOP]
        if len(top_rows) > TOP:
            rows.append((ch.OTHER, sum(n for _, n in top_rows[TOP:])))
        return ReportData(["failure_reason", "failed_payments"], rows)
    counts = sa.func.count()
    top = ctx.session.execute(
        base.group_by(p.failure_reason).order_by(counts.desc(), p.failure_reason).limit(TOP)
    ).all()
    total = ctx.session.execute(base.with_only_columns(sa.func.count())).scalar() or 0
    rows = [(ch.label(reason), n) for reason, n in top]
    if total - sum(n for _, n in rows):
        rows.append((ch.OTHER, total - sum(n for _, n in rows)))
    return ReportData(["failure_reason", "failed_payments"], rows)


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    return bar_figure(data, ctx, 0, (1,), [_l("Failed payments")], x=str(_l("Reason")), y=str(_l("Failed payments")))


REPORT = Report(
    key="revenue_failed_payments",
    title=_l("Failed payments by reason"),
    dashboard="revenue",
    query=query,
    figure=figure,
    order=40,
    records=Records("payments", {"status": PaymentStatus.FAILED}),
    reads=("Payments",),
)
