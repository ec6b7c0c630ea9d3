"""``flask reports``: engagement rollups and cohort snapshots. Thin: each calls a service."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.i18n import option

reports_cli = AppGroup("reports", help=_l("Dashboard rollups and cohort snapshots."))


@reports_cli.command(
    "snapshot", help=_l("Capture today's headline metrics into cohort_snapshots (idempotent per period).")
)
@click.option("--period", type=click.Choice(["day", "week", "month"]), default="day", show_default=True)
@option("--no-refresh", is_flag=True, help=_l("Do not refresh the engagement rollups first."))
def snapshot(period: str, no_refresh: bool) -> None:
    from app.extensions import db
    from app.services.analytics.rollups import default_since, refresh_rollups
    from app.services.analytics.snapshots import capture_snapshots

    if not no_refresh:
        refresh_rollups(db.session, default_since())
    result = capture_snapshots(db.session, period=period)
    click.echo(
        _(
            "snapshot %(day)s: %(computed)s metrics, %(inserted)s new",
            day=f"{result.captured_at:%Y-%m-%d}",
            computed=result.computed,
            inserted=result.inserted,
        )
    )


@reports_cli.command(
    "refresh-rollups", help=_l("Recompute engagement_daily and customer_activity_monthly from engagement_events.")
)
@option("--since", default=None, help=_l("YYYY-MM-DD; default: start of the previous month."))
@option("--full", is_flag=True, help=_l("Rebuild the rollups from all events."))
def refresh(since: str | None, full: bool) -> None:
    from app.extensions import db
    from app.services.analytics.rollups import default_since, refresh_rollups

    try:
        start = None if full else (dt.date.fromisoformat(since) if since else default_since())
    except ValueError:
        raise click.BadParameter(
            _("%(value)s is not a date (YYYY-MM-DD)", value=repr(since)), param_hint="--since"
        ) from None
    result = refresh_rollups(db.session, start)
    click.echo(
        _(
            "rollups refreshed since %(since)s: %(daily)s daily rows, %(monthly)s customer-month rows",
            since=result.since or _("the beginning"),
            daily=result.daily_rows,
            monthly=result.monthly_rows,
        )
    )
