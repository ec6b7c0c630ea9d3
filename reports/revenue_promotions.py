"""Revenue: promotion use, from ``promotion_redeemed`` engagement events (payload ``code``).

The seed model links promotions to nothing else; redemptions are recorded as engagement
events with the promotion code in the payload.
"""

from __future__ import annotations

import plotly.graph_objects as go
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import models as m
from app.services.analytics import charting as ch
from app.services.analytics.reports import Records, Report, ReportContext, ReportData, bar_figure

EVENT_TYPE = "promotion_redeemed"
TOP = 20


def query(ctx: ReportContext) -> ReportData:
    ev = m.EngagementEvent
    code = ev.payload_json["code"].as_string()
    counts = sa.func.count()
    stmt = (
        sa.select(code, counts)
        .where(ev.event_type == EVENT_TYPE, *ctx.in_range(ev.occurred_at), *ctx.customers(ev.customer_id))
        .group_by(code)
        .order_by(counts.desc(), code)
        .limit(TOP)
    )
    rows = [(ch.label(c), n) for c, n in ctx.session.execute(stmt).all()]
    return ReportData(["promotion_code", "redemptions"], rows)


def figure(data: ReportData, ctx: ReportContext) -> go.Figure:
    return bar_figure(data, ctx, 0, (1,), [_l("Redemptions")], x=str(_l("Promotion code")), y=str(_l("Redemptions")))


REPORT = Report(
    key="revenue_promotions",
    title=_l("Promotion use"),
    dashboard="revenue",
    query=query,
    figure=figure,
    order=50,
    records=Records("engagementevents", {"event_type": EVENT_TYPE}),
    reads=("Promotions", "EngagementEvents"),
)
