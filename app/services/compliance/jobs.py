"""Job kinds of compliance: audit export, checkpoint and nightly verification, data-subject export and erasure.

Each kind's name is defined by the module that starts and runs it (``audit_export.KIND``,
``data_subject.EXPORT_KIND`` / ``ERASURE_KIND``), which this module imports.
"""

from __future__ import annotations

from typing import Any

from app.services.audit import checkpoints, verify
from app.services.compliance import audit_export, data_subject
from app.services.jobs.context import JobContext
from app.services.jobs.kinds import job_kind


@job_kind(audit_export.KIND, queue="exports", timeout=6 * 3600)
def audit_export_job(ctx: JobContext) -> dict[str, Any]:
    return audit_export.run_export(ctx)


CHECKPOINT_KIND = "audit.checkpoint"


@job_kind(CHECKPOINT_KIND, queue="default", timeout=600)
def audit_checkpoint_job(ctx: JobContext) -> dict[str, Any]:
    """Sign the audit chain's head (cron, hourly); refused, so failed in job_runs, when the chain disagrees."""
    body = checkpoints.write()
    return {k: body.get(k) for k in ("head_id", "head_hash", "rows", "key_id", "skipped")}


VERIFY_KIND = "audit.verify"


@job_kind(VERIFY_KIND, queue="default", timeout=6 * 3600)
def audit_verify_job(ctx: JobContext) -> dict[str, Any]:
    """Verify the whole chain against its checkpoints (cron, nightly), with progress; a broken chain fails the run."""
    report = verify.verify_chain(progress=lambda done, total: ctx.progress(done, total))
    result = {"ok": report.ok, "rows": report.rows, "first_bad_id": report.first_bad_id, "reason": report.reason}
    if not report.ok:
        raise ChainBroken(f"audit chain broken at {report.first_bad_id}: {report.reason}")
    return result


class ChainBroken(RuntimeError):
    """The nightly verification found the chain broken: the run fails, so the jobs page shows it."""


@job_kind(data_subject.EXPORT_KIND, queue="exports", timeout=3600)
def dsr_export(ctx: JobContext) -> dict[str, Any]:
    return data_subject.run_subject_export(ctx)


@job_kind(data_subject.ERASURE_KIND, queue="default", timeout=3600)
def dsr_erase(ctx: JobContext) -> dict[str, Any]:
    return data_subject.run_erasure(ctx)
