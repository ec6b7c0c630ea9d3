"""Retention: share of each signup cohort active in each following month, as a heatmap."""

from __future__ import annotations

import plotly.graph_objects as go
from flask_babel import lazy_gettext as _l

from app.services.analytics import charting as ch
from app.services.analytics.cohorts import retention_matrix
from app.services.analytics.reports import Records, Report, ReportContext, ReportData, options


def query(ctx: ReportContext) -> ReportData:
    matrix = retention_matrix(ctx)
    # Stay within the point budget on very long ranges: keep the most recent cohorts that fit.
    fits = max(1, ch.MAX_POINTS // max(1, matrix.max_offset + 1))
    cohorts = matrix.cohorts[-fits:]
    rows = [
        (cohort, matrix.sizes[cohort], offset, matrix.active.get((cohort, offset), 0), matrix.share(cohort, offset))
        for cohort in cohorts
        for offset in range(matrix.max_offset + 1)
        if matrix.share(cohort, offset) is not None
    ]
    meta = {"dropped_cohorts": len(matrix.cohorts) - len(cohorts)}
    return ReportData(["cohort", "customers", "months_after_signup", "active", "share_active"], rows, meta)


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    cohorts = sorted({r[0] for r in data.rows})
    offsets = sorted({r[2] for r in data.rows})
    cell = {(r[0], r[2]): r[4] for r in data.rows}
    z = [[cell.get((c, o)) for o in offsets] for c in cohorts]
    fig = ch.base_figure(options(ctx, x=str(_l("Months after signup")), y=str(_l("Signup month"))))
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=offsets,
            y=[c.strftime("%Y-%m") for c in cohorts],
            colorscale="Blues",
            zmin=0,
            zmax=1,
            hovertemplate="%{y} +%{x}: %{z:.0%}<extra></extra>",
            colorbar={"tickformat": ch.PERCENT, "title": {"text": str(_l("Share active"))}},
        )
    )
    fig.update_yaxes(autorange="reversed", type="category", nticks=None, rangemode=None)
    ch.value_axis(fig, ch.COUNT, offsets, axis="xaxis")
    fig.update_layout(hovermode="closest")
    return fig


REPORT = Report(
    key="retention_heatmap",
    title=_l("Share of each signup cohort still active, by month after signup"),
    dashboard="retention",
    query=query,
    figure=figure,
    order=10,
    records=Records("users"),
    reads=("Users", "EngagementEvents"),
)
