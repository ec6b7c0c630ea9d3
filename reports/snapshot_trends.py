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


# Each captured metric's name and tick format; a metric not listed shows as words, plainly ticked.
METRICS = {
    "active_customers": (_l("Active customers"), ch.COUNT),
    "events_per_active_customer": (_l("Events per active customer"), ch.DECIMAL),
    "invoice_collection_rate": (_l("Invoice collection rate"), ch.PERCENT),
    "plan_completion_rate_28d": (_l("Plan completion rate, last 28 days"), ch.PERCENT),
    "session_fill_rate_28d": (_l("Session fill rate, last 28 days"), ch.PERCENT),
}


def metric_label(name: str) -> tuple[str, str | None]:
    """(translated title, tick format) of a captured metric."""
    if name.startswith("mrr_"):
        return str(_l("Monthly recurring revenue (%(currency)s)", currency=name[4:].upper())), ch.AMOUNT
    if name in METRICS:
        title, fmt = METRICS[name]
        return str(title), fmt
    return ch.shown(name), None


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    metrics = sorted({r[1] for r in data.rows})
    labels = [metric_label(name) for name in metrics]
    fig = make_subplots(
        rows=len(metrics), cols=1, shared_xaxes=True, subplot_titles=[t for t, _ in labels], vertical_spacing=0.06
    )
    for i, (name, (title, fmt)) in enumerate(zip(metrics, labels, strict=True), start=1):
        pts = [r for r in data.rows if r[1] == name]
        fig.add_trace(
            go.Scatter(x=[r[0].isoformat() for r in pts], y=[r[2] for r in pts], name=title, mode="lines+markers"),
            row=i,
            col=1,
        )
        fig.update_yaxes(tickformat=fmt, hoverformat=fmt, nticks=4, automargin=True, row=i, col=1)
    fig.update_layout(
        height=max(300, 180 * len(metrics)), showlegend=False, separators=ch.separators(ctx.locale),
        template=ch.TEMPLATE, margin={"l": 50, "r": 20, "t": 30, "b": 30},
        legend=ch.LEGEND,
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
