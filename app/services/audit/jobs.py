"""Job kind ``audit.export`` (name: ``export.KIND``, the module that starts and runs it)."""

from __future__ import annotations

from typing import Any

from app.services.audit import export
from app.services.jobs.context import JobContext
from app.services.jobs.kinds import job_kind


@job_kind(export.KIND, queue="exports", timeout=6 * 3600)
def audit_export(ctx: JobContext) -> dict[str, Any]:
    return export.run_export(ctx)
