"""`flask jobs worker|cron|list|retry|cancel`: the process entry points for background work."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

jobs_cli = AppGroup("jobs", help="Background jobs (RQ workers, cron).")


@jobs_cli.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option("--with-scheduler/--without-scheduler", default=True, show_default=True)
@click.option("--set", "settings", multiple=True, help="KEY=VALUE for JOBS_*, RETENTION_*, AUDIT_EXPORT_* settings.")
def worker(queues: tuple[str, ...], burst: bool, with_scheduler: bool, settings: tuple[str, ...]) -> None:
    """Run one RQ worker (all queues unless named) inside this app."""
    from app.jobs.runner import AppWorker
    from app.services.jobs import QUEUES, get_queue, get_redis

    names = queues or QUEUES
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for item in settings:
        key, _, value = item.partition("=")
        if not key.startswith(("JOBS_", "RETENTION_", "AUDIT_EXPORT_")) or not value:
            raise click.BadParameter(f"{item!r}: only JOBS_*, RETENTION_*, AUDIT_EXPORT_* settings", param_hint="--set")
        app.config[key] = float(value) if "." in value else int(value)
    w = AppWorker([get_queue(n) for n in names], connection=get_redis(), app=app, maintenance_interval=60)
    w.work(burst=burst, with_scheduler=with_scheduler)


@jobs_cli.command("cron")
def cron() -> None:
    """Run the cron scheduler. Run exactly one of these per deployment."""
    from app.jobs.cron import build_scheduler
    from app.services.jobs import get_redis

    build_scheduler(get_redis()).start()


@jobs_cli.command("retry")
@click.argument("run_id", type=int)
def retry(run_id: int) -> None:
    """Re-dispatch a failed (or stale running) job run."""
    from app.services.jobs import JobError, retry_run

    try:
        retry_run(run_id)
    except JobError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"job #{run_id} re-dispatched")


@jobs_cli.command("list")
@click.option("--limit", default=20, show_default=True)
def list_runs(limit: int) -> None:
    """The latest job runs and their state."""
    from app.services.jobs import recent_runs

    for run in recent_runs(limit):
        total = run.progress_total if run.progress_total is not None else "?"
        click.echo(f"#{run.id:<6} {run.kind:<24} {run.status:<10} {run.progress_done}/{total} attempts={run.attempts}")


audit_cli = AppGroup("audit", help="The audit trail: verify the chain, export, rechain.")


def register(app: object) -> None:
    app.cli.add_command(jobs_cli)  # type: ignore[attr-defined]
    app.cli.add_command(audit_cli)  # type: ignore[attr-defined]


@audit_cli.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain; report the first row where it breaks (exit 1)."""
    from app.services.audit import verify_chain

    report = verify_chain()
    if report.ok:
        click.echo(f"audit chain OK: {report.rows} rows, head {report.last_hash}")
        return
    click.echo(f"audit chain BROKEN at row id {report.first_bad_id}: {report.reason}", err=True)
    click.echo(f"({report.rows} rows verified before it)", err=True)
    raise SystemExit(1)


@audit_cli.command("rechain")
def audit_rechain() -> None:
    """Chain rows written without hashes (bulk demo seeding). Audited."""
    from app.services.audit import rechain

    click.echo(f"rechained {rechain()} rows")


@audit_cli.command("export")
@click.option("--from", "start", required=True, help="YYYY-MM-DD or ISO datetime (UTC)")
@click.option("--to", "end", required=True, help="YYYY-MM-DD or ISO datetime (UTC), exclusive")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--actor", default=None, help="platform user id (UUID)")
@click.option("--action", default=None)
@click.option("--resource-type", default=None)
def audit_export(
    start: str, end: str, fmt: str, actor: str | None, action: str | None, resource_type: str | None
) -> None:
    """Export audit rows to instance/exports/ with a manifest, in this process."""
    from app.services.audit_export import ExportError, build_params, request_export
    from app.services.jobs import run_inline

    try:
        params = build_params(start, end, fmt, actor, action, resource_type)
    except ExportError as exc:
        raise click.BadParameter(str(exc)) from None
    run = request_export(params, None, enqueue=False)
    with click.progressbar(length=1, label=f"export #{run.id}") as bar:

        def progress(done: int, total: int | None) -> None:
            bar.length = max(total or 1, 1)
            bar.update(done - bar.pos)

        finished = run_inline(run, progress)
    if finished is None or finished.status != "succeeded":
        raise click.ClickException(f"export failed: {finished.error if finished else 'not run'}")
    click.echo(f"{finished.result['rows']} rows -> {finished.result['file']} (sha256 {finished.result['sha256']})")
