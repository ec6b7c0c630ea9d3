"""`flask api-clients create|list|rotate|suspend|reactivate|revoke`: API clients for scripted setups.

Thin: each command parses its input, calls ``app.services.api_clients.lifecycle`` and commits. A key
is printed once, by ``create`` and ``rotate``, on a line of its own (easy to capture in a script);
no other command prints anything secret: ``list`` shows the public key prefix, never a hash.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.i18n import option

api_clients_cli = AppGroup("api-clients", help=_l("API clients: machine credentials for the REST API."))


def register(app: Any) -> None:
    app.cli.add_command(api_clients_cli)


def _expiry(value: str | None) -> dt.datetime | None:
    """A date (the key works through that day, UTC) or an ISO date and time (UTC unless it says otherwise)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text) + dt.timedelta(days=1), dt.time.min, dt.UTC)
        moment = dt.datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise click.BadParameter(
            _("%(value)s is not a date (YYYY-MM-DD) or a date and time.", value=text[:40]), param_hint="--expires"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _refused(exc: Exception) -> click.ClickException:
    from app.extensions import db

    db.session.rollback()
    return click.ClickException(str(exc))


EXPIRES_HELP = _l("The key works through this date (YYYY-MM-DD, UTC), or until an ISO date and time.")


@api_clients_cli.command("create", help=_l("Create an API client and print its key (shown this once)."))
@option("--name", required=True, help=_l("A unique name, e.g. the partner or app."))
@option("--scopes", required=True, help=_l("Scopes, space or comma separated, e.g. 'customers:read plans:read'."))
@option("--rate-limit", type=int, default=60, show_default=True, help=_l("Requests per minute."))
@option("--coach", "coach_email", default=None, help=_l("Act for this coach's customers (the coach's email)."))
@option("--customer", "customer_email", default=None, help=_l("Act for this one customer (their email)."))
@option("--expires", default=None, help=EXPIRES_HELP)
def create(
    name: str, scopes: str, rate_limit: int, coach_email: str | None, customer_email: str | None, expires: str | None
) -> None:
    from app.extensions import db
    from app.models.identity import RoleCode
    from app.services.api_clients import lifecycle

    if coach_email and customer_email:
        raise click.UsageError(_("Give --coach or --customer, not both."))
    expires_at = _expiry(expires)
    try:
        coach = lifecycle.find_subject(db.session, coach_email, RoleCode.COACH) if coach_email else None
        customer = lifecycle.find_subject(db.session, customer_email, RoleCode.CUSTOMER) if customer_email else None
        issued = lifecycle.create(
            db.session,
            name=name,
            scopes=scopes,
            rate_limit=rate_limit,
            coach=coach,
            customer=customer,
            expires_at=expires_at,
        )
        db.session.commit()
    except lifecycle.ClientRefused as exc:
        raise _refused(exc) from None
    click.echo(_("created API client %(name)s; its key (shown once, store it now):", name=issued.client.name))
    click.echo(issued.key)


@api_clients_cli.command("list", help=_l("List the API clients (no secrets)."))
def list_clients() -> None:
    import sqlalchemy as sa

    from app.extensions import db
    from app.models.automation import APIClient

    clients = db.session.scalars(sa.select(APIClient).order_by(APIClient.name)).all()
    if not clients:
        click.echo(_("no API clients"))
        return
    for client in clients:
        subject = ""
        if client.coach is not None:
            subject = _("coach %(email)s", email=client.coach.email)
        elif client.customer is not None:
            subject = _("customer %(email)s", email=client.customer.email)
        expires = client.expires_at.isoformat(timespec="minutes") if client.expires_at else "-"
        click.echo(
            "\t".join(
                [
                    client.name,
                    str(client.status.value),
                    f"cdk_{client.key_prefix}_…" if client.key_prefix else "-",
                    client.scopes or "-",
                    _("%(n)s/min", n=client.rate_limit),
                    subject or "-",
                    _("expires %(when)s", when=expires),
                ]
            )
        )


def _step(name: str, change: Any, done: str, unchanged: str) -> None:
    from app.extensions import db
    from app.services.api_clients import lifecycle

    try:
        client = lifecycle.by_name(db.session, name)
        changed = change(db.session, client)
        db.session.commit()
    except lifecycle.ClientRefused as exc:
        raise _refused(exc) from None
    click.echo((done if changed else unchanged) % {"name": client.name})


@api_clients_cli.command("rotate", help=_l("Issue a new key; the current one keeps working for the overlap."))
@click.argument("name")
@option(
    "--overlap",
    type=click.FloatRange(0, 720),
    default=24,
    show_default=True,
    help=_l("Hours the current key stays valid (0: it stops now)."),
)
def rotate(name: str, overlap: float) -> None:
    from app.extensions import db
    from app.services.api_clients import lifecycle

    try:
        client = lifecycle.by_name(db.session, name)
        issued = lifecycle.rotate(db.session, client, dt.timedelta(hours=overlap))
        db.session.commit()
    except lifecycle.ClientRefused as exc:
        raise _refused(exc) from None
    until = client.previous_key_expires_at
    if until is not None:
        when = until.isoformat("T", "minutes")
        click.echo(_("the previous key of %(name)s works until %(when)s", name=client.name, when=when))
    else:
        click.echo(_("the previous key of %(name)s no longer works", name=client.name))
    click.echo(_("new key (shown once, store it now):"))
    click.echo(issued.key)


@api_clients_cli.command("suspend", help=_l("Stop a client's keys until it is reactivated."))
@click.argument("name")
def suspend(name: str) -> None:
    from app.services.api_clients import lifecycle

    _step(name, lifecycle.suspend, _("suspended %(name)s"), _("%(name)s was already suspended"))


@api_clients_cli.command("reactivate", help=_l("Accept a suspended client's keys again."))
@click.argument("name")
def reactivate(name: str) -> None:
    from app.services.api_clients import lifecycle

    _step(name, lifecycle.reactivate, _("reactivated %(name)s"), _("%(name)s was already active"))


@api_clients_cli.command("revoke", help=_l("Revoke a client for good: its keys never work again."))
@click.argument("name")
def revoke(name: str) -> None:
    from app.services.api_clients import lifecycle

    _step(name, lifecycle.revoke, _("revoked %(name)s"), _("%(name)s was already revoked"))
