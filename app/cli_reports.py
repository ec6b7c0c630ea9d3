"""``flask reports``: engagement rollups and cohort snapshots. Thin: each calls a service."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import AppGroup

reports_cli = AppGroup("reports", help="Dashboard rollups and cohort snapshots.")


@reports_cli.command("snapshot")
@click.option("--period", type=click.Choice(["day", "week", "month"]), default="day", show_default=True)
@click.option("--no-refresh", is_flag=True, help="Do not refresh the engagement rollups first.")
def snapshot(period: str, no_refresh: bool) -> None:
    """Capture today's headline metrics into cohort_snapshots (idempotent per period)."""
    from app.extensions import db
    from app.services.rollups import default_since, refresh_rollups
    from app.services.snapshots import capture_snapshots

    if not no_refresh:
        refresh_rollups(db.session, default_since())
    result = capture_snapshots(db.session, period=period)
    click.echo(f"snapshot {result.captured_at:%Y-%m-%d}: {result.computed} metrics, {result.inserted} new")


@reports_cli.command("refresh-rollups")
@click.option("--since", default=None, help="YYYY-MM-DD; default: start of the previous month.")
@click.option("--full", is_flag=True, help="Rebuild the rollups from all events.")
def refresh(since: str | None, full: bool) -> None:
    """Recompute engagement_daily and customer_activity_monthly from engagement_events."""
    from app.extensions import db
    from app.services.rollups import default_since, refresh_rollups

    try:
        start = None if full else (dt.date.fromisoformat(since) if since else default_since())
    except ValueError:
        raise click.BadParameter(f"{since!r} is not a date (YYYY-MM-DD)", param_hint="--since") from None
    result = refresh_rollups(db.session, start)
    click.echo(
        f"rollups refreshed since {result.since or 'the beginning'}: {result.daily_rows} daily rows, "
        f"{result.monthly_rows} customer-month rows"
    )
