"""Attendance: fill rate and no-shows by the coach running the session."""

from __future__ import annotations

import plotly.graph_objects as go
from flask_babel import lazy_gettext as _l

from app.services.analytics import charting as ch
from app.services.analytics.reports import Records, Report, ReportContext, ReportData, bar_figure
from reports._attendance import COLUMNS, grouped


def query(ctx: ReportContext) -> ReportData:
    return ReportData(["coach", *COLUMNS], grouped(ctx, "coach"))


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    names = [_l("Fill rate"), _l("No-show rate")]
    return bar_figure(data, ctx, 0, (4, 7), names, ch.PERCENT, x=str(_l("Coach")), y=str(_l("Rate")))


REPORT = Report(
    key="attendance_by_coach",
    title=_l("Fill rate and no-shows by coach"),
    dashboard="attendance",
    query=query,
    figure=figure,
    order=20,
    records=Records("scheduledsessions"),
    reads=("ScheduledSessions", "SessionParticipants"),
)
