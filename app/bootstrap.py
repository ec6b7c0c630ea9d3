"""The embedded default: first-start preparation (migrate, sync roles, seed) and the background processes."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from flask_migrate import upgrade
from sqlalchemy import func, select

from app import check_database


def prepare_embedded(app: Flask, demo_customers: int = 300) -> list[str]:
    """Bring the embedded database up to date and return the demo login lines to print."""
    check_database(app)

    from app.extensions import appbuilder, db
    from app.models.identity import ConsoleUser
    from app.policy.sync import sync_roles
    from app.services.demo_data import api_key_line, login_line, seed_demo_data

    logins_file = Path(app.config["INSTANCE_DIR"]) / "demo_logins.json"
    api_key_file = Path(app.config["INSTANCE_DIR"]) / "demo_api_key"
    with app.app_context():
        upgrade()
        sync_roles(appbuilder)
        if db.session.scalar(select(func.count()).select_from(ConsoleUser)) == 0:
            result = seed_demo_data(appbuilder.sm, customers=demo_customers, seed=7, progress=True)
            logins_file.write_text(json.dumps(result.logins, indent=2))
            logins_file.chmod(0o600)
            if result.api_key:
                api_key_file.write_text(result.api_key)
                api_key_file.chmod(0o600)
    with app.app_context():  # the operator's language (COACHDESK_LOCALE or LANG), see app.i18n.process_locale
        if not logins_file.exists():
            return [_("Sign in with your console account.")]
        logins = json.loads(logins_file.read_text())
        lines = [_("Demo logins (one per console role):")] + [login_line(entry) for entry in logins]
        if api_key_file.exists():
            lines.append(api_key_line(api_key_file.read_text().strip()))
        return lines


# Lines an idle RQ worker writes every minute or so; they bury the lines that matter.
IDLE_WORKER_LINES = ("Cleaning registries", "Sent heartbeat", "Subscribing to channel", "*** Listening on")


class Background:
    """The embedded default's background processes: one RQ worker (with scheduler), the cron, embedded Redis.

    The children run in sessions of their own, so Ctrl+C in a terminal reaches only run.py (no
    tracebacks from them) and run.py stops them in order: worker and cron, then Redis.
    """

    def __init__(
        self, processes: list[subprocess.Popen], embedded_redis_url: str | None = None, mail_sink: Any = None
    ) -> None:
        self.processes = processes
        self.embedded_redis_url = embedded_redis_url
        self.mail_sink = mail_sink
        self._stopped = False

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()  # warm shutdown: the worker finishes its current batch
        for proc in self.processes:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.embedded_redis_url:
            _shutdown_redis(self.embedded_redis_url)
        if self.mail_sink is not None:
            self.mail_sink.stop()


def _start_mail_sink(app: Flask, env: dict[str, str]) -> Any:
    """The local SMTP sink (MAIL_SINK, no MAIL_SERVER): the worker sends to it, the console shows what it got."""
    if not app.config.get("MAIL_SINK") or app.config.get("MAIL_SERVER"):
        return None
    from app.services.engagement.mail_sink import MailSink

    sink = MailSink(Path(app.config["MAIL_SINK_DIR"]), keep=int(app.config.get("MAIL_SINK_KEEP") or 500)).start()
    app.config.update(MAIL_SERVER=sink.host, MAIL_PORT=sink.port)
    env.update(MAIL_SERVER=sink.host, MAIL_PORT=str(sink.port))
    return sink


def _shutdown_redis(url: str) -> None:
    """Stop the embedded redis-server (it daemonizes, so no signal to run.py's group reaches it)."""
    from redis import Redis
    from redis.exceptions import RedisError

    with contextlib.suppress(RedisError, OSError):  # already gone
        Redis.from_url(url).shutdown(save=True)


def _relay(stream: Any, quiet: tuple[str, ...]) -> None:
    for line in iter(stream.readline, ""):
        if not any(marker in line for marker in quiet):
            sys.stderr.write(line)
    stream.close()


def _start(cmd: list[str], env: dict[str, str], quiet: tuple[str, ...] = ()) -> subprocess.Popen:
    if not quiet:
        return subprocess.Popen(cmd, env=env, start_new_session=True)
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    threading.Thread(target=_relay, args=(proc.stdout, quiet), daemon=True).start()
    return proc


def start_background(app: Flask) -> Background:
    """Start Redis (embedded unless REDIS_URL is set), one worker with the scheduler, and the one cron process."""
    from app.services.jobs.queues import start_embedded_redis

    embedded = not app.config.get("REDIS_URL")
    url = app.config.get("REDIS_URL") or start_embedded_redis(Path(app.config["INSTANCE_DIR"]))
    app.config["REDIS_URL"] = url
    env = dict(os.environ, REDIS_URL=url, FLASK_APP="app:create_app", APP_ENV=app.config["APP_ENV"])
    sink = _start_mail_sink(app, env)
    flask = [sys.executable, "-m", "flask", "jobs"]
    quiet = () if os.environ.get("COACHDESK_VERBOSE") else IDLE_WORKER_LINES
    processes = [
        _start([*flask, "worker", "--with-scheduler"], env, quiet),
        _start([*flask, "cron"], env),
    ]
    background = Background(processes, url if embedded else None, sink)
    atexit.register(background.stop)
    return background
