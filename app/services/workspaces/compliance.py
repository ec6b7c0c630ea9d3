"""The compliance workspace: pending data-subject requests, the last chain verification, running and
failed jobs, and when retention runs next.

All from ``job_runs`` (bounded: the kind and status columns, newest first, LIMIT) and the retention
policies; the cron schedule of the retention dispatch is handed in by the caller, which owns the cron table.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from croniter import croniter
from sqlalchemy.orm import Session

from app.models.compliance import DataRetentionPolicy
from app.models.identity import PlatformUser
from app.models.jobs import JobRun, JobStatus
from app.services.compliance.data_subject import ERASURE_KIND, EXPORT_KIND
from app.services.compliance.jobs import VERIFY_KIND
from app.services.workspaces import ROW_LIMIT

FAILED_DAYS = 7
PENDING = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


@dataclass
class SubjectRequest:
    run: JobRun
    subject: PlatformUser | None


@dataclass
class ComplianceWorkspace:
    requests: list[SubjectRequest]
    last_verify: JobRun | None
    jobs: list[JobRun]
    next_retention: dt.datetime | None
    policies: list[DataRetentionPolicy]


def pending_requests(session: Session) -> list[SubjectRequest]:
    """Queued or running exports and erasures, oldest first, with whose data they concern (one lookup)."""
    stmt = (
        sa.select(JobRun)
        .where(JobRun.kind.in_((EXPORT_KIND, ERASURE_KIND)), JobRun.status.in_(PENDING))
        .order_by(JobRun.created_at, JobRun.id)
        .limit(ROW_LIMIT)
    )
    runs = list(session.scalars(stmt))
    ids = set()
    for run in runs:
        try:
            ids.add(uuid.UUID(str((run.params or {}).get("user_id"))))
        except ValueError:
            continue
    people = {u.id: u for u in session.scalars(sa.select(PlatformUser).where(PlatformUser.id.in_(ids)))} if ids else {}
    out = []
    for run in runs:
        try:
            subject = people.get(uuid.UUID(str((run.params or {}).get("user_id"))))
        except ValueError:
            subject = None
        out.append(SubjectRequest(run, subject))
    return out


def last_verification(session: Session) -> JobRun | None:
    stmt = sa.select(JobRun).where(JobRun.kind == VERIFY_KIND).order_by(JobRun.id.desc()).limit(1)
    return session.scalar(stmt)


def running_and_failed(session: Session, now: dt.datetime) -> list[JobRun]:
    """Running runs, then runs that failed in the last week, newest first."""
    stmt = (
        sa.select(JobRun)
        .where(
            sa.or_(
                JobRun.status == JobStatus.RUNNING.value,
                sa.and_(
                    JobRun.status == JobStatus.FAILED.value,
                    JobRun.created_at >= now - dt.timedelta(days=FAILED_DAYS),
                ),
            )
        )
        .order_by((JobRun.status == JobStatus.RUNNING.value).desc(), JobRun.id.desc())
        .limit(ROW_LIMIT)
    )
    return list(session.scalars(stmt))


def next_run(cron: str | None, now: dt.datetime) -> dt.datetime | None:
    """The next instant (UTC) of a five-field cron expression, None without one."""
    if not cron or not croniter.is_valid(cron):
        return None
    return croniter(cron, now.astimezone(dt.UTC)).get_next(dt.datetime)


def enabled_policies(session: Session) -> list[DataRetentionPolicy]:
    stmt = (
        sa.select(DataRetentionPolicy)
        .where(DataRetentionPolicy.enabled.is_(True))
        .order_by(DataRetentionPolicy.entity)
        .limit(ROW_LIMIT)
    )
    return list(session.scalars(stmt))


def build(session: Session, now: dt.datetime, retention_cron: str | None) -> ComplianceWorkspace:
    return ComplianceWorkspace(
        requests=pending_requests(session),
        last_verify=last_verification(session),
        jobs=running_and_failed(session, now),
        next_retention=next_run(retention_cron, now),
        policies=enabled_policies(session),
    )


def verification_ok(run: JobRun | None) -> Any:
    """True/False once a verification finished, None while none has (or it is still running)."""
    if run is None or run.status in PENDING or run.status == JobStatus.CANCELLED.value:
        return None
    return run.status == JobStatus.SUCCEEDED.value and bool((run.result or {}).get("ok", True))
