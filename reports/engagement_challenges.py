"""Engagement: participants per challenge running in the range (top 20)."""

from __future__ import annotations

import plotly.graph_objects as go
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import models as m
from app.services.analytics.reports import Records, Report, ReportContext, ReportData, bar_figure

TOP = 20


def query(ctx: ReportContext) -> ReportData:
    c, r = m.Challenge, m.ChallengeResult
    participants = sa.func.count(r.id)
    stmt = (
        sa.select(c.name, participants)
        .join(r, r.challenge_id == c.id)
        .where(c.start_date <= ctx.range.end, c.end_date >= ctx.range.start, *ctx.customers(r.customer_id))
        .group_by(c.id, c.name)
        .order_by(participants.desc(), c.name)
        .limit(TOP)
    )
    return ReportData(["challenge", "participants"], [tuple(row) for row in ctx.session.execute(stmt).all()])


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    return bar_figure(data, ctx, 0, (1,), [_l("Participants")], x=str(_l("Challenge")), y=str(_l("Participants")))


REPORT = Report(
    key="engagement_challenges",
    title=_l("Challenge participation"),
    dashboard="engagement",
    query=query,
    figure=figure,
    order=50,
    records=Records("challengeresults", dated=False),
    reads=("Challenges", "ChallengeResults"),
)
