"""`flask billing run-daily [--date YYYY-MM-DD]`: the cron's billing run by hand, recorded, with a progress bar.

``--date`` runs the day as of noon UTC of that date (a catch-up after an outage, or a rehearsal).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.cli.progress import run_here
from app.i18n import option

billing_cli = AppGroup("billing", help=_l("Billing: renewals, the end of pauses and terms, dunning retries."))


def register(app: Any) -> None:
    app.cli.add_command(billing_cli)


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(_("expected a date as YYYY-MM-DD")) from None


@billing_cli.command("run-daily", help=_l("Resume ended pauses, end subscriptions, renew what is due, charge, retry."))
@option("--date", "day", default=None, callback=_date, help=_l("Run as of this day (YYYY-MM-DD); default now."))
def run_daily(day: str | None) -> None:
    from app.services.billing.jobs import DAILY_KIND

    result = run_here(DAILY_KIND, {"date": day} if day else {}, _("renewing subscriptions"), _("subscriptions"))
    click.echo(
        _(
            "%(date)s: %(renewed)s subscriptions renewed (%(invoices)s invoices, %(trials)s trials ended); "
            "%(resumed)s resumed, %(cancelled)s cancelled at period end, %(expired)s expired; "
            "%(charged)s charged, %(failures)s failed; %(retries)s retries, %(recovered)s recovered",
            date=result.get("date"),
            renewed=result.get("renewed", 0),
            invoices=result.get("invoices", 0),
            trials=result.get("trials_ended", 0),
            resumed=result.get("resumed", 0),
            cancelled=result.get("cancelled", 0),
            expired=result.get("expired", 0),
            charged=result.get("charged", 0),
            failures=result.get("charge_failures", 0),
            retries=result.get("retries", 0),
            recovered=result.get("recovered", 0),
        )
    )


@billing_cli.command("run-dunning", help=_l("Run the dunning retries that are due now."))
def run_dunning() -> None:
    from app.services.billing.jobs import DUNNING_KIND

    result = run_here(DUNNING_KIND, {}, _("retrying payments"), _("retries"))
    click.echo(
        _(
            "%(n)s retries: %(ok)s recovered, %(failed)s failed, %(cancelled)s subscriptions cancelled",
            n=result.get("retries", 0),
            ok=result.get("recovered", 0),
            failed=result.get("failed", 0),
            cancelled=result.get("cancelled", 0),
        )
    )
