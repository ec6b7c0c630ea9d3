"""`flask events dispatch|detect|types`: the domain-event outbox from the command line.

Each command records a job run (``job_runs``, like the cron's) and runs it here, with a progress
bar (``app.cli.progress``), so what the cron does every minute can be done by hand and seen in the same place.
"""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.cli.progress import run_here as _run
from app.i18n import option

events_cli = AppGroup("events", help=_l("Domain events: dispatch the outbox, detect missed days and breaches."))


def register(app: Any) -> None:
    app.cli.add_command(events_cli)


@events_cli.command("dispatch", help=_l("Hand every undispatched event to the handlers, in batches."))
@option("--batch-size", type=click.IntRange(1, 10000), default=None, help=_l("Events per transaction."))
def dispatch(batch_size: int | None) -> None:
    from app.services.events.jobs import DISPATCH_KIND

    params = {"batch_size": batch_size} if batch_size else {}
    result = _run(DISPATCH_KIND, params, _("dispatching events"), _("events"))
    click.echo(_("%(n)s events dispatched in %(b)s batches", n=result["dispatched"], b=result["batches"]))


@events_cli.command("detect", help=_l("Run a detector now: missed_plan_items, overdue_invoices or sla_breaches."))
@click.argument("detector")
def detect(detector: str) -> None:
    from app.services.events.detectors import DETECTORS
    from app.services.events.jobs import DETECT_KIND

    if detector not in DETECTORS:
        raise click.BadParameter(
            _("%(name)s: expected one of %(names)s", name=detector, names=", ".join(DETECTORS)), param_hint="DETECTOR"
        )
    result = _run(DETECT_KIND, {"detector": detector}, _("detecting"), _("events"))
    click.echo(_("%(n)s events emitted", n=result["emitted"]))


@events_cli.command("types", help=_l("List the event catalogue: each trigger and its condition fields."))
def types() -> None:
    from app.services.events.catalogue import describe_all

    for event in describe_all():
        click.echo(f"{event['name']:<28} {event['label']}")
        for f in event["fields"]:
            extra = ",".join(f.get("values", ())) or f.get("unit") or f.get("unit_field") or ""
            click.echo(f"    {f['name']:<22} {f['kind']:<9} {extra}")
