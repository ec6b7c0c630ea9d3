"""Compliance job kinds: audit export, retention runs, data-subject export and erasure."""

from __future__ import annotations

from typing import Any

from app.services.jobs import JobContext, job_kind


@job_kind("audit.export", queue="exports", timeout=6 * 3600)
def audit_export(ctx: JobContext) -> dict[str, Any]:
    from app.services.audit.export import run_export

    return run_export(ctx)


@job_kind("retention.run", queue="retention", timeout=6 * 3600)
def retention_run(ctx: JobContext) -> dict[str, Any]:
    from app.services.retention.runner import run_policy

    return run_policy(ctx)


@job_kind("dsr.export", queue="exports", timeout=3600)
def dsr_export(ctx: JobContext) -> dict[str, Any]:
    from app.services.compliance.data_subject import run_subject_export

    return run_subject_export(ctx)


@job_kind("dsr.erase", queue="default", timeout=3600)
def dsr_erase(ctx: JobContext) -> dict[str, Any]:
    from app.services.compliance.data_subject import run_erasure

    return run_erasure(ctx)
