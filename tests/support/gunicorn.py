"""A real gunicorn (``--preload``, several sync workers, as in production) serving the API for tests."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def worker(self) -> str:
        return self.headers.get("x-worker-pid", "")


@dataclass
class Server:
    proc: subprocess.Popen
    port: int

    def get(self, path: str, key: str | None = None, headers: dict[str, str] | None = None) -> Answer:
        """One request on a fresh connection, so the workers take turns accepting."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            sent = {"Connection": "close", **(headers or {})}
            if key:
                sent["Authorization"] = f"Bearer {key}"
            conn.request("GET", path, headers=sent)
            resp = conn.getresponse()
            return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def stop(self, timeout: float = 60) -> str:
        """SIGTERM (a clean shutdown) and wait; returns what gunicorn wrote."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=timeout)
        return out.decode(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def sibling_app(app: Any, **overrides: Any) -> Any:
    """Another app on ``app``'s (migrated) database with other settings: no second migration run."""
    from app import create_app

    keep = {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "AUDIT_CHECKPOINT_DIR")}
    return create_app("test", **{**keep, **overrides})


def start_gunicorn(db_url: str, redis_url: str, instance: Path, workers: int = 2, **env: str) -> Server:
    port = free_port()
    environ = dict(os.environ)
    environ.update(
        APP_ENV="test",
        COACHDESK_TEST_DB_URL=db_url,
        TEST_REDIS_URL=redis_url,
        COACHDESK_INSTANCE=str(instance),
        **env,
    )
    cmd = [sys.executable, "-m", "gunicorn", "--preload", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    cmd += ["--graceful-timeout", "20", "tests.support.api_server:app"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = Server(proc, port)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("gunicorn exited: " + server.stop())
        try:
            if server.get("/api/v1/openapi.json").status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError("gunicorn did not answer in time")
