"""`flask jobs worker|cron|list|retry|cancel`: the process entry points for background work."""

from __future__ import annotations

from collections.abc import Callable

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.i18n import option

jobs_cli = AppGroup("jobs", help=_l("Background jobs (RQ workers, cron)."))


@jobs_cli.command("worker", help=_l("Run one RQ worker (all queues unless named) inside this app."))
@click.argument("queues", nargs=-1)
@option("--burst", is_flag=True, help=_l("Exit when the queues are empty."))
@click.option("--with-scheduler/--without-scheduler", default=True, show_default=True)
@option(
    "--set",
    "settings",
    multiple=True,
    help=_l("KEY=VALUE for JOBS_*, RETENTION_*, AUDIT_EXPORT_*, AUTOMATION_* settings."),
)
def worker(queues: tuple[str, ...], burst: bool, with_scheduler: bool, settings: tuple[str, ...]) -> None:
    from app.jobs.runner import AppWorker
    from app.services.jobs.kinds import QUEUES
    from app.services.jobs.queues import get_queue, get_redis

    names = queues or QUEUES
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for item in settings:
        key, _sep, value = item.partition("=")
        if not key.startswith(("JOBS_", "RETENTION_", "AUDIT_EXPORT_", "AUTOMATION_")) or not value:
            message = _("%(value)s: only JOBS_*, RETENTION_*, AUDIT_EXPORT_*, AUTOMATION_* settings", value=repr(item))
            raise click.BadParameter(message, param_hint="--set")
        app.config[key] = float(value) if "." in value else int(value)
    w = AppWorker([get_queue(n) for n in names], connection=get_redis(), app=app, maintenance_interval=60)
    w.work(burst=burst, with_scheduler=with_scheduler)


@jobs_cli.command("cron", help=_l("Run the cron scheduler. Run exactly one of these per deployment."))
def cron() -> None:
    from app.jobs.cron import build_scheduler
    from app.services.jobs.queues import get_redis

    build_scheduler(get_redis()).start()


@jobs_cli.command("retry", help=_l("Re-dispatch a failed (or stale running) job run."))
@click.argument("run_id", type=int)
def retry(run_id: int) -> None:
    from app.services.jobs.runs import retry_run

    _act(retry_run, run_id)
    click.echo(_("job #%(id)s re-dispatched", id=run_id))


@jobs_cli.command("cancel", help=_l("Cancel a queued job run, or ask a running one to stop after its batch."))
@click.argument("run_id", type=int)
def cancel(run_id: int) -> None:
    from app.services.jobs.runs import cancel_run

    _act(cancel_run, run_id)
    click.echo(_("Cancellation requested."))


def _act(action: Callable[[int], object], run_id: int) -> None:
    """Retry or cancel (the service writes the audit row), then commit it."""
    from app.extensions import db
    from app.services.jobs.errors import JobError

    try:
        action(run_id)
    except JobError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()


@jobs_cli.command("list", help=_l("The latest job runs and their state."))
@click.option("--limit", default=20, show_default=True)
def list_runs(limit: int) -> None:
    from app.services.jobs.runs import failure_message, recent_runs

    for run in recent_runs(limit):
        total = run.progress_total if run.progress_total is not None else "?"
        attempts = _("attempts=%(n)s", n=run.attempts)
        click.echo(f"#{run.id:<6} {run.kind:<24} {run.status:<10} {run.progress_done}/{total} {attempts}")
        error = failure_message(run)
        if error:
            click.echo(f"        {error}")


audit_cli = AppGroup("audit", help=_l("The audit trail: verify the chain, export, rechain."))


def register(app: object) -> None:
    app.cli.add_command(jobs_cli)  # type: ignore[attr-defined]
    app.cli.add_command(audit_cli)  # type: ignore[attr-defined]


@audit_cli.command("verify", help=_l("Recompute the hash chain; report the first row where it breaks (exit 1)."))
def audit_verify() -> None:
    from app.services.audit.verify import verify_chain

    with click.progressbar(length=1, label=_("verifying the audit chain")) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        report = verify_chain(progress=progress)
    if report.ok:
        click.echo(_("audit chain OK: %(rows)s rows, head %(head)s", rows=report.rows, head=report.last_hash))
        return
    if report.first_bad_id is None:  # links hold, the signed checkpoints do not
        click.echo(_("audit chain does NOT match its signed checkpoints: %(reason)s", reason=report.reason), err=True)
        raise SystemExit(1)
    click.echo(
        _(
            "audit chain BROKEN at row id %(id)s: %(reason)s",
            id=report.first_bad_id,
            reason=_(report.reason) if report.reason else "",  # marked with N_ in verify.check_row
        ),
        err=True,
    )
    click.echo(_("(%(rows)s rows verified before it)", rows=report.rows), err=True)
    raise SystemExit(1)


@audit_cli.command("rechain", help=_l("Chain rows written without hashes (bulk demo seeding). Audited."))
def audit_rechain() -> None:
    from app.services.audit.verify import rechain

    click.echo(_("rechained %(rows)s rows", rows=rechain()))


@audit_cli.command("export", help=_l("Export audit rows to instance/exports/ with a manifest, in this process."))
@option("--from", "start", required=True, help=_l("YYYY-MM-DD or ISO datetime (UTC)"))
@option("--to", "end", required=True, help=_l("YYYY-MM-DD (that whole day) or ISO datetime (UTC, exclusive)"))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@option("--actor", default=None, help=_l("platform user id (UUID)"))
@click.option("--action", default=None)
@click.option("--resource-type", default=None)
def audit_export(
    start: str, end: str, fmt: str, actor: str | None, action: str | None, resource_type: str | None
) -> None:
    from app.services.compliance.audit_export import ExportError, build_params, request_export
    from app.services.jobs.context import run_inline
    from app.services.jobs.runs import failure_message

    try:
        params = build_params(start, end, fmt, actor, action, resource_type)
    except ExportError as exc:
        raise click.BadParameter(str(exc)) from None
    run = request_export(params, None, enqueue=False)
    with click.progressbar(length=1, label=_("export #%(id)s", id=run.id)) as bar:

        def progress(done: int, total: int | None) -> None:
            bar.length = max(total or 1, 1)
            bar.update(done - bar.pos)

        finished = run_inline(run, progress)
    if finished is None or finished.status != "succeeded":
        reason = (failure_message(finished) or finished.status) if finished else _("not run")
        raise click.ClickException(_("export failed: %(error)s", error=reason))
    click.echo(
        _(
            "%(rows)s rows -> %(file)s (sha256 %(sha256)s)",
            rows=finished.result["rows"],
            file=finished.result["file"],
            sha256=finished.result["sha256"],
        )
    )


@audit_cli.command("checkpoint", help=_l("Sign the chain's head and start now (table and checkpoint files)."))
@click.option("--new-start", is_flag=True, help=_l("Accept a moved chain start (after archiving audit rows)."))
def audit_checkpoint(new_start: bool) -> None:
    from app.services.audit.checkpoints import CheckpointRefused, write

    try:
        body = write(new_start=new_start)
    except CheckpointRefused as exc:
        raise click.ClickException(_("checkpoint refused: %(reason)s", reason=str(exc))) from None
    click.echo(_("checkpoint signed: head id %(id)s, %(rows)s rows", id=body.get("head_id"), rows=body.get("rows")))


@audit_cli.command("public-key", help=_l("Print the audit signing key's public key (hex), for offline verifiers."))
def audit_public_key() -> None:
    from app.services.audit.signing import public_key_hex

    click.echo(public_key_hex())


@audit_cli.command("verify-export", help=_l("Check an export file (or its manifest): signature, SHA-256, rows."))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def audit_verify_export(path: str) -> None:
    from pathlib import Path

    from app.services.compliance.audit_export import ExportError, manifest_for, verify_export

    try:
        body = verify_export(manifest_for(Path(path)))
    except (ExportError, OSError, ValueError, KeyError) as exc:
        raise click.ClickException(_("export does NOT verify: %(error)s", error=str(exc))) from None
    if body.get("chain_verified") is False:
        raise click.ClickException(_("export verifies, but its chain did not: %(problem)s",
                                     problem=body.get("chain_problem")))  # fmt: skip
    click.echo(_("export OK: %(rows)s rows, sha256 %(sha256)s", rows=body["rows"], sha256=body["sha256"]))
