"""Adherence: completion rate per primary coach of the plan's customer."""

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
    cp, ca, u = m.CustomerPlan, m.CoachAssignment, m.PlatformUser
    if use_rollup(ctx):
        due = sa.func.sum(W.items_due)
        stmt = sa.select(u.full_name, due, sa.func.sum(W.completed)).join(u, u.id == W.coach_id)
        stmt = stmt.where(*rollup_criteria(ctx))
    else:
        due = sa.func.count()
        stmt = (
            items_with_plans()
            .join(ca, sa.and_(ca.customer_id == cp.customer_id, ca.is_primary.is_(True)))
            .join(u, u.id == ca.coach_id)
            .add_columns(u.full_name, due, completed())
            .where(*due_criteria(ctx))
        )
        if ctx.scope_coach_id is not None:
            stmt = stmt.where(ca.coach_id == ctx.scope_coach_id)
    stmt = stmt.group_by(u.id, u.full_name).order_by(due.desc(), u.full_name).limit(TOP)
    rows = [(name, ch.number(n), ch.number(c), rate(c, n)) for name, n, c in ctx.session.execute(stmt).all()]
    return ReportData(["coach", "items_due", "completed", "completion_rate"], rows)


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    names = [_l("Completion rate")]
    fig = bar_figure(data, ctx, 0, (3,), names, ch.PERCENT, x=str(_l("Coach")), y=str(_l("Completion rate")))
    fig.update_yaxes(range=[0, 1.05])
    return fig


REPORT = Report(
    key="adherence_by_coach",
    title=_l("Completion rate by coach"),
    dashboard="adherence",
    query=query,
    figure=figure,
    order=30,
    records=Records("coachassignments", dated=False),
    reads=("CustomerPlans", "PlanItems", "CoachAssignments"),
)
