"""Announcement send: 100,000 queued EMAIL deliveries through the SMTP sink, on PostgreSQL.

    python -m bench.announcement_send [--recipients 100000] [--baseline 1000] [--batch 500] [--workers 1]

A fresh migrated database gets ``--recipients`` customers (locales en/es/de) and one announcement
with a QUEUED EMAIL delivery for each, inserted directly. The local SMTP sink
(``app.services.engagement.mail_sink``, aiosmtpd) runs in its own process, as a mail server would.
``deliver_all`` (what the ``deliveries.run`` job does) sends them in batches of ``--batch``, one
SMTP connection per batch, committing each batch with its outcomes and the announcement's counters;
with ``--workers 2`` two senders run at once on their own connections (SKIP LOCKED shares the rows).
Target (issue 16): all of them in under 2 minutes.

Baseline in the same run, on ``--baseline`` deliveries of a second announcement: the same path with
one SMTP connection per mail (connect, EHLO, send, QUIT), as a naive sender would do.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import build_app, drop_database, fresh_database, step

TARGET_SECONDS = 120.0


def seed(recipients: int, baseline: int) -> tuple[int, int]:
    """Customers, the announcement to send and the baseline's, and a QUEUED delivery per recipient."""
    import sqlalchemy as sa

    from app.extensions import db

    conn = db.session.connection()
    conn.execute(
        sa.text(
            "INSERT INTO users (id, email, full_name, locale, status, legal_hold, created_at, updated_at) "
            "SELECT md5('bench' || g)::uuid, 'reader' || g || '@bench.test', 'Reader ' || g, "
            "(array['en','es','de'])[1 + g % 3], 'ACTIVE', false, now(), now() "
            "FROM generate_series(1, :n) g"
        ),
        {"n": recipients},
    )
    ids = []
    for title in ("Gym closed Monday", "Baseline notice"):
        ids.append(
            conn.execute(
                sa.text(
                    "INSERT INTO announcements (title, body, channel, status, is_marketing, sent_count, "
                    "skipped_count, failed_count, created_at) VALUES (:t, :b, 'EMAIL', 'SENT', false, 0, 0, 0, now()) "
                    "RETURNING id"
                ),
                {"t": title, "b": "The gym is closed on Monday for repairs.\nSee you on Tuesday!"},
            ).scalar()
        )
    main, base = ids
    conn.execute(
        sa.text(
            "INSERT INTO message_deliveries (announcement_id, recipient_id, channel, status, attempts, created_at) "
            "SELECT :a, md5('bench' || g)::uuid, 'EMAIL', 'QUEUED', 0, now() FROM generate_series(1, :n) g"
        ),
        {"a": main, "n": recipients},
    )
    conn.execute(
        sa.text(
            "INSERT INTO message_deliveries (announcement_id, recipient_id, channel, status, attempts, created_at) "
            "SELECT :a, md5('bench' || g)::uuid, 'EMAIL', 'QUEUED', 0, now() FROM generate_series(1, :n) g"
        ),
        {"a": base, "n": min(baseline, recipients)},
    )
    db.session.commit()
    db.session.connection().execute(sa.text("ANALYZE"))
    db.session.commit()
    return main, base


def start_sink(directory: Path) -> tuple[subprocess.Popen, int]:
    from app.services.engagement.mail_sink import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.services.engagement.mail_sink", str(directory), str(port), "1000"],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("ready"):
        raise SystemExit(f"mail sink did not start: {line!r}")
    return proc, port


def stop_sink(proc: subprocess.Popen) -> int:
    proc.terminate()
    out, _ = proc.communicate(timeout=30)
    return int(out.strip().rpartition(" ")[2] or 0)


def _cpu(pid: int | None) -> float:
    """User + system seconds of a process (None: this one)."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def per_mail_backends(config: Any) -> Any:
    """The baseline: every mail on a connection of its own."""
    from app.models.engagement import Channel
    from app.services.engagement.channels import SmtpBackend, backends_for

    class OneConnectionPerMail(SmtpBackend):
        def send(self, item: Any) -> Any:
            try:
                return super().send(item)
            finally:
                self.close()

    backends = backends_for(config)
    backends[Channel.EMAIL] = OneConnectionPerMail(backends[Channel.EMAIL].settings)
    return backends


def send(app: Any, announcement_id: int, batch: int, workers: int, naive: bool = False) -> tuple[float, int]:
    """Wall time and deliveries claimed, for ``workers`` senders in parallel."""
    from app.extensions import db
    from app.models.base import utcnow
    from app.services.engagement import delivery

    claimed: list[int] = []
    barrier = threading.Barrier(workers)

    def work() -> None:
        with app.app_context():
            barrier.wait()
            if naive:
                total = 0
                while True:
                    counts = delivery.deliver_due(
                        now=utcnow(), limit=batch, announcement_id=announcement_id,
                        backends=per_mail_backends(app.config),
                    )  # fmt: skip
                    db.session.commit()
                    if not counts.claimed:
                        break
                    total += counts.claimed
                claimed.append(total)
            else:
                claimed.append(delivery.deliver_all(now=utcnow, limit=batch, announcement_id=announcement_id).claimed)
            db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, sum(claimed)


def check(announcement_id: int, expected: int) -> dict[str, int]:
    import sqlalchemy as sa

    from app.extensions import db
    from app.models.engagement import Announcement, MessageDelivery

    db.session.expire_all()
    rows = dict(
        db.session.execute(
            sa.select(MessageDelivery.status, sa.func.count())
            .where(MessageDelivery.announcement_id == announcement_id)
            .group_by(MessageDelivery.status)
        ).all()
    )
    ann = db.session.get(Announcement, announcement_id)
    by_status = {str(k): v for k, v in rows.items()}
    if by_status.get("SENT") != expected or ann.sent_count != expected:
        raise SystemExit(f"announcement {announcement_id}: rows {by_status}, sent_count {ann.sent_count}")
    return by_status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    url = fresh_database("bench_announce")
    mail_dir = Path(tempfile.mkdtemp(prefix="cd-bench-mail-"))
    sink, port = start_sink(mail_dir)
    try:
        app = build_app(url, MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SINK=False)
        with app.app_context():
            label = f"seed {args.recipients:,} queued deliveries"
            main_id, base_id = step(label, lambda: seed(args.recipients, args.baseline))
            base_n = min(args.baseline, args.recipients)
            naive_s, naive_n = send(app, base_id, args.batch, 1, naive=True)
            check(base_id, base_n)
            print(f"  baseline, one connection per mail   {naive_n:>9,} mails in {naive_s:7.2f} s = "
                  f"{naive_n / naive_s:>8,.0f} mails/s")  # fmt: skip
            cpu_before = _cpu(sink.pid), _cpu(None)
            took, sent = send(app, main_id, args.batch, args.workers)
            sink_cpu = (_cpu(sink.pid) - cpu_before[0]) / sent * 1000
            own_cpu = (_cpu(None) - cpu_before[1]) / sent * 1000
            statuses = check(main_id, args.recipients)
            rate = sent / took
            print(f"  CPU per mail: sender {own_cpu:.2f} ms, SMTP sink {sink_cpu:.2f} ms "
                  f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")  # fmt: skip
            print(f"  deliver_all, {args.workers} worker(s), batch {args.batch:<5} {sent:>9,} mails in {took:7.2f} s = "
                  f"{rate:>8,.0f} mails/s")  # fmt: skip
            print(f"  rows: {statuses}; ratio vs baseline: {rate / (naive_n / naive_s):.1f}x")
        received = stop_sink(sink)
        sink = None
        expected = args.recipients + base_n
        print(f"  the sink received {received:,} mails (expected {expected:,})")
        verdict = "PASS" if took < TARGET_SECONDS and received == expected else "FAIL"
        print(f"  {verdict}: {args.recipients:,} announcement mails in {took:.1f} s (target < {TARGET_SECONDS:.0f} s)")
        return 0 if verdict == "PASS" else 1
    finally:
        if sink is not None:
            stop_sink(sink)
        if not args.keep:
            drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
