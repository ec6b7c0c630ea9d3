"""Audit export vs PostgreSQL's own COPY ... TO STDOUT on the same rows.

    python -m bench.audit_export            # 1,000,000 rows (BENCH_ROWS), 3 rounds (BENCH_ROUNDS)

Target: the export job (streamed keyset batches, chain verified row by row,
gzip JSONL or CSV, fsync per batch, checkpoint per batch) reaches >= 40% of COPY's
rows/s, with flat memory (peak RSS reported).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import RSSSampler, build_app, drop_database, fresh_database, libpq, timed

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
ACTIONS = ("create", "update", "delete", "auth.login", "export.download")
TABLES = ("users", "messages", "subscriptions", "plan_items", "engagement_events")
COLUMNS = (
    "actor_id", "action", "resource_type", "resource_id", "metadata_json",
    "created_at", "ip_address", "user_agent", "prev_hash", "row_hash",
)  # fmt: skip


def seed(url: str, rows: int, actor: uuid.UUID) -> None:
    """COPY ``rows`` correctly chained audit rows into audit_logs."""
    import psycopg

    from app.services.audit.chain import row_hash

    base = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    prev = None
    with psycopg.connect(libpq(url)) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY audit_logs ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for i in range(rows):
                row = {
                    "actor_id": actor,
                    "action": ACTIONS[i % 5],
                    "resource_type": TABLES[i % 5],
                    "resource_id": str(i),
                    "metadata_json": {
                        "fields": ["status", "updated_at"],
                        "values": {"status": {"old": "A", "new": "B"}},
                    },
                    "created_at": base + dt.timedelta(milliseconds=i * 10),
                    "ip_address": "10.0.0.1",
                    "user_agent": "Mozilla/5.0 (bench)",
                    "prev_hash": prev,
                }
                row["row_hash"] = prev = row_hash(row)
                copy.write_row([json.dumps(row[c]) if c == "metadata_json" else row[c] for c in COLUMNS])
        conn.commit()
        conn.execute("ANALYZE audit_logs")


def copy_baseline(url: str, out: Path) -> int:
    import psycopg

    cols = "id, created_at, actor_id, action, resource_type, resource_id, metadata_json, ip_address, user_agent, " \
        "prev_hash, row_hash"  # fmt: skip
    sql = f"COPY (SELECT {cols} FROM audit_logs ORDER BY id) TO STDOUT (FORMAT csv)"
    with psycopg.connect(libpq(url)) as conn, conn.cursor() as cur, open(out, "wb") as fh, cur.copy(sql) as copy:
        for block in copy:
            fh.write(block)
    return out.stat().st_size


def main() -> None:
    url = fresh_database("bench_export")
    workdir = Path(tempfile.mkdtemp(prefix="coachdesk-bench-export-"))
    try:
        app = build_app(url, EXPORTS_DIR=workdir, AUDIT_EXPORT_BATCH=10000)
        with app.app_context():
            from app.extensions import db
            from app.services.audit import chain as audit
            from app.services.compliance import audit_export as ex
            from app.services.jobs.context import run_inline

            actor = audit.system_user_id(db.session.connection())
            db.session.commit()
            print(f"seeding {ROWS:,} chained audit rows ...")
            started = time.perf_counter()
            seed(url, ROWS, actor)
            print(f"  seeded in {time.perf_counter() - started:.1f} s\n")
            # Rounds alternate COPY and both exports, so a burst of load elsewhere on the machine
            # hits the baseline as much as the exports; ratios are per round, the median reported.
            ratios: dict[str, list[float]] = {"jsonl": [], "csv": []}
            report: dict[str, tuple[float, float]] = {}
            for round_no in range(1, ROUNDS + 1):
                print(f"round {round_no} of {ROUNDS} (load average {os.getloadavg()[0]:.1f})")
                results: dict[str, float] = {}
                with timed("COPY ... TO STDOUT (csv, baseline)", ROWS, results):
                    copy_baseline(url, workdir / "baseline.csv")
                for fmt in ("jsonl", "csv"):
                    params = ex.build_params("2000-01-01", "2100-01-01", fmt)
                    run = ex.request_export(params, None, enqueue=False)
                    with RSSSampler() as rss, timed(f"audit export job ({fmt})", ROWS, results):
                        done = run_inline(run)
                    assert done is not None and done.status == "succeeded", done and done.error
                    manifest = ex.verify_export(workdir / done.result["manifest"])
                    assert manifest["rows"] >= ROWS and manifest["chain_verified"], manifest
                    start, peak = report.get(fmt, (rss.start, 0.0))
                    report[fmt] = (start, max(peak, rss.peak))
                    baseline = results["COPY ... TO STDOUT (csv, baseline)"]
                    ratios[fmt].append(results[f"audit export job ({fmt})"] / baseline)
                    (workdir / done.result["file"]).unlink()
        print(f"\nratios against COPY, median of {ROUNDS} rounds (target >= 0.40):")
        for fmt in ("jsonl", "csv"):
            start, peak = report[fmt]
            each = ", ".join(f"{r:.2f}" for r in ratios[fmt])
            print(f"  {fmt:<6} {statistics.median(ratios[fmt]):6.2f}x of COPY  (rounds: {each})   "
                  f"RSS {start:6.0f} MB before, peak {peak:6.0f} MB (+{peak - start:.0f} MB)")  # fmt: skip
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
