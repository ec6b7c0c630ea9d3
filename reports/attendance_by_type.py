"""Attendance: fill rate and no-shows by session type (cancelled sessions excluded)."""

from __future__ import annotations

import plotly.graph_objects as go
from flask_babel import lazy_gettext as _l

from app.services.analytics.reports import Records, Report, ReportContext, ReportData, bar_figure
from reports._attendance import COLUMNS, grouped


def query(ctx: ReportContext) -> ReportData:
    return ReportData(["session_type", *COLUMNS], grouped(ctx, "type"))


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    fig = bar_figure(data, ctx, 0, (4, 7), x=str(_l("Session type")), y=str(_l("Rate")))
    fig.update_yaxes(tickformat=".0%")
    return fig


REPORT = Report(
    key="attendance_by_type",
    title=_l("Fill rate and no-shows by session type"),
    dashboard="attendance",
    query=query,
    figure=figure,
    order=10,
    records=Records("scheduledsessions"),
    reads=("ScheduledSessions", "SessionParticipants"),
)
