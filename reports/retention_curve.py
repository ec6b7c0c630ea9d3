"""Retention: the curve of one chosen signup cohort (default: the first in range)."""

from __future__ import annotations

import plotly.graph_objects as go
from flask_babel import lazy_gettext as _l

from app.services.analytics import charting as ch
from app.services.analytics.cohorts import retention_matrix
from app.services.analytics.reports import Records, Report, ReportContext, ReportData, options


def query(ctx: ReportContext) -> ReportData:
    chosen = ctx.filters.cohort
    if chosen is None:
        full = retention_matrix(ctx)
        if not full.cohorts:
            return ReportData(["cohort", "months_after_signup", "share_active"], [])
        chosen = full.cohorts[0]
    matrix = retention_matrix(ctx, only_cohort=chosen)
    rows = [
        (chosen, offset, matrix.share(chosen, offset))
        for offset in range(matrix.max_offset + 1)
        if matrix.share(chosen, offset) is not None
    ]
    return ReportData(["cohort", "months_after_signup", "share_active"], rows, {"cohort": chosen})


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    cohort = data.meta["cohort"].strftime("%Y-%m")
    fig = ch.base_figure(options(ctx, x=str(_l("Months after signup")), y=str(_l("Share active"))))
    fig.add_trace(
        go.Scatter(x=[r[1] for r in data.rows], y=[r[2] for r in data.rows], mode="lines+markers", name=cohort)
    )
    ch.value_axis(fig, ch.PERCENT, range=[0, 1.05])
    ch.value_axis(fig, ch.COUNT, [r[1] for r in data.rows], axis="xaxis")
    return fig


REPORT = Report(
    key="retention_curve",
    title=_l("Retention curve of one cohort"),
    dashboard="retention",
    query=query,
    figure=figure,
    order=20,
    records=Records("users"),
    reads=("Users", "EngagementEvents"),
)
