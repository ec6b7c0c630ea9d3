"""The home page: each console role's workspace (issue 17), one section per role the person holds.

The panels are built by ``app.services.workspaces`` (bounded, row-scoped queries); this view picks
the sections, supplies the viewer's zone and the settings, and formats. Read-only: nothing to commit.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from flask import current_app, g, redirect, url_for
from flask_appbuilder import IndexView, expose
from flask_babel import (
    format_currency,
    format_date,
    format_datetime,
    format_decimal,
    format_percent,
    format_time,
    get_timezone,
)

from app.extensions import db
from app.jobs.cron import CRON_TABLE
from app.models.base import utcnow
from app.models.jobs import JobStatus
from app.models.labels import enum_label
from app.policy.roles import ADMIN, COACH, COMPLIANCE, MANAGER, SUPPORT
from app.services.workspaces import admin as admin_ws
from app.services.workspaces import coach as coach_ws
from app.services.workspaces import compliance as compliance_ws
from app.services.workspaces import manager as manager_ws
from app.services.workspaces import support as support_ws

# The order sections appear in for a person with several roles: day-to-day work first.
SECTION_ORDER = (COACH, SUPPORT, MANAGER, COMPLIANCE, ADMIN)
RETENTION_ENTRY = "app.jobs.cron.dispatch_retention"
DEFAULT_INACTIVE_DAYS = 7


def _zone() -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(str(get_timezone()))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _cron_of(entry: str) -> str | None:
    for function, _queue, when in CRON_TABLE:
        if function == entry:
            return when.get("cron")
    return None


def _job_status(value: str) -> str:
    try:
        return enum_label(JobStatus(value))
    except ValueError:
        return value


def _figure(tile: manager_ws.Tile, value: Any = None) -> str:
    """A KPI value for a tile: a count, money in its currency, or a rate as a percentage."""
    value = tile.value if value is None else value
    if value is None:
        return "–"
    if tile.kind == "money" and tile.currency:
        return format_currency(value, tile.currency)
    if tile.kind == "rate":
        return format_percent(value, "#,##0.#%")
    return format_decimal(value)


def sections_for(roles: set[str], user: Any) -> dict[str, Any]:
    """The workspace of each of ``roles`` for ``user`` (a console account)."""
    session, now, zone = db.session, utcnow(), _zone()
    out: dict[str, Any] = {}
    for role in SECTION_ORDER:
        if role not in roles:
            continue
        if role == COACH:
            coach_id = getattr(user, "platform_user_id", None)
            if coach_id is None:
                continue
            days = int(current_app.config.get("WORKSPACE_INACTIVE_DAYS", DEFAULT_INACTIVE_DAYS))
            out[role] = coach_ws.build(session, coach_id, now, zone, days)
        elif role == SUPPORT:
            out[role] = support_ws.build(session, now)
        elif role == MANAGER:
            out[role] = manager_ws.build(session, now.astimezone(zone).date())
        elif role == COMPLIANCE:
            out[role] = compliance_ws.build(session, now, _cron_of(RETENTION_ENTRY))
        elif role == ADMIN:
            out[role] = admin_ws.build(session, now)
    return out


class HomeView(IndexView):
    index_template = "coachdesk/home.html"

    @expose("/")
    def index(self) -> Any:
        user = g.user
        if user is None or user.is_anonymous:
            return redirect(url_for(self.appbuilder.sm.auth_view.endpoint + ".login"))
        roles = {r.name for r in user.roles}
        return self.render_template(
            self.index_template,
            sections=sections_for(roles, user),
            label=enum_label,
            job_status=_job_status,
            figure=_figure,
            verification_ok=compliance_ws.verification_ok,
            when=lambda value: format_datetime(value, "short") if value else "",
            hm=lambda value: format_time(value, "short") if value else "",
            day=lambda value: format_date(value, "medium") if value else "",
            number=format_decimal,
            money=format_currency,
        )


def register(appbuilder: Any) -> None:
    """The index view is installed by FAB itself from FAB_INDEX_VIEW."""
