"""Adherence: plan-item completion rate by week of plan (week 1 = the plan's first 7 days)."""

from __future__ import annotations

import plotly.graph_objects as go
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import models as m
from app.services.analytics import charting as ch
from app.services.analytics.reports import Records, Report, ReportContext, ReportData, days_between, options, rate
from reports._adherence import W, completed, due_criteria, items_with_plans, rollup_criteria, use_rollup

MAX_WEEKS = 104


def query(ctx: ReportContext) -> ReportData:
    pi, cp = m.PlanItem, m.CustomerPlan
    if use_rollup(ctx):
        stmt = (
            sa.select(W.week_of_plan, sa.func.sum(W.items_due), sa.func.sum(W.completed))
            .where(*rollup_criteria(ctx), W.week_of_plan >= 1)
            .group_by(W.week_of_plan)
            .order_by(W.week_of_plan)
        )
    else:
        week = (days_between(pi.scheduled_date, cp.start_date, ctx.dialect) // 7 + 1).label("week")
        stmt = (
            items_with_plans()
            .add_columns(week, sa.func.count(), completed())
            .where(*due_criteria(ctx), pi.scheduled_date >= cp.start_date)
            .group_by(week)
            .order_by(week)
        )
    rows = [
        (w, ch.number(n), ch.number(c), rate(c, n))
        for w, n, c in ctx.session.execute(stmt).all()
        if 1 <= w <= MAX_WEEKS
    ]
    return ReportData(["week_of_plan", "items_due", "completed", "completion_rate"], rows)


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    fig = ch.base_figure(options(ctx, x=str(_l("Week of plan")), y=str(_l("Completion rate"))))
    fig.add_trace(go.Bar(x=[r[0] for r in data.rows], y=[r[3] for r in data.rows], name=str(_l("Completion rate"))))
    ch.value_axis(fig, ch.PERCENT, range=[0, 1.05])
    ch.value_axis(fig, ch.COUNT, [r[0] for r in data.rows], axis="xaxis")
    return fig


REPORT = Report(
    key="adherence_by_week",
    title=_l("Plan-item completion by week of plan"),
    dashboard="adherence",
    query=query,
    figure=figure,
    order=10,
    records=Records("planitems"),
    reads=("CustomerPlans", "PlanItems"),
)
