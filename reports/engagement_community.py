"""Engagement: community posts and reactions per month."""

from __future__ import annotations

import plotly.graph_objects as go
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import models as m
from app.services.analytics import charting as ch
from app.services.analytics.reports import (
    Records,
    Report,
    ReportContext,
    ReportData,
    bar_figure,
    metric_rows,
    use_metric_rollup,
)


def _per_month(ctx: ReportContext, time_col, customer_col, metric: str) -> dict:
    if use_metric_rollup(ctx):  # whole months at the range's edges
        return {month: count for month, _, count, _ in metric_rows(ctx, metric)}
    month = ctx.bucket(time_col, "month")
    stmt = (
        sa.select(month, sa.func.count()).where(*ctx.in_range(time_col), *ctx.customers(customer_col)).group_by(month)
    )
    return {ch.as_date(k): n for k, n in ctx.session.execute(stmt).all()}


def query(ctx: ReportContext) -> ReportData:
    posts = _per_month(ctx, m.CommunityPost.created_at, m.CommunityPost.author_id, "community_post")
    reactions = _per_month(ctx, m.CommunityReaction.created_at, m.CommunityReaction.user_id, "community_reaction")
    if not (posts or reactions):
        return ReportData(["month", "posts", "reactions"], [])
    rows = [(mo, posts.get(mo, 0), reactions.get(mo, 0)) for mo in ch.bucket_starts(ctx.range, "month")]
    return ReportData(["month", "posts", "reactions"], rows)


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    return bar_figure(
        data, ctx, 0, (1, 2), [_l("Posts"), _l("Reactions")], x=str(_l("Month")), y=str(_l("Community activity"))
    )


REPORT = Report(
    key="engagement_community",
    title=_l("Community activity"),
    dashboard="engagement",
    query=query,
    figure=figure,
    order=40,
    records=Records("communityposts"),
    reads=("CommunityPosts",),
)
