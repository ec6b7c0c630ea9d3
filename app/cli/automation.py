"""`flask automation run|fire-schedules|detect-inactive|dry-run`: the rule engine from the command line.

``run`` is the cron's minute (dispatch the outbox to the rules, run the due executions) as a
recorded job run with a progress bar; ``fire-schedules`` and ``detect-inactive`` record the
executions of time-driven rules now (the next ``run`` runs them); ``dry-run`` shows what a saved
rule would have done, writing nothing.
"""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.cli.progress import run_here
from app.i18n import option

automation_cli = AppGroup("automation", help=_l("Automation rules: run the engine, fire time-driven rules, dry runs."))


def register(app: Any) -> None:
    app.cli.add_command(automation_cli)


@automation_cli.command("run", help=_l("Dispatch waiting events to the rules, then run every due execution."))
def run() -> None:
    from app.services.automation.jobs import RUN_KIND

    result = run_here(RUN_KIND, {}, _("running automations"), _("items"))
    click.echo(
        _(
            "%(events)s events dispatched; %(runs)s executions run: %(ok)s succeeded, %(failed)s failed, "
            "%(retrying)s to retry, %(deferred)s waiting for quiet hours",
            events=result.get("events", 0),
            runs=result.get("executions", 0),
            ok=result.get("succeeded", 0),
            failed=result.get("failed", 0),
            retrying=result.get("retrying", 0),
            deferred=result.get("deferred", 0),
        )
    )
    for rule_id in result.get("paused_rules") or []:
        click.echo(_("rule #%(id)s paused itself after repeated failures", id=rule_id))


@automation_cli.command("fire-schedules", help=_l("Record the executions of SCHEDULE rules whose time has come."))
def fire_schedules() -> None:
    from app.extensions import db
    from app.services.automation.schedules import fire_due_schedules

    added = fire_due_schedules(db.session)
    db.session.commit()
    click.echo(_("%(n)s executions recorded for scheduled rules", n=added))


@automation_cli.command("detect-inactive", help=_l("Record the executions of INACTIVITY rules for idle customers."))
def detect_inactive() -> None:
    from app.extensions import db
    from app.services.automation.inactivity import detect_inactive as detect

    added = detect(db.session)
    db.session.commit()
    click.echo(_("%(n)s executions recorded for inactive customers", n=added))


@automation_cli.command("dry-run", help=_l("Show what a saved rule would have done, without doing anything."))
@click.argument("rule_id", type=int)
@option("--days", type=click.IntRange(1, 365), default=30, show_default=True, help=_l("Days of events to replay."))
@option("--sample", type=click.IntRange(0, 100), default=10, show_default=True, help=_l("Customers to show."))
@option("--json", "as_json", is_flag=True, help=_l("Print the report as JSON."))
def dry_run(rule_id: int, days: int, sample: int, as_json: bool) -> None:
    from app.extensions import db
    from app.models.automation import AutomationRule
    from app.services.automation import dry_run as service
    from app.services.automation.rules import RuleDraft, RuleInvalid

    rule = db.session.get(AutomationRule, rule_id)
    if rule is None:
        raise click.BadParameter(_("No rule #%(id)s.", id=rule_id), param_hint="RULE_ID")
    try:
        report = service.run(db.session, RuleDraft.of(rule), days=days, sample=sample, rule_id=rule.id)
    except RuleInvalid as exc:
        raise click.ClickException("\n".join(f"{p.path or '-'}: {p.message}" for p in exc.problems)) from None
    finally:
        db.session.rollback()  # a dry run writes nothing; make sure nothing is left pending either
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    _print(report.as_dict())


def _print(report: dict[str, Any]) -> None:
    if report["trigger"] == "event":
        click.echo(
            _(
                "last %(days)s days: %(scanned)s events, %(matched)s matched, %(customers)s customers, "
                "%(would_run)s executions would have run",
                **report,
            )
        )
    else:
        click.echo(
            _(
                "now: %(scanned)s customers considered, %(matched)s match, %(would_run)s executions would run",
                **report,
            )
        )
    for row in report["sample"]:
        who = row["customer"] or row["customer_id"] or _("(no customer)")
        click.echo(f"\n{who}  {row['occurred_at'] or ''}")
        for line in row["why"]:
            click.echo(f"    {line}")
        for action in row["actions"]:
            click.echo(f"  → {action['label']}: {action['preview']}")
    if report["truncated"]:
        click.echo("\n" + _("(more customers match than shown)"))
