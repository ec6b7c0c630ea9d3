"""`flask deliveries run|retry`: send the queued message and announcement deliveries from the command line.

``run`` is the cron's minute (every due delivery, batch after batch) as a recorded job run with a
progress bar; ``retry`` queues FAILED deliveries again, audited, for the next run.
"""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.cli.progress import run_here
from app.i18n import option

deliveries_cli = AppGroup("deliveries", help=_l("Message and announcement deliveries: send what is due, retry."))


def register(app: Any) -> None:
    app.cli.add_command(deliveries_cli)


@deliveries_cli.command("run", help=_l("Send every due delivery (email, push, in-app), batch after batch."))
@option("--announcement", "announcement_id", type=click.IntRange(1), help=_l("Only this announcement's deliveries."))
def run(announcement_id: int | None) -> None:
    from app.services.engagement.delivery import DELIVER_KIND

    params = {"announcement_id": announcement_id} if announcement_id else {}
    result = run_here(DELIVER_KIND, params, _("delivering"), _("deliveries"))
    click.echo(
        _(
            "%(claimed)s deliveries handled: %(sent)s sent, %(skipped)s skipped, %(retrying)s to retry later, "
            "%(failed)s failed",
            **{k: result.get(k, 0) for k in ("claimed", "sent", "skipped", "retrying", "failed")},
        )
    )


@deliveries_cli.command("retry", help=_l("Queue FAILED deliveries again for the next run."))
@click.argument("ids", type=click.IntRange(1), nargs=-1, required=True)
def retry(ids: tuple[int, ...]) -> None:
    from app.extensions import db
    from app.models.base import utcnow
    from app.services.engagement.delivery import retry_failed

    requeued = retry_failed(ids, now=utcnow())
    db.session.commit()
    click.echo(_("%(n)s deliveries queued again", n=len(requeued)))
    missing = sorted(set(ids) - set(requeued))
    if missing:
        click.echo(_("not FAILED or unknown: %(ids)s", ids=", ".join(map(str, missing))))
