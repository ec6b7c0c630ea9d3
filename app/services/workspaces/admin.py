"""The administrator's workspace: system health.

Each probe is cheap (``SELECT 1``, Redis ``PING``, RQ's queue counters) and catches its own
failure, so a dead Redis or database shows as down on the page instead of failing it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.jobs import JobRun
from app.services.jobs import queues as job_queues

CRON_LOOKBACK_HOURS = 48
PING_TIMEOUT = 1.0


@dataclass
class Probe:
    ok: bool
    error: str | None = None


@dataclass
class AdminWorkspace:
    database: Probe
    redis: Probe
    queues: list[dict[str, Any]] = field(default_factory=list)
    queue_error: str | None = None
    last_runs: list[JobRun] = field(default_factory=list)

    @property
    def workers(self) -> int:
        # RQ counts a worker once per queue it listens to: the busiest queue is the lower bound.
        return max((q["workers"] for q in self.queues), default=0)


def _error(exc: Exception) -> str:
    text = str(exc).splitlines()[0][:160] if str(exc) else ""
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def ping_database(session: Session) -> Probe:
    try:
        session.execute(sa.select(1)).scalar()
    except Exception as exc:  # reported on the page: the point of the probe
        session.rollback()
        return Probe(False, _error(exc))
    return Probe(True)


def ping_redis() -> Probe:
    try:
        from redis import Redis

        # A client of its own with short timeouts: an unreachable host must not hold the page.
        client = Redis.from_url(
            job_queues.redis_url(), socket_connect_timeout=PING_TIMEOUT, socket_timeout=PING_TIMEOUT
        )
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # no Redis configured, refused, timed out: all "down"
        return Probe(False, _error(exc))
    return Probe(True)


def last_runs(session: Session, now: dt.datetime) -> list[JobRun]:
    """The latest run of each job kind started in the last two days (the scheduled tasks and the rest)."""
    since = now - dt.timedelta(hours=CRON_LOOKBACK_HOURS)
    latest = sa.select(sa.func.max(JobRun.id)).where(JobRun.created_at >= since).group_by(JobRun.kind).scalar_subquery()
    stmt = sa.select(JobRun).where(JobRun.id.in_(latest)).order_by(JobRun.kind).limit(50)
    return list(session.scalars(stmt))


def build(session: Session, now: dt.datetime) -> AdminWorkspace:
    database = ping_database(session)
    workspace = AdminWorkspace(database=database, redis=ping_redis())
    if workspace.redis.ok:
        try:
            workspace.queues = job_queues.queue_counts()
        except Exception as exc:  # Redis went away between the ping and the counts
            workspace.queue_error = _error(exc)
    else:
        workspace.queue_error = workspace.redis.error
    if database.ok:
        workspace.last_runs = last_runs(session, now)
    return workspace
