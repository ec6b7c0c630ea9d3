"""Background-job runs: the SQL side of every RQ job (state, attempts, progress, checkpoint).

Redis holds only the queue. Everything a rerun needs to finish the work exactly
once lives here and is committed in the same transaction as the batch it describes.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model, fk, utcnow
from app.models.types import JSONDocument, UTCDateTime


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobRun(Model):
    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(80), nullable=False, index=True, info={"personal": False})
    queue: Mapped[str] = mapped_column(sa.String(40), nullable=False, info={"personal": False})
    params: Mapped[dict[str, Any]] = mapped_column(
        JSONDocument(), nullable=False, default=dict, info={"personal": False}
    )
    status: Mapped[str] = mapped_column(
        sa.String(20), nullable=False, default=JobStatus.QUEUED, index=True, info={"personal": False}
    )
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    dispatches: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    progress_done: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    progress_total: Mapped[int | None] = mapped_column(sa.BigInteger)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument(), info={"personal": False})
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument(), info={"personal": False})
    error: Mapped[str | None] = mapped_column(sa.Text, info={"personal": False})
    cancel_requested: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    requested_by: Mapped[uuid.UUID | None] = fk("users.id", "SET NULL", type_=sa.Uuid(), nullable=True)
    rq_job_id: Mapped[str | None] = mapped_column(sa.String(100), info={"personal": False})
    # Optional caller key (e.g. "retention-3-2026-11-26"): a second dispatch returns the first run.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True, info={"personal": False})
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')", name="status_known"),
    )

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)

    def __str__(self) -> str:
        return f"{self.kind} #{self.id}"
