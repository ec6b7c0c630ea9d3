"""Retention over 1,000,000 expired rows, with a concurrent writer.

    python -m bench.retention              # 1,000,000 expired rows (BENCH_ROWS to change)

Runs the real retention job (HARD_DELETE, legal-hold exclusion in the batch query,
one short transaction + checkpoint per batch, the first of 5,000 rows, then sized
to ~40 ms each) and reports rows/s (target >= 100,000),
the longest batch transaction and the longest wait of a concurrent writer (targets
< 100 ms). Baseline, same run: a bare psycopg loop of 10k-row DELETE ... LIMIT batches.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import threading
import time
import uuid

from bench.common import build_app, drop_database, fresh_database, libpq, timed

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
USERS = 1000
HELD = 10  # users under legal hold: their rows must survive


def seed_events(url: str, users: list[uuid.UUID], rows: int, recent: int) -> None:
    import psycopg

    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=800)
    new = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with psycopg.connect(libpq(url)) as conn, conn.cursor() as cur:
        with cur.copy("COPY engagement_events (customer_id, event_type, payload_json, occurred_at) FROM STDIN") as cp:
            for i in range(rows + recent):
                when = old + dt.timedelta(seconds=i) if i < rows else new
                cp.write_row((users[i % len(users)], "workout_completed", '{"minutes": 30}', when))
        conn.commit()
        conn.execute("ANALYZE engagement_events")


class Writer(threading.Thread):
    """Another writer: every 20 ms updates a random row in the purge range, and inserts one row."""

    def __init__(self, url: str, users: list[uuid.UUID], lo: int, hi: int) -> None:
        super().__init__(daemon=True)
        self.url, self.users, self.lo, self.hi = url, users, lo, hi
        self.waits: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(libpq(self.url), autocommit=True) as conn:
            while not self.stop.is_set():
                start = time.perf_counter()
                conn.execute(
                    "UPDATE engagement_events SET event_type = 'touched' WHERE id = %s",
                    (random.randint(self.lo, self.hi),),
                )
                conn.execute(
                    "INSERT INTO engagement_events (customer_id, event_type, occurred_at) VALUES (%s, 'live', now())",
                    (random.choice(self.users),),
                )
                self.waits.append((time.perf_counter() - start) * 1000)
                time.sleep(0.02)


def main() -> None:
    url = fresh_database("bench_retention")
    try:
        app = build_app(url, RETENTION_BATCH=5000)
        with app.app_context():
            import psycopg
            from sqlalchemy import insert

            from app.extensions import db
            from app.models import PlatformUser
            from app.services import retention
            from app.services.jobs import run_inline, start_job

            users = [uuid.uuid4() for _ in range(USERS)]
            db.session.execute(
                insert(PlatformUser),
                [{"id": u, "email": f"u{i}@bench.test", "full_name": f"U{i}", "legal_hold": i < HELD}
                 for i, u in enumerate(users)],
            )  # fmt: skip
            db.session.commit()
            print(f"seeding {ROWS:,} expired + 10,000 recent engagement events ...")
            seed_events(url, users, ROWS, 10000)
            held_rows = sum(1 for i in range(ROWS) if i % USERS < HELD)
            expected = ROWS - held_rows
            results: dict[str, float] = {}

            policy = retention.save_policy("engagement_events", "HARD_DELETE", 365, enabled=True)
            dry = retention.dry_run(policy)
            print(f"  dry run: {dry.count:,} rows to delete, {dry.held:,} spared by legal holds\n")
            params = {"policy_id": policy.id, "entity": "engagement_events", "strategy": "HARD_DELETE",
                      "cutoff": (dt.datetime.now(dt.UTC) - dt.timedelta(days=365)).isoformat()}  # fmt: skip
            run = start_job(retention.KIND, params, enqueue=False)
            stamps: list[float] = []
            writer = Writer(url, users, 1, ROWS)
            writer.start()
            stamps.append(time.perf_counter())
            with timed("retention job (HARD_DELETE, time-sized batches)", expected, results):
                done = run_inline(run, lambda d, t: stamps.append(time.perf_counter()))
            writer.stop.set()
            writer.join()
            assert done is not None and done.status == "succeeded", done and done.error
            assert done.result["rows"] == expected, (done.result, expected)
            # stamps[0] -> [1] is the planning count; every later gap is one batch's transaction.
            gaps = [(b - a) * 1000 for a, b in zip(stamps[1:], stamps[2:], strict=False)]
            with psycopg.connect(libpq(url)) as conn:
                left = conn.execute(
                    "SELECT count(*) FROM engagement_events WHERE occurred_at < now() - interval '365 days'"
                ).fetchone()[0]  # noqa: E501
            assert left == held_rows, (left, held_rows)

            print("  re-seeding for the baseline ...")
            seed_events(url, users, ROWS, 0)
            with (
                psycopg.connect(libpq(url), autocommit=True) as conn,
                timed("baseline: bare DELETE ... LIMIT 10000 loop", ROWS, results),
            ):  # noqa: E501
                while conn.execute(
                    "DELETE FROM engagement_events WHERE id IN (SELECT id FROM engagement_events "
                    "WHERE occurred_at < now() - interval '365 days' ORDER BY id LIMIT 10000)"
                ).rowcount:
                    pass
        rate = results["retention job (HARD_DELETE, time-sized batches)"]
        base = results["baseline: bare DELETE ... LIMIT 10000 loop"]
        print("\nresults:")
        print(f"  rows/s {rate:,.0f} = {rate / 100000:.2f}x the 100,000 target, {rate / base:.2f}x the bare loop")
        longest, median = max(gaps), statistics.median(gaps)
        print(f"  longest batch transaction (commit to commit): {longest:.1f} ms, median {median:.1f} ms")
        print(f"  concurrent writer: {len(writer.waits)} round trips, median {statistics.median(writer.waits):.1f} ms, "
              f"longest {max(writer.waits):.1f} ms")  # fmt: skip
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
