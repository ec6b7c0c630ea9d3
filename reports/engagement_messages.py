"""Engagement: messages per month, from customers and to customers."""

from __future__ import annotations

import plotly.graph_objects as go
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import models as m
from app.services import charting as ch
from app.services.reports import Records, Report, ReportContext, ReportData, bar_figure


def query(ctx: ReportContext) -> ReportData:
    msg, th = m.Message, m.Thread
    month = ctx.bucket(msg.sent_at, "month")
    from_customer = sa.func.sum(sa.case((msg.sender_id == th.customer_id, 1), else_=0))
    stmt = (
        sa.select(month, sa.func.count(), from_customer)
        .join(th, th.id == msg.thread_id)
        .where(*ctx.in_range(msg.sent_at), *ctx.customers(th.customer_id))
        .group_by(month)
    )
    found = {ch.as_date(k): (n, ch.number(c)) for k, n, c in ctx.session.execute(stmt).all()}
    if not found:
        return ReportData(["month", "from_customers", "to_customers"], [])
    rows = []
    for mo in ch.bucket_starts(ctx.range, "month"):
        total, from_c = found.get(mo, (0, 0))
        rows.append((mo, from_c, total - from_c))
    return ReportData(["month", "from_customers", "to_customers"], rows)


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    return bar_figure(data, ctx, 0, (1, 2), x=str(_l("Month")), y=str(_l("Messages")), barmode="stack")


REPORT = Report(
    key="engagement_messages",
    title=_l("Messages"),
    dashboard="engagement",
    query=query,
    figure=figure,
    order=30,
    records=Records("messages"),
)
