"""`python run.py` stops everything it started: web server, worker, cron and the embedded Redis."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_login(port: int, proc: subprocess.Popen, timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "run.py exited"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as resp:  # noqa: S310
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail("run.py did not answer /login/ in time")


def _redis_server(instance: Path) -> psutil.Process:
    settings = json.loads((instance / "redis.db.settings").read_text())
    pid = int(Path(settings["pidfile"]).read_text().strip())
    return psutil.Process(pid)


def _wait_for_children(root: psutil.Process, count: int, timeout: float = 30) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = root.children(recursive=True)
        if len(children) >= count:
            return children
        time.sleep(0.2)
    return root.children(recursive=True)


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("run-instance")  # seeded by the first start, reused after


@pytest.mark.parametrize("how", ["sigterm", "sigterm-group", "sigint"])
def test_run_py_stops_everything_it_started(instance, how):
    port = _free_port()
    env = {
        **os.environ,
        "COACHDESK_INSTANCE": str(instance),
        "COACHDESK_PORT": str(port),
        "COACHDESK_DEMO_CUSTOMERS": "5",
        "APP_ENV": "embedded",
    }
    env.pop("REDIS_URL", None)
    env["FLASK_RUN_FROM_CLI"] = "true"  # as after any flask command in this process: run.py must serve anyway
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "run.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as under `make run` in a terminal
    )
    try:
        _wait_for_login(port, proc)
        root = psutil.Process(proc.pid)
        started = [*_wait_for_children(root, 2), _redis_server(instance)]
        names = " ".join(" ".join(p.cmdline()) for p in started)
        assert "jobs worker" in names and "jobs cron" in names and "redis-server" in names

        if how == "sigterm":
            proc.send_signal(signal.SIGTERM)
        elif how == "sigterm-group":
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
        _gone, alive = psutil.wait_procs(started, timeout=10)
        assert not alive, f"left running after {how}: {[p.cmdline() for p in alive]}"
        assert proc.returncode == 0
        assert "Traceback" not in err, err
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
