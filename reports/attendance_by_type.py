"""Attendance: fill rate and no-shows by session type (cancelled sessions excluded)."""

from __future__ import annotations

import plotly.graph_objects as go
from flask_babel import lazy_gettext as _l

from app.models.labels import enum_label
from app.models.scheduling import SessionType
from app.services.analytics import charting as ch
from app.services.analytics.reports import Records, Report, ReportContext, ReportData, bar_figure
from reports._attendance import COLUMNS, grouped


def query(ctx: ReportContext) -> ReportData:
    return ReportData(["session_type", *COLUMNS], grouped(ctx, "type"))


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    names = [_l("Fill rate"), _l("No-show rate")]
    fig = bar_figure(data, ctx, 0, (4, 7), names, ch.PERCENT, x=str(_l("Session type")), y=str(_l("Rate")))
    # The rows keep the codes (the CSV is for machines); the chart shows each type's label.
    fig.update_traces(x=[_type_label(r[0]) for r in data.rows])
    return fig


def _type_label(code: str) -> str:
    try:
        return enum_label(SessionType(code))
    except ValueError:
        return ch.shown(code)


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
