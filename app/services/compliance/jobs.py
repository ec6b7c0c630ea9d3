"""Job kinds ``dsr.export`` and ``dsr.erase``: a data subject's export and erasure."""

from __future__ import annotations

from typing import Any

from app.services.compliance import data_subject
from app.services.jobs.context import JobContext
from app.services.jobs.kinds import job_kind

SUBJECT_EXPORT = "dsr.export"
SUBJECT_ERASURE = "dsr.erase"


@job_kind(SUBJECT_EXPORT, queue="exports", timeout=3600)
def dsr_export(ctx: JobContext) -> dict[str, Any]:
    return data_subject.run_subject_export(ctx)


@job_kind(SUBJECT_ERASURE, queue="default", timeout=3600)
def dsr_erase(ctx: JobContext) -> dict[str, Any]:
    return data_subject.run_erasure(ctx)
