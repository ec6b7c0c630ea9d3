"""Adherence: completion rate per program (the 30 programs with most items due)."""

from __future__ import annotations

import plotly.graph_objects as go
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import models as m
from app.services.analytics import charting as ch
from app.services.analytics.reports import Records, Report, ReportContext, ReportData, bar_figure, rate
from reports._adherence import W, completed, due_criteria, items_with_plans, rollup_criteria, use_rollup

TOP = 30


def query(ctx: ReportContext) -> ReportData:
    cp, pr = m.CustomerPlan, m.Program
    if use_rollup(ctx):
        due = sa.func.sum(W.items_due)
        stmt = (
            sa.select(pr.title, due, sa.func.sum(W.completed))
            .join(pr, pr.id == W.program_id)
            .where(*rollup_criteria(ctx))
        )
    else:
        due = sa.func.count()
        stmt = (
            items_with_plans()
            .join(pr, pr.id == cp.program_id)
            .add_columns(pr.title, due, completed())
            .where(*due_criteria(ctx))
        )
    stmt = stmt.group_by(pr.id, pr.title).order_by(due.desc(), pr.title).limit(TOP)
    rows = [(t, ch.number(n), ch.number(c), rate(c, n)) for t, n, c in ctx.session.execute(stmt).all()]
    return ReportData(["program", "items_due", "completed", "completion_rate"], rows)


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    names = [_l("Completion rate")]
    fig = bar_figure(data, ctx, 0, (3,), names, ch.PERCENT, x=str(_l("Program")), y=str(_l("Completion rate")))
    fig.update_yaxes(range=[0, 1.05])
    return fig


REPORT = Report(
    key="adherence_by_program",
    title=_l("Completion rate by program"),
    dashboard="adherence",
    query=query,
    figure=figure,
    order=20,
    records=Records("customerplans"),
    reads=("CustomerPlans", "PlanItems", "Programs"),
)
