"""`flask awards`: evaluate badge criteria and rank challenges now, as recorded job runs with a progress bar."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.cli.progress import run_here

awards_cli = AppGroup("awards", help=_l("Badges and challenges: award badges, rank challenges."))


def register(app: Any) -> None:
    app.cli.add_command(awards_cli)


@awards_cli.command("evaluate-badges", help=_l("Award every badge to every customer who meets its criteria."))
def evaluate_badges() -> None:
    from app.services.awards.jobs import EVALUATE_BADGES

    result = run_here(EVALUATE_BADGES, {}, _("evaluating badges"), _("badges"))
    click.echo(_("%(badges)s badges evaluated, %(awarded)s new awards", badges=result.get("badges", 0),
                 awarded=result.get("awarded", 0)))  # fmt: skip
    for code, count in sorted((result.get("per_badge") or {}).items()):
        click.echo(f"  {code}: {count}")
    for code in result.get("invalid") or []:
        click.echo(_("badge %(code)s skipped: its criteria are invalid", code=code))


@awards_cli.command("rank-challenges", help=_l("Score and rank every running challenge; finalize those that ended."))
def rank_challenges() -> None:
    from app.services.awards.jobs import RANK_CHALLENGES

    result = run_here(RANK_CHALLENGES, {}, _("ranking challenges"), _("challenges"))
    click.echo(_("%(challenges)s challenges ranked (%(final)s finalized), %(changed)s results changed",
                 challenges=result.get("challenges", 0), final=result.get("finalized", 0),
                 changed=result.get("changed", 0)))  # fmt: skip
    for challenge_id in result.get("invalid") or []:
        click.echo(_("challenge #%(id)s skipped: its rules are invalid", id=challenge_id))
