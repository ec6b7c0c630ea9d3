"""Job kind ``retention.run`` (name: ``runner.KIND``, the module that starts and runs it)."""

from __future__ import annotations

from typing import Any

from app.services.jobs.context import JobContext
from app.services.jobs.kinds import job_kind
from app.services.retention import runner


@job_kind(runner.KIND, queue="retention", timeout=6 * 3600)
def retention_run(ctx: JobContext) -> dict[str, Any]:
    return runner.run_policy(ctx)
