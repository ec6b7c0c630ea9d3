"""Progress-metric batch ingest: rows/s through the ingest service in batches of 1,000, on PostgreSQL.

    python -m bench.metric_ingest [--customers 2000] [--batches 40] [--naive-rows 2000] [--http]

A fresh migrated database gets ``--customers`` customers (a third with a wearable authorization).
Then ``--batches`` batches of 1,000 readings (mixed metric types, a third from wearables, each with
a client key) go through ``metrics.ingest.ingest`` with a commit per batch, as the API's batch
endpoint does: validation, scope and wearable checks, the idempotent INSERT, the outbox rows and
the audit row. The same batches are then sent again (every reading a duplicate). With ``--http``
(once the API's metric endpoint exists) the batches also go through ``POST /api/v1/metrics/batch``
with Flask's WSGI test client and a real API key. Target (issue 15): at least 20,000 rows/s.

Baseline in the same run, on ``--naive-rows`` readings: ORM objects one by one (look up the key,
add, flush, ``events.emit``, audited by the session hooks), committed per 1,000.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
import uuid
from typing import Any

from bench.common import build_app, drop_database, fresh_database, step

TARGET = 20000.0
BATCH = 1000
METRICS = (("weight", "kg", 50, 120), ("body_fat", "%", 10, 35), ("steps", "steps", 500, 20000),
           ("resting_heart_rate", "bpm", 45, 80), ("sleep_hours", "h", 4, 9))  # fmt: skip


def seed(customers: int) -> tuple[Any, list[uuid.UUID], set[uuid.UUID]]:
    """Customers with the CUSTOMER role (a third wearing a device) and an Admin actor, in a few INSERTs."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models.automation import WearableAuthorization
    from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole
    from app.policy.scope import Actor

    now = dt.datetime.now(dt.UTC)
    conn = db.session.connection()
    roles = {}
    for code in (RoleCode.CUSTOMER, RoleCode.ADMIN):
        roles[code] = conn.execute(
            sa.insert(PlatformRole.__table__).values(code=code).returning(PlatformRole.id)
        ).scalar()
    ids = [uuid.uuid4() for _ in range(customers + 1)]
    users = [{"id": i, "email": f"u{n}@bench.test", "full_name": f"Person {n}", "locale": "en", "status": "ACTIVE",
              "legal_hold": False, "created_at": now, "updated_at": now} for n, i in enumerate(ids)]  # fmt: skip
    conn.execute(sa.insert(PlatformUser.__table__), users)
    admin, customer_ids = ids[0], ids[1:]
    links = [{"user_id": c, "role_id": roles[RoleCode.CUSTOMER]} for c in customer_ids]
    links.append({"user_id": admin, "role_id": roles[RoleCode.ADMIN]})
    conn.execute(sa.insert(UserRole.__table__), links)
    wearing = set(customer_ids[::3])
    conn.execute(
        sa.insert(WearableAuthorization.__table__), [{"customer_id": c, "provider": "garmin"} for c in wearing]
    )
    db.session.commit()
    conn = db.session.connection()
    conn.execute(sa.text("ANALYZE"))  # planner statistics, as a running database has them
    db.session.commit()
    return Actor(admin, frozenset({"Admin"})), customer_ids, wearing


def readings(batches: int, customers: list[uuid.UUID], wearing: set[uuid.UUID], tag: str) -> list[list[dict]]:
    rng = random.Random(15)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=300)
    wearers = sorted(wearing)
    out = []
    for b in range(batches):
        batch = []
        for n in range(BATCH):
            kind, unit, low, high = METRICS[n % len(METRICS)]
            worn = n % 3 == 0
            customer = rng.choice(wearers) if worn else rng.choice(customers)
            when = start + dt.timedelta(seconds=rng.randrange(300 * 86400))
            batch.append({
                "customer_id": str(customer), "metric_type": kind, "unit": unit,
                "value": round(rng.uniform(low, high), 1), "recorded_at": when.isoformat(),
                "source": "WEARABLE" if worn else "MANUAL", "client_key": f"{tag}-{b}-{n}",
            })  # fmt: skip
        out.append(batch)
    return out


def _backend() -> Any:
    """This session's PostgreSQL backend process (same machine), for its CPU time."""
    import psutil
    import sqlalchemy as sa

    from app.extensions import db

    return psutil.Process(db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar())


def _cpu(process: Any) -> float:
    times = process.cpu_times()
    return times.user + times.system


def through_service(actor: Any, batches: list[list[dict]]) -> tuple[float, int, int]:
    from app.extensions import db
    from app.services.metrics.ingest import ingest

    created = duplicates = 0
    start = time.perf_counter()
    for batch in batches:
        result = ingest(batch, actor=actor)
        db.session.commit()
        created += result.created
        duplicates += result.duplicates
        if result.errors:
            raise SystemExit(f"unexpected errors: {[r.as_dict() for r in result.items if r.errors][:3]}")
    return time.perf_counter() - start, created, duplicates


def in_parallel(app: Any, actor: Any, batches: list[list[dict]], workers: int) -> tuple[float, int]:
    """``workers`` threads, each with its own connection, sending their share of the batches at once
    (as several web processes do): wall time and readings created."""
    import threading

    created: list[int] = []
    barrier = threading.Barrier(workers)

    def work(share: list[list[dict]]) -> None:
        with app.app_context():
            barrier.wait()
            created.append(through_service(actor, share)[1])

    threads = [threading.Thread(target=work, args=(batches[w::workers],)) for w in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, sum(created)


def naive(batches: list[list[dict]]) -> float:
    """ORM objects one by one: look the key up, add, flush, emit; commit per batch."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models.analytics import MetricSource, ProgressMetric
    from app.services import events

    start = time.perf_counter()
    for batch in batches:
        for item in batch:
            customer = uuid.UUID(item["customer_id"])
            found = db.session.scalar(
                sa.select(ProgressMetric.id).where(
                    ProgressMetric.customer_id == customer, ProgressMetric.client_key == item["client_key"]
                )
            )
            if found is not None:
                continue
            row = ProgressMetric(
                customer_id=customer, metric_type=item["metric_type"], unit=item["unit"],
                value=item["value"], recorded_at=dt.datetime.fromisoformat(item["recorded_at"]),
                source=MetricSource(item["source"]), client_key=item["client_key"],
            )  # fmt: skip
            db.session.add(row)
            db.session.flush()
            events.emit(
                db.session, events.PROGRESS_METRIC_RECORDED, customer_id=customer, metric_id=row.id,
                metric_type=row.metric_type, value=row.value, unit=row.unit, source=row.source,
                recorded_at=row.recorded_at,
            )  # fmt: skip
        db.session.commit()
    return time.perf_counter() - start


def through_http(app: Any, actor: Any, batches: list[list[dict]]) -> float | None:
    """``POST /api/v1/metrics/batch`` with the WSGI test client, or None while the endpoint does not exist."""
    if not any(rule.rule == "/api/v1/metrics/batch" for rule in app.url_map.iter_rules()):
        return None
    from app.extensions import db
    from app.models.automation import APIClient
    from app.services.api_clients.keys import issue_key

    issued = issue_key()
    db.session.add(APIClient(name="bench", api_key_hash=issued.key_hash, key_prefix=issued.prefix,
                             scopes="metrics:write metrics:read", rate_limit=1_000_000))  # fmt: skip
    db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {issued.key}"}
    start = time.perf_counter()
    for batch in batches:
        response = client.post("/api/v1/metrics/batch", json={"items": batch}, headers=headers)
        if response.status_code >= 300 and response.status_code != 207:
            raise SystemExit(f"HTTP {response.status_code}: {response.get_data(as_text=True)[:300]}")
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--naive-rows", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2, help="concurrent senders for the parallel figure")
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args(argv)

    from app.extensions import db

    url = fresh_database("bench_metrics")
    app = step("migrate", lambda: build_app(url))
    try:
        with app.app_context():
            actor, customers, wearing = step("seed", lambda: seed(args.customers))
            work = readings(args.batches, customers, wearing, "svc")
            naive_batches = readings(max(1, args.naive_rows // BATCH), customers, wearing, "naive")
            rows = args.batches * BATCH
            print(f"\n{rows:,} readings in batches of {BATCH:,}, {args.customers:,} customers")
            t_naive = naive(naive_batches)
            naive_rate = len(naive_batches) * BATCH / t_naive
            print(f"  baseline, ORM one by one     : {naive_rate:10,.0f} rows/s")
            server = _backend()
            cpu, server_cpu = time.process_time(), _cpu(server)
            t_svc, created, _dups = through_service(actor, work)
            cpu, server_cpu = time.process_time() - cpu, _cpu(server) - server_cpu
            rate = created / t_svc
            verdict = "OK" if rate >= TARGET else "UNDER TARGET"
            print(f"  service, new readings        : {rate:10,.0f} rows/s  x{rate / naive_rate:5.1f} faster"
                  f"  (target >= {TARGET:,.0f}: {verdict})")  # fmt: skip
            per = {
                "this process": cpu / args.batches * 1000,
                "its PostgreSQL backend": server_cpu / args.batches * 1000,
            }
            print("    CPU per 1,000 readings: " + ", ".join(f"{k} {v:.1f} ms" for k, v in per.items()))
            total = sum(per.values())
            cores = min(os.cpu_count() or 1, args.workers)
            print(f"    so, on an idle machine (CPU-bound, WAL writer not counted): about {1e6 / total:,.0f} rows/s"
                  f" from one sender, {cores * 1e6 / total:,.0f} from {cores} senders on {cores} cores"
                  f" (load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")  # fmt: skip
            t_dup, _created, dups = through_service(actor, work)
            print(f"  service, the same again (dup): {dups / t_dup:10,.0f} rows/s  (nothing inserted)")
            if args.workers > 1:
                db.session.remove()
                t_par, made = in_parallel(app, actor, readings(args.batches, customers, wearing, "par"), args.workers)
                rate = made / t_par
                verdict = "OK" if rate >= TARGET else "UNDER TARGET"
                label = f"service, {args.workers} senders at once"
                print(f"  {label:<29}: {rate:10,.0f} rows/s  x{rate / naive_rate:5.1f} faster  (target: {verdict})")
            if args.http:
                http_batches = readings(args.batches, customers, wearing, "http")
                t_http = through_http(app, actor, http_batches)
                if t_http is None:
                    print("  HTTP: POST /api/v1/metrics/batch does not exist yet (skipped)")
                else:
                    http_rate = rows / t_http
                    verdict = "OK" if http_rate >= TARGET else "UNDER TARGET"
                    print(f"  HTTP batch endpoint (WSGI)   : {http_rate:10,.0f} rows/s  (target: {verdict})")
            db.session.remove()
            db.engine.dispose()
    finally:
        if not args.keep:
            drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
