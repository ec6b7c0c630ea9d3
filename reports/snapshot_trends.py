"""Headline trends: how each captured headline metric moved across cohort snapshots.

Snapshots are whole-business figures; the dashboard's product, coach and program filters
do not apply, and coaches (whose view is scoped) see no snapshot data.
"""

from __future__ import annotations

import plotly.graph_objects as go
from flask_babel import lazy_gettext as _l
from plotly.subplots import make_subplots

from app.services.analytics import charting as ch
from app.services.analytics.reports import Records, Report, ReportContext, ReportData
from app.services.analytics.snapshots import ALL, snapshot_series


def query(ctx: ReportContext) -> ReportData:
    if ctx.scope_coach_id is not None:
        return ReportData(["captured_on", "metric", "value"], [])
    rows = snapshot_series(ctx.session, ctx.range.start, ctx.range.end, ALL)
    return ReportData(["captured_on", "metric", "value"], rows)


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    metrics = sorted({r[1] for r in data.rows})
    fig = make_subplots(rows=len(metrics), cols=1, shared_xaxes=True, subplot_titles=metrics, vertical_spacing=0.04)
    for i, name in enumerate(metrics, start=1):
        pts = [r for r in data.rows if r[1] == name]
        fig.add_trace(
            go.Scatter(x=[r[0].isoformat() for r in pts], y=[r[2] for r in pts], name=name, mode="lines+markers"),
            row=i,
            col=1,
        )
    fig.update_layout(
        height=max(300, 180 * len(metrics)), showlegend=False, separators=ch.separators(ctx.locale),
        template="plotly_white", margin={"l": 50, "r": 20, "t": 30, "b": 30},
    )  # fmt: skip
    return fig


REPORT = Report(
    key="snapshot_trends",
    title=_l("Headline metrics across snapshots"),
    dashboard="trends",
    query=query,
    figure=figure,
    order=10,
    records=Records("cohortsnapshots", {"cohort_key": ALL}),
    reads=("CohortSnapshots",),
)
