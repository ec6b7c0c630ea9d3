"""Engagement: messages per month, from customers and to customers."""

from __future__ import annotations

import plotly.graph_objects as go
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import models as m
from app.models.rollups import MessageMonthly
from app.services.analytics import charting as ch
from app.services.analytics.reports import Records, Report, ReportContext, ReportData, bar_figure, customer_ids


def query(ctx: ReportContext) -> ReportData:
    msg, th = m.Message, m.Thread
    month = ctx.bucket(msg.sent_at, "month")
    if ctx.use_rollups and not ctx.customer_filtered:
        r = MessageMonthly
        stmt = sa.select(r.month, sa.func.sum(r.messages), sa.func.sum(r.from_customers)).group_by(r.month)
        stmt = stmt.where(r.month >= ch.floor_date(ctx.range.start, "month"), r.month <= ctx.range.end)
    elif ctx.customer_filtered:
        # Only the narrowed customers' threads (a semi-join, index friendly); a message is from the
        # customer when its sender is the thread's customer.
        thread_customer = sa.select(th.customer_id).where(th.id == msg.thread_id).scalar_subquery()
        from_customer = sa.func.sum(sa.case((msg.sender_id == thread_customer, 1), else_=0))
        threads = sa.select(th.id).where(*ctx.customers(th.customer_id))
        stmt = sa.select(month, sa.func.count(), from_customer).where(msg.thread_id.in_(threads))
    else:  # no join: a customer's message is one whose sender holds the CUSTOMER role
        from_customer = sa.func.sum(sa.case((msg.sender_id.in_(customer_ids()), 1), else_=0))
        stmt = sa.select(month, sa.func.count(), from_customer)
    if not (ctx.use_rollups and not ctx.customer_filtered):
        stmt = stmt.where(*ctx.in_range(msg.sent_at)).group_by(month)
    found = {ch.as_date(k): (ch.number(n), ch.number(c)) for k, n, c in ctx.session.execute(stmt).all()}
    if not found:
        return ReportData(["month", "from_customers", "to_customers"], [])
    rows = []
    for mo in ch.bucket_starts(ctx.range, "month"):
        total, from_c = found.get(mo, (0, 0))
        rows.append((mo, from_c, total - from_c))
    return ReportData(["month", "from_customers", "to_customers"], rows)


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    names = [_l("From customers"), _l("To customers")]
    return bar_figure(data, ctx, 0, (1, 2), names, x=str(_l("Month")), y=str(_l("Messages")), barmode="stack")


REPORT = Report(
    key="engagement_messages",
    title=_l("Messages"),
    dashboard="engagement",
    query=query,
    figure=figure,
    order=30,
    records=Records("messages"),
    reads=("Messages",),
)
