"""Attendance: fill rate and no-shows by the coach running the session."""

from __future__ import annotations

import plotly.graph_objects as go
from flask_babel import lazy_gettext as _l

from app.services.analytics.reports import Records, Report, ReportContext, ReportData, bar_figure
from reports._attendance import COLUMNS, grouped


def query(ctx: ReportContext) -> ReportData:
    return ReportData(["coach", *COLUMNS], grouped(ctx, "coach"))


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    fig = bar_figure(data, ctx, 0, (4, 7), x=str(_l("Coach")), y=str(_l("Rate")))
    fig.update_yaxes(tickformat=".0%")
    return fig


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
