"""A challenge's leaderboard page (/leaderboard/<challenge id>), linked from the challenge's show page.

Reading needs ``ChallengeResults`` read (Admin, Support, Coach, Manager); a coach sees every rank
and score but only their own customers' names (``awards.leaderboard``).
"""

from __future__ import annotations

import decimal
from typing import Any

from flask import abort
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models.engagement import Challenge
from app.services.awards.leaderboard import board
from app.web.views.json_api import current_actor

UNITS = {
    "WORKOUTS": _l("workouts"),
    "MINUTES": _l("min"),
    "STEPS": _l("steps"),
    "DISTANCE_KM": _l("km"),
    "HABIT_DAYS": _l("days"),
}
METRICS = {
    "WORKOUTS": _l("Workouts"),
    "MINUTES": _l("Active minutes"),
    "STEPS": _l("Steps"),
    "DISTANCE_KM": _l("Distance"),
    "HABIT_DAYS": _l("Habit days"),
}
AGGREGATIONS = {"SUM": _l("total"), "MAX": _l("best"), "COUNT": _l("count")}


def score_text(value: decimal.Decimal) -> str:
    """12000.00 -> 12,000; 12.50 -> 12.5 (the viewer's number format comes from the template filter)."""
    normal = value.normalize()
    return f"{int(normal):,}" if normal == normal.to_integral_value() else f"{normal:,}"


class LeaderboardView(BaseView):
    route_base = "/leaderboard"
    default_view = "show"
    class_permission_name = "ChallengeResults"
    method_permission_name = {"show": "read"}

    @expose("/<int:challenge_id>")
    @has_access
    def show(self, challenge_id: int) -> Any:
        challenge = db.session.get(Challenge, challenge_id)
        if challenge is None:
            abort(404)
        data = board(db.session, challenge, current_actor())
        return self.render_template(
            "leaderboard/show.html",
            board=data,
            unit=UNITS.get(data.metric or "", ""),
            metric_label=METRICS.get(data.metric or "", ""),
            aggregation_label=AGGREGATIONS.get(data.aggregation or "", ""),
            score_text=score_text,
        )


def register(appbuilder: Any) -> None:
    appbuilder.add_view_no_menu(LeaderboardView)
