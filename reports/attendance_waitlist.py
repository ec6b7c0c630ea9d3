"""Attendance: waitlist joins and promotions per month (by the month the customer joined)."""

from __future__ import annotations

import plotly.graph_objects as go
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import models as m
from app.services.analytics import charting as ch
from app.services.analytics.reports import Records, Report, ReportContext, ReportData, bar_figure


def query(ctx: ReportContext) -> ReportData:
    w, ss = m.WaitlistEntry, m.ScheduledSession
    month = ctx.bucket(w.joined_at, "month")
    promoted = sa.func.sum(sa.case((w.promoted_at.is_not(None), 1), else_=0))
    stmt = (
        sa.select(month, sa.func.count(), promoted)
        .join(ss, ss.id == w.session_id)
        .where(*ctx.in_range(w.joined_at), *ctx.sessions(ss.coach_id), *ctx.customers(w.customer_id, coach=False))
        .group_by(month)
    )
    found = {ch.as_date(k): (n, ch.number(p)) for k, n, p in ctx.session.execute(stmt).all()}
    if not found:
        return ReportData(["month", "joined", "promoted"], [])
    rows = [(mo, *found.get(mo, (0, 0))) for mo in ch.bucket_starts(ctx.range, "month")]
    return ReportData(["month", "joined", "promoted"], rows)


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    names = [_l("Joined"), _l("Promoted")]
    return bar_figure(data, ctx, 0, (1, 2), names, x=str(_l("Month")), y=str(_l("Waitlist entries")))


REPORT = Report(
    key="attendance_waitlist",
    title=_l("Waitlist joins and promotions"),
    dashboard="attendance",
    query=query,
    figure=figure,
    order=30,
    records=Records("waitlistentries"),
    reads=("ScheduledSessions", "WaitlistEntries"),
)
