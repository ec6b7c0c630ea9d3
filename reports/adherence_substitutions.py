"""Adherence: substitutions and written feedback on plan items, per period."""

from __future__ import annotations

import plotly.graph_objects as go
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import models as m
from app.services.analytics import charting as ch
from app.services.analytics.reports import Records, Report, ReportContext, ReportData, bar_figure
from reports._adherence import W, due_criteria, items_with_plans, rollup_criteria, use_rollup


def query(ctx: ReportContext) -> ReportData:
    pi = m.PlanItem
    unit = ch.choose_unit(ctx.range, 2, "week")
    if use_rollup(ctx):
        period = ctx.bucket(W.week, unit).label("period")
        stmt = sa.select(period, sa.func.sum(W.substitutions), sa.func.sum(W.feedback))
        stmt = stmt.where(*rollup_criteria(ctx)).group_by(period)
    else:
        period = ctx.bucket(pi.scheduled_date, unit).label("period")
        subs = sa.func.sum(sa.case((pi.substitution_item_id.is_not(None), 1), else_=0))
        feedback = sa.func.sum(sa.case((sa.func.length(sa.func.coalesce(pi.feedback_text, "")) > 0, 1), else_=0))
        stmt = items_with_plans().add_columns(period, subs, feedback).where(*due_criteria(ctx)).group_by(period)
    found = {ch.as_date(p): (ch.number(s), ch.number(f)) for p, s, f in ctx.session.execute(stmt).all()}
    if not any(s or f for s, f in found.values()):
        return ReportData(["period", "substitutions", "feedback"], [])
    rows = [(p, *found.get(p, (0, 0))) for p in ch.bucket_starts(ctx.range, unit)]
    return ReportData(["period", "substitutions", "feedback"], rows, {"unit": unit})


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    names = [_l("Substitutions"), _l("Feedback")]
    return bar_figure(data, ctx, 0, (1, 2), names, x=str(_l("Period")), y=str(_l("Plan items")))


REPORT = Report(
    key="adherence_substitutions",
    title=_l("Substitutions and feedback"),
    dashboard="adherence",
    query=query,
    figure=figure,
    order=40,
    records=Records("planitems"),
    reads=("PlanItems",),
)
