"""Real RQ worker processes for tests: start one on the app's database and Redis, or SIGKILL it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker

from app.extensions import db
from app.services.training import assignment as plan_jobs

ROOT = Path(__file__).resolve().parents[2]


def start_worker(app: Flask, redis_url: str, instance: Path, *settings: str, burst: bool = True) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        APP_ENV="test",
        COACHDESK_TEST_DB_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        TEST_REDIS_URL=redis_url,
        COACHDESK_INSTANCE=str(instance),
        FLASK_APP="app:create_app",
    )
    cmd = [sys.executable, "-m", "flask", "jobs", "worker", "--without-scheduler"]
    if burst:
        cmd.append("--burst")
    for item in settings:
        cmd += ["--set", item]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def kill_hard(proc: subprocess.Popen) -> None:
    """SIGKILL the worker and its work horse (which runs in its own process group)."""
    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    for p in [*family]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGKILL)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def wait_for(condition: Callable[[], bool], timeout: float = 120, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def finish(proc: subprocess.Popen, timeout: float = 180) -> str:
    out, _ = proc.communicate(timeout=timeout)
    return out.decode(errors="replace")


@pytest.fixture
def jobs_env(app: Flask, redis_url: str, tmp_path: Path):
    """The app pointed at a real Redis (emptied) and a private instance folder for exports/archives."""
    saved = {k: app.config.get(k) for k in ("REDIS_URL", "EXPORTS_DIR", "ARCHIVE_DIR")}
    app.config.update(REDIS_URL=redis_url, EXPORTS_DIR=tmp_path / "exports", ARCHIVE_DIR=tmp_path / "archive")
    app.extensions.pop("coachdesk.redis", None)
    with app.app_context():
        from app.services.jobs.queues import get_redis

        get_redis().flushdb()
    yield tmp_path
    app.config.update(saved)
    app.extensions.pop("coachdesk.redis", None)


def _run_worker(app, url: str) -> None:
    """A real RQ worker, in-process and in burst mode, on the queue the job infrastructure used."""
    connection = Redis.from_url(url)
    with app.app_context():
        SimpleWorker([Queue(plan_jobs.QUEUE, connection=connection)], connection=connection).work(burst=True)
        db.session.remove()
