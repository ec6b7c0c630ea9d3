"""Shared pieces of the adherence reports (not a report: the leading underscore hides it)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from app import models as m
from app.models.rollups import PlanAdherenceWeekly
from app.models.training import CompletionState
from app.services.analytics import charting as ch
from app.services.analytics.reports import ReportContext

W = PlanAdherenceWeekly


def use_rollup(ctx: ReportContext) -> bool:
    """The weekly rollup serves the unfiltered, unscoped view; whole weeks at the range's edges."""
    return ctx.use_rollups and not ctx.customer_filtered


def rollup_criteria(ctx: ReportContext) -> list[ColumnElement]:
    return [W.week >= ch.floor_date(ctx.range.start, "week"), W.week <= ctx.range.end]


def due_criteria(ctx: ReportContext) -> list[ColumnElement]:
    """Plan items scheduled in the range and already due, for customers in filter and scope."""
    pi, cp = m.PlanItem, m.CustomerPlan
    last = min(ctx.range.end, ctx.today)
    out = [pi.scheduled_date >= ctx.range.start, pi.scheduled_date <= last]
    out += ctx.customers(cp.customer_id, program=False)
    if ctx.filters.program_id is not None:
        out.append(cp.program_id == ctx.filters.program_id)
    return out


def completed() -> Any:
    return sa.func.sum(sa.case((m.PlanItem.completion_state == CompletionState.COMPLETED, 1), else_=0))


def items_with_plans() -> Any:
    return sa.select().select_from(m.PlanItem).join(m.CustomerPlan, m.CustomerPlan.id == m.PlanItem.plan_id)
