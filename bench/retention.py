"""Retention over 1,000,000 expired rows, all three strategies, with a concurrent writer.

    python -m bench.retention              # 1,000,000 expired rows (BENCH_ROWS to change)

For each strategy (HARD_DELETE, ANONYMIZE, ARCHIVE) the table is re-seeded with the same
rows (1,000 customers, 10 of them under legal hold, plus 10,000 recent rows) and the real
retention job runs: primary-key ranges, legal-hold exclusion in the batch statement, one
short transaction + checkpoint per range, the first of 5,000 rows, then sized to ~40 ms,
each under a 60 ms statement_timeout (an overrun is rolled back and retried smaller).
It reports rows/s, the longest job transaction (timed from begin to commit or rollback
with engine events) and the longest wait of a concurrent writer (every 20 ms it updates
a random row in the purge range and inserts one row), and the load average as it goes.

Baseline, same run, same rows re-seeded: the same work as ONE statement (DELETE or
UPDATE with the same time and legal-hold conditions; for ARCHIVE a COPY of the rows as
JSON into a fsynced gzip file, then the DELETE, in one transaction), with the same
concurrent writer. Targets (DESIGN.md): >= 100,000 rows/s for every strategy, < 100 ms for both
latencies. The job runs HARD_DELETE and ANONYMIZE in two lanes (RETENTION_LANES), so it can beat
the one-statement baseline, which keeps one core busy.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.common import build_app, drop_database, fresh_database, libpq

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
RECENT = 10000
USERS = 1000
HELD = 10  # users under legal hold: their rows must survive untouched
STRATEGIES = tuple(os.environ.get("BENCH_STRATEGIES", "HARD_DELETE,ANONYMIZE,ARCHIVE").split(","))
NOT_HELD = (
    "NOT EXISTS (SELECT 1 FROM users u WHERE u.legal_hold AND u.id = e.customer_id) AND e.occurred_at < %(cutoff)s"
)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} (2 cores, shared)"


def seed_events(url: str, users: list[uuid.UUID]) -> None:
    """The same table every time: emptied, ids from 1, ROWS expired rows then RECENT young ones, vacuumed."""
    import psycopg

    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=800)
    new = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with psycopg.connect(libpq(url)) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE engagement_events RESTART IDENTITY")
        with cur.copy("COPY engagement_events (customer_id, event_type, payload_json, occurred_at) FROM STDIN") as cp:
            for i in range(ROWS + RECENT):
                when = old + dt.timedelta(seconds=i) if i < ROWS else new
                cp.write_row((users[i % len(users)], "workout_completed", '{"minutes": 30}', when))
        conn.commit()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) engagement_events")
        # The seeding's WAL is checkpointed now, so its flush does not land inside the run measured next.
        conn.execute("CHECKPOINT")


class Writer(threading.Thread):
    """Another writer: every 20 ms updates a random row in the purge range, and inserts one row."""

    def __init__(self, url: str, users: list[uuid.UUID]) -> None:
        super().__init__(daemon=True)
        self.url, self.users = url, users
        self.waits: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(libpq(self.url), autocommit=True) as conn:
            while not self.stop.is_set():
                start = time.perf_counter()
                conn.execute(
                    "UPDATE engagement_events SET event_type = 'touched' WHERE id = %s", (random.randint(1, ROWS),)
                )
                conn.execute(
                    "INSERT INTO engagement_events (customer_id, event_type, occurred_at) VALUES (%s, 'live', now())",
                    (random.choice(self.users),),
                )
                self.waits.append((time.perf_counter() - start) * 1000)
                time.sleep(0.02)

    def __enter__(self) -> Writer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join()


@dataclass
class Figures:
    rows: int
    seconds: float
    longest_txn: float  # ms
    median_txn: float  # ms
    writer_max: float  # ms
    writer_median: float  # ms
    batches: int = 1
    planning: float = 0.0  # ms, the read-only count at the start of the job
    finish: float = 0.0  # ms, rename + manifest + audit after the last batch
    overruns: int = 0  # batches rolled back at their statement_timeout and retried smaller
    longest_locking: float = 0.0  # ms, the longest transaction that changed the table (held row locks)
    reread: int = 0  # ARCHIVE ranges a writer changed between write and delete, archived again
    writer_p99: float = 0.0  # ms

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


class TxnClock:
    """Times every transaction of the app's engine (begin to commit or rollback) and notes whether
    it changed the purged table (the transactions that hold its row locks)."""

    def __init__(self, engine) -> None:
        self.engine, self.open, self.spans, self.steps = engine, {}, [], []

    def _begin(self, conn) -> None:
        self.open[id(conn)] = [time.perf_counter(), False, []]

    def _statement(self, conn, cursor, statement, *args) -> None:
        head = statement.lstrip()[:40]
        if id(conn) in self.open:
            self.open[id(conn)][2].append((time.perf_counter(), head))
            if "DELETE FROM engagement_events" in statement or head.startswith("UPDATE engagement_events"):
                self.open[id(conn)][1] = True

    def _end(self, conn) -> None:
        start, wrote, steps = self.open.pop(id(conn), (None, False, []))
        if start is not None:
            now = time.perf_counter()
            marks = [*steps, (now, "COMMIT/ROLLBACK")]
            # Where the time went: the gaps between statements (each gap is the previous statement).
            self.spans.append((start, now, wrote))
            self.steps.append(
                (now - start, [(round((b[0] - a[0]) * 1000, 1), a[1]) for a, b in zip(marks, marks[1:], strict=False)])
            )

    def __enter__(self) -> TxnClock:
        from sqlalchemy import event

        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._end)
        event.listen(self.engine, "rollback", self._end)
        return self

    def __exit__(self, *exc: object) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._end)
        event.remove(self.engine, "rollback", self._end)


def run_job(app, url, users, policy_id: int, strategy: str, cutoff: dt.datetime, expected: int) -> Figures:
    from app.extensions import db
    from app.services.jobs.context import run_inline
    from app.services.jobs.runs import start_job
    from app.services.retention import runner as retention
    from app.services.retention.archive import verify_archive

    params = {"policy_id": policy_id, "entity": "engagement_events", "strategy": strategy,
              "cutoff": cutoff.isoformat()}  # fmt: skip
    run = start_job(retention.KIND, params, enqueue=False)
    stamps: list[float] = []
    with Writer(url, users) as writer, TxnClock(db.engine) as clock:
        stamps.append(time.perf_counter())
        done = run_inline(run, lambda d, t: stamps.append(time.perf_counter()))
        end = time.perf_counter()
    assert done is not None and done.status == "succeeded", done and done.error
    assert done.result["rows"] == expected, (done.result, expected)
    # stamps[1] is the planning commit (count + last candidate id, read-only on the table);
    # every transaction after it is a batch (or an overrun batch rolled back), then the run's end.
    spans = [(b - a) * 1000 for a, b, _ in clock.spans if a >= stamps[1]]
    locking = [(b - a) * 1000 for a, b, wrote in clock.spans if wrote]
    if os.environ.get("BENCH_VERBOSE"):
        for took, steps in sorted(clock.steps, key=lambda t: t[0])[-3:]:
            print(f"    slow transaction {took * 1000:.1f} ms: {steps}")
    if strategy == "ARCHIVE":
        archive = Path(app.config["ARCHIVE_DIR"]) / done.result["archive"]
        problems = verify_archive(archive)
        assert not problems, problems
        with gzip.open(archive, "rt") as fh:
            assert sum(1 for _ in fh) == expected
    return Figures(
        expected, end - stamps[0], max(spans), statistics.median(spans), max(writer.waits),
        statistics.median(writer.waits), done.result["batches"], (stamps[1] - stamps[0]) * 1000,
        (stamps[-1] - stamps[-2]) * 1000, done.result.get("overruns", 0), max(locking),
        done.result.get("reread", 0), statistics.quantiles(writer.waits, n=100)[98],
    )  # fmt: skip


def run_baseline(url, users, strategy: str, cutoff: dt.datetime, expected: int, folder: Path) -> Figures:
    """The same rows changed by one statement (ARCHIVE: one COPY to a fsynced gzip file, then one DELETE)."""
    import psycopg

    args = {"cutoff": cutoff}
    with Writer(url, users) as writer, psycopg.connect(libpq(url)) as conn:
        start = time.perf_counter()
        with conn.cursor() as cur:
            if strategy == "HARD_DELETE":
                cur.execute(f"DELETE FROM engagement_events e WHERE {NOT_HELD}", args)
            elif strategy == "ANONYMIZE":
                cur.execute(
                    "UPDATE engagement_events e SET payload_json = NULL "
                    f"WHERE {NOT_HELD} AND e.payload_json IS NOT NULL",
                    args,
                )
            else:
                query = (
                    f"COPY (SELECT to_jsonb(e)::text FROM engagement_events e WHERE {NOT_HELD} ORDER BY e.id) TO STDOUT"
                )
                with open(folder / "baseline.jsonl.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as gz:
                    with cur.copy(query, args) as copy:
                        for block in copy:
                            gz.write(block)
                    gz.flush()
                    raw.flush()
                    os.fsync(raw.fileno())
                cur.execute(f"DELETE FROM engagement_events e WHERE {NOT_HELD}", args)
            changed = cur.rowcount
        conn.commit()
        took = time.perf_counter() - start
    assert changed == expected, (changed, expected)
    return Figures(expected, took, took * 1000, took * 1000, max(writer.waits), statistics.median(writer.waits))


def check_table(url: str, strategy: str, cutoff: dt.datetime, held_rows: int) -> None:
    """Exactly the expired, unheld rows changed: held rows kept (and their payloads), young rows untouched."""
    import psycopg

    with psycopg.connect(libpq(url)) as conn:
        left, with_payload, young = conn.execute(
            "SELECT count(*) FILTER (WHERE occurred_at < %(c)s), "
            "count(*) FILTER (WHERE occurred_at < %(c)s AND payload_json IS NOT NULL), "
            "count(*) FILTER (WHERE occurred_at >= %(c)s AND event_type = 'workout_completed') "
            "FROM engagement_events",
            {"c": cutoff},
        ).fetchone()
    assert young == RECENT, young
    if strategy == "ANONYMIZE":
        assert left == ROWS and with_payload == held_rows, (left, with_payload, held_rows)
    else:
        assert left == with_payload == held_rows, (left, with_payload, held_rows)


def main() -> None:
    url = fresh_database("bench_retention")
    folder = Path(tempfile.mkdtemp(prefix="bench-retention-"))
    print(f"start: {load()}")
    try:
        app = build_app(url, RETENTION_BATCH=5000, ARCHIVE_DIR=folder / "archive")
        with app.app_context():
            from sqlalchemy import insert

            from app.extensions import db
            from app.models import PlatformUser
            from app.services.retention import runner as retention
            from app.services.retention.policies import save_policy

            users = [uuid.uuid4() for _ in range(USERS)]
            db.session.execute(
                insert(PlatformUser),
                [{"id": u, "email": f"u{i}@bench.test", "full_name": f"U{i}", "legal_hold": i < HELD}
                 for i, u in enumerate(users)],
            )  # fmt: skip
            db.session.commit()
            held_rows = sum(1 for i in range(ROWS) if i % USERS < HELD)
            expected = ROWS - held_rows
            policy = save_policy("engagement_events", "HARD_DELETE", 365, enabled=True)
            cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=365)
            figures: dict[str, tuple[Figures, Figures]] = {}
            for strategy in STRATEGIES:
                policy = save_policy("engagement_events", strategy, 365, True, policy_id=policy.id)
                print(f"\n{strategy}: seeding {ROWS:,} expired + {RECENT:,} recent engagement events ...")
                seed_events(url, users)
                dry = retention.dry_run(policy)
                print(f"  dry run: {dry.count:,} rows, {dry.held:,} spared by legal holds; {load()}")
                job = run_job(app, url, users, policy.id, strategy, cutoff, expected)
                check_table(url, strategy, cutoff, held_rows)
                print(f"  job:      {job.rows:,} rows in {job.seconds:6.2f} s = {job.rate:>9,.0f} rows/s "
                      f"({job.batches} batches, {job.overruns} overruns, {job.reread} re-read); {load()}")  # fmt: skip
                seed_events(url, users)
                base = run_baseline(url, users, strategy, cutoff, expected, folder)
                check_table(url, strategy, cutoff, held_rows)
                print(f"  baseline: {base.rows:,} rows in {base.seconds:6.2f} s = {base.rate:>9,.0f} rows/s "
                      f"(one statement); {load()}")  # fmt: skip
                figures[strategy] = (job, base)
        print(f"\nresults ({ROWS:,} expired rows, {held_rows:,} of them held; end: {load()})")
        head = (
            f"{'strategy':<12} {'rows/s':>9} {'vs 100k':>8} {'baseline':>9} {'job/base':>8} "
            f"{'longest txn':>11} {'median':>7} {'writer max':>10} {'median':>7} {'base txn':>9} {'base wr.max':>11}"
        )
        print(head)
        for strategy, (job, base) in figures.items():
            print(
                f"{strategy:<12} {job.rate:>9,.0f} {job.rate / 100000:>7.2f}x {base.rate:>9,.0f} "
                f"{job.rate / base.rate:>7.2f}x {job.longest_txn:>8.1f} ms {job.median_txn:>4.1f} ms "
                f"{job.writer_max:>7.1f} ms {job.writer_median:>4.1f} ms {base.longest_txn:>6.0f} ms "
                f"{base.writer_max:>8.1f} ms"
            )
        print("(txn = a job transaction, begin to commit or rollback; writer = one UPDATE + one INSERT round trip)")
        for strategy, (job, _) in figures.items():
            print(f"  {strategy}: longest transaction that changed the table {job.longest_locking:.1f} ms; "
                  f"writer p99 {job.writer_p99:.1f} ms; planning count {job.planning:.0f} ms (read-only); "
                  f"finish {job.finish:.0f} ms")  # fmt: skip
    finally:
        drop_database(url)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
