"""``flask`` sub-commands: roles, accounts, demo data. Thin: each calls a service.

Every line a person reads is translated: the language is ``COACHDESK_LOCALE``, else
LC_ALL/LC_MESSAGES/LANG, else English (``app.i18n.process_locale``). Help texts are lazy and
options use ``app.i18n.option`` so they are translated when ``--help`` runs.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.cli.jobs import register as register_compliance_cli
from app.i18n import option


def register_cli(app: Flask) -> None:
    app.cli.add_command(roles_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    register_compliance_cli(app)
    from app.cli.events import register as register_events_cli

    register_events_cli(app)
    from app.cli.automation import register as register_automation_cli

    register_automation_cli(app)
    from app.cli.reports import reports_cli

    app.cli.add_command(reports_cli)
    from app.cli.api_clients import register as register_api_clients_cli

    register_api_clients_cli(app)
    from app.cli.deliveries import register as register_deliveries_cli

    register_deliveries_cli(app)
    from app.cli.awards import register as register_awards_cli

    register_awards_cli(app)


roles_cli = AppGroup("roles", help=_l("Console roles and permissions."))
users_cli = AppGroup("users", help=_l("Console accounts."))
demo_cli = AppGroup("demo", help=_l("Demo data."))

RANDOM_PASSWORD_HELP = _l("Default: a random password, printed once.")


@roles_cli.command("sync", help=_l("Make the database's roles and permissions match app/policy/roles.py."))
def roles_sync() -> None:
    from app.extensions import appbuilder
    from app.policy.sync import sync_roles

    report = sync_roles(appbuilder)
    click.echo(
        _(
            "roles synced: %(created)s created, %(granted)s permissions granted, %(revoked)s revoked",
            created=len(report.created_roles),
            granted=report.granted,
            revoked=report.revoked,
        )
    )


@users_cli.command("create-admin", help=_l("Create an Admin console account linked to a platform user."))
@click.option("--username", default="admin", show_default=True)
@click.option("--email", default="admin@coachdesk.local", show_default=True)
@click.option("--name", "full_name", default="Coachdesk Admin", show_default=True)
@option("--password", default=None, help=RANDOM_PASSWORD_HELP)
def create_admin(username: str, email: str, full_name: str, password: str | None) -> None:
    create_account(username, email, full_name, "Admin", password)


@users_cli.command("create", help=_l("Create a console account with one role."))
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--role", required=True, type=click.Choice(["Admin", "Support", "Coach", "Manager", "Compliance"]))
@option("--password", default=None, help=RANDOM_PASSWORD_HELP)
def create_user(username: str, email: str, full_name: str, role: str, password: str | None) -> None:
    create_account(username, email, full_name, role, password)


def create_account(username: str, email: str, full_name: str, role: str, password: str | None) -> None:
    from app.extensions import appbuilder
    from app.services.accounts import AccountError, create_console_account

    try:
        account = create_console_account(
            appbuilder.sm, username=username, email=email, full_name=full_name, role=role, password=password
        )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        _(
            "created %(role)s account: username=%(username)s password=%(password)s",
            role=role,
            username=account.username,
            password=account.password,
        )
    )


@demo_cli.command("seed", help=_l("Fill every table with coherent demo data and print one login per role."))
@click.option("--customers", default=200, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--seed", default=7, show_default=True, type=int)
@option("--quiet", is_flag=True, help=_l("No progress bar."))
def demo_seed(customers: int, seed: int, quiet: bool) -> None:
    from app.extensions import appbuilder
    from app.services.demo_data import DemoDataError, seed_demo_data

    try:
        result = seed_demo_data(appbuilder.sm, customers=customers, seed=seed, progress=not quiet)
    except DemoDataError as exc:
        raise click.ClickException(str(exc)) from None
    for line in result.summary_lines():
        click.echo(line)
