"""The cron table: what `flask jobs cron` (exactly one process) enqueues, and when.

Entries only *dispatch*: each enqueues a thin function that starts job runs with a
per-day ``dedupe_key``, so a second cron process or a double tick cannot double-run.
Add an entry with one line in ``CRON_TABLE``: (function path, queue, cron or interval).
"""

from __future__ import annotations

from typing import Any

# (dotted function, queue, {"cron": "..."} or {"interval": seconds})
CRON_TABLE: list[tuple[str, str, dict[str, Any]]] = [
    ("app.jobs.cron.redispatch_stale_runs", "default", {"interval": 60}),
    ("app.jobs.cron.dispatch_retention", "retention", {"cron": "30 2 * * *"}),
    ("app.jobs.cron.verify_audit_chain", "default", {"cron": "15 3 * * *"}),
    # Dashboards: idempotent rollup refresh and cohort snapshots (see app/jobs/snapshots.py).
    ("app.jobs.snapshots.refresh_rollups_job", "default", {"cron": "5 * * * *"}),
    ("app.jobs.snapshots.capture_snapshots_job", "default", {"cron": "15 0 * * *"}),
]


def redispatch_stale_runs() -> list[int]:
    from app.services.jobs import redispatch_stale

    return redispatch_stale()


def dispatch_retention() -> list[int]:
    from app.services.retention.runner import dispatch_enabled_policies

    return dispatch_enabled_policies()


def verify_audit_chain() -> dict:
    from app.services.audit.verify import verify_chain

    report = verify_chain()
    return {"ok": report.ok, "rows": report.rows, "first_bad_id": report.first_bad_id}


def build_scheduler(connection: Any) -> Any:
    from importlib import import_module

    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=connection)
    for path, queue, when in CRON_TABLE:
        module, _, name = path.rpartition(".")
        func = getattr(import_module(module), name)
        scheduler.register(func, queue, job_timeout=3600, **when)
    return scheduler
