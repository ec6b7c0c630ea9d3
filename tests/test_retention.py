"""Retention: declared entities, validation, dry runs, each strategy with legal holds, SIGKILL mid-run."""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import io
import json
import re
import threading
import uuid

import pytest
from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import AuditLog, DataRetentionPolicy, EngagementEvent, PlatformUser
from app.models.base import utcnow
from app.models.jobs import JobRun
from app.services import artifacts, batching
from app.services.audit import chain, checkpoints, verify
from app.services.jobs.context import run_inline
from app.services.jobs.runs import retry_run, start_job
from app.services.retention import archive as archive_format
from app.services.retention import policies
from app.services.retention import runner as retention
from tests.support.jobworker import finish, jobs_env, kill_hard, start_worker, wait_for  # noqa: F401
from tests.support.web import csrf_token, login

OLD = dt.timedelta(days=400)


def _world(n_old: int = 30, n_new: int = 10) -> tuple[PlatformUser, PlatformUser]:
    """Two customers, one under legal hold, each with old and recent engagement events."""
    free = PlatformUser(email="free@example.com", full_name="Free")
    held = PlatformUser(email="held@example.com", full_name="Held", legal_hold=True)
    db.session.add_all([free, held])
    db.session.commit()
    now = utcnow()
    rows = []
    for user in (free, held):
        for i in range(n_old):
            rows.append({"customer_id": user.id, "event_type": "login", "payload_json": {"i": i},
                         "occurred_at": now - OLD - dt.timedelta(minutes=i)})  # fmt: skip
        for i in range(n_new):
            rows.append({"customer_id": user.id, "event_type": "login", "payload_json": {"i": i},
                         "occurred_at": now - dt.timedelta(days=1, minutes=i)})  # fmt: skip
    db.session.execute(insert(EngagementEvent), rows)
    db.session.commit()
    return free, held


def _expired_world(n_old: int = 30, n_new: int = 10) -> tuple[dict, set[int]]:
    """``_world``, its rows as they were, and the ids a one-year policy must change (the free customer's old rows)."""
    free, _ = _world(n_old, n_new)
    before = _snapshot()
    cutoff = utcnow() - dt.timedelta(days=365)
    return before, {i for i, (cid, _, at) in before.items() if cid == free.id and at < cutoff}


def _policy(strategy: str, entity: str = "engagement_events", days: int = 365) -> DataRetentionPolicy:
    return policies.save_policy(entity, strategy, days, enabled=True)


def _snapshot() -> dict[int, tuple]:
    t = EngagementEvent.__table__
    return {r.id: (r.customer_id, r.payload_json, r.occurred_at) for r in db.session.execute(select(t))}


@pytest.mark.parametrize(
    "entity,strategy,days,message",
    [
        ("audit_logs", "HARD_DELETE", 400, "only ARCHIVE"),
        ("audit_logs", "ANONYMIZE", 400, "only ARCHIVE"),
        ("audit_logs", "ARCHIVE", 30, "at least 365"),
        ("users", "HARD_DELETE", 30, "cannot carry"),
        ("support_tickets", "HARD_DELETE", 30, "only ANONYMIZE"),
        ("engagement_events", "SHRED", 30, "unknown strategy"),
        ("engagement_events", "HARD_DELETE", "ten", "whole number"),
    ],
)
def test_invalid_policies_are_refused(app_ctx, entity, strategy, days, message):
    with pytest.raises(policies.RetentionError, match=message):
        policies.save_policy(entity, strategy, days, True)
    assert db.session.scalar(select(func.count()).select_from(DataRetentionPolicy)) == 0


def test_dry_run_counts_and_samples_without_touching(app_ctx):
    _world()
    before = _snapshot()
    result = retention.dry_run(_policy("HARD_DELETE"))
    assert result.count == 30 and result.held == 30 and len(result.sample) == 10
    assert "payload_json" not in result.sample[0]
    assert _snapshot() == before


@pytest.mark.usefixtures("jobs_env")
@pytest.mark.parametrize("strategy", ["HARD_DELETE", "ANONYMIZE", "ARCHIVE"])
def test_each_strategy_touches_exactly_the_expired_unheld_rows(app, strategy):
    _run_and_check_exactly(app, strategy)


@pytest.mark.parametrize("lanes", [1, 3])
@pytest.mark.parametrize("strategy", ["HARD_DELETE", "ANONYMIZE"])
def test_any_number_of_lanes_touches_exactly_the_expired_unheld_rows(pg_app, strategy, lanes):
    """On PostgreSQL HARD_DELETE and ANONYMIZE run in RETENTION_LANES slices of the key span (2 by default)."""
    pg_app.config["RETENTION_LANES"] = lanes
    try:
        _run_and_check_exactly(pg_app, strategy)
    finally:
        pg_app.config.pop("RETENTION_LANES")


def _run_and_check_exactly(app, strategy: str) -> None:
    app.config["RETENTION_BATCH"] = 7
    try:
        with app.app_context():
            before, expired = _expired_world()
            run = run_inline(_plan(strategy))
            assert run.status == "succeeded", run.error
            after = _snapshot()
            untouched = {i: v for i, v in before.items() if i not in expired}
            assert {i: after[i] for i in untouched} == untouched
            if strategy == "ANONYMIZE":
                assert set(after) == set(before)
                assert all(after[i][1] is None for i in expired)
            else:
                assert set(after) == set(untouched)
            if strategy == "ARCHIVE":
                archive = app.config["ARCHIVE_DIR"] / run.result["archive"]
                assert archive_format.verify_archive(archive) == []
                with gzip.open(archive, "rt") as fh:
                    assert [json.loads(line)["id"] for line in fh] == sorted(expired)
            row = db.session.scalar(select(AuditLog).where(AuditLog.action == "retention.run"))
            assert row.metadata_json["rows"] == len(expired) == 30
            assert db.session.get(DataRetentionPolicy, run.params["policy_id"]).last_run_at is not None
            # Running again finds nothing left to do.
            again = run_inline(_plan(strategy, existing=True))
            assert again.result["rows"] == 0
    finally:
        app.config.pop("RETENTION_BATCH")


def _plan(strategy: str, existing: bool = False) -> JobRun:
    policy = (
        db.session.scalar(select(DataRetentionPolicy).where(DataRetentionPolicy.entity == "engagement_events"))
        if existing
        else _policy(strategy)
    )
    params = {"policy_id": policy.id, "entity": policy.entity, "strategy": policy.deletion_strategy.value,
              "cutoff": (utcnow() - dt.timedelta(days=policy.retention_period_days)).isoformat()}  # fmt: skip
    return start_job(retention.KIND, params, enqueue=False)


def test_audit_logs_archive_keeps_the_chain_verifiable(app_ctx, tmp_path):
    for i in range(6):
        chain.record("old.event", "things", i, {}, commit=True)
    old = utcnow() - dt.timedelta(days=800)
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL coachdesk.maintenance = 'on'")
        # Re-date the first four rows (and re-hash them) as if they were two years old.
        ids = [r for r in conn.execute(select(AuditLog.id).order_by(AuditLog.id)).scalars()]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL coachdesk.maintenance = 'on'")
        prev = None
        for row in verify.iter_rows():
            if row["id"] in ids[:4]:
                row["created_at"] = old
            row["prev_hash"] = prev
            prev = chain.row_hash(row)
            conn.execute(
                AuditLog.__table__.update()
                .where(AuditLog.id == row["id"])
                .values(created_at=row["created_at"], prev_hash=row["prev_hash"], row_hash=prev)
            )
    assert verify.verify_chain().ok
    checkpoints.write()  # the cron has signed the chain's start before the archive moves it
    from flask import current_app

    current_app.config["ARCHIVE_DIR"] = tmp_path
    try:
        policy = policies.save_policy("audit_logs", "ARCHIVE", 365, True)
        run = run_inline(start_job(retention.KIND, {"policy_id": policy.id, "entity": "audit_logs",
                              "strategy": "ARCHIVE", "cutoff": (utcnow() - dt.timedelta(days=365)).isoformat()},
                              enqueue=False))  # fmt: skip
    finally:
        current_app.config["ARCHIVE_DIR"] = current_app.config["INSTANCE_DIR"] / "archive"
    assert run.status == "succeeded", run.error
    assert run.result["rows"] == 4
    assert db.session.scalar(select(func.min(AuditLog.id))) == ids[4]
    # The archive signed the chain's new start, so verify tells it from a deletion of the oldest rows.
    assert "checkpoint_refused" not in run.result, run.result["checkpoint_refused"]
    assert run.result["checkpoint_head_id"]
    report = verify.verify_chain()
    assert report.ok, report


def test_legal_hold_page_and_permissions(app, accounts, client):
    with app.app_context():
        user = PlatformUser(email="subject@example.com", full_name="Subject")
        db.session.add(user)
        db.session.commit()
        uid = str(user.id)
    login(client, accounts["Compliance"].username, accounts["Compliance"].password)
    token = csrf_token(client, "/compliance/retention/")
    bad = client.post("/compliance/retention/holds", data={"csrf_token": token, "user": "nobody", "held": "y"})
    assert bad.status_code == 400
    # The person picker: typed "Subj", the choice carries the person's id, the page names who is held.
    page = client.get("/compliance/retention/").get_data(as_text=True)
    picker = re.search(r'<select name="user"[^>]*data-url="([^"]+)"', page)
    assert picker and "user id or email" not in page
    found = client.get(picker.group(1), query_string={"q": "Subj"}).get_json()["results"]
    assert [r["id"] for r in found] == [uid]
    ok = client.post("/compliance/retention/holds", data={"csrf_token": token, "user": found[0]["id"], "held": "y"})
    assert ok.status_code == 302
    held = client.get("/compliance/retention/").get_data(as_text=True)
    entry = re.search(r'<ul class="cd-held"><li>(.*?)</li>', held).group(1)
    assert "&lt;subject@example.com&gt;" in entry and f">{uid}<" not in entry
    link = re.search(r'href="([^"]+)">Subject</a>', entry)  # Compliance may read people: the name links
    assert link and "subject@example.com" in client.get(link.group(1)).get_data(as_text=True)
    again = client.post(
        "/compliance/retention/holds", data={"csrf_token": token, "user": "subject@example.com", "held": "y"}
    )
    assert again.status_code == 302  # an email still works (scripts, the old form)
    policy_form = {"csrf_token": token, "entity": "audit_logs", "strategy": "HARD_DELETE", "days": "400"}
    bad_policy = client.post("/compliance/retention/policies", data=policy_form)
    assert bad_policy.status_code == 400 and "only ARCHIVE" in bad_policy.get_data(as_text=True)
    policy_form.update(entity="engagement_events", days="30")
    good = client.post("/compliance/retention/policies", data=policy_form)
    assert good.status_code == 302
    with app.app_context():
        assert db.session.get(PlatformUser, uuid.UUID(uid)).legal_hold is True
        policy_id = db.session.scalar(select(DataRetentionPolicy.id))
    dry = client.post(f"/compliance/retention/policies/{policy_id}/dry-run", data={"csrf_token": token})
    assert dry.status_code == 200 and "Dry run" in dry.get_data(as_text=True)
    assert client.post("/compliance/retention/policies/9999/dry-run", data={"csrf_token": token}).status_code == 404
    client.post("/logout/", data={"csrf_token": csrf_token(client, "/")})
    login(client, accounts["Support"].username, accounts["Support"].password)
    assert client.get("/compliance/retention/").status_code == 403


def _changed(strategy: str, before: dict[int, tuple], expired: set[int]) -> set[int]:
    """The expired rows this run has changed so far (deleted, or anonymized)."""
    after = _snapshot()
    if strategy == "ANONYMIZE":
        return {i for i in expired if after[i][1] is None}
    return {i for i in expired if i not in after}


@pytest.mark.usefixtures("jobs_env")
@pytest.mark.parametrize("strategy", ["HARD_DELETE", "ANONYMIZE", "ARCHIVE"])
def test_sigkill_mid_retention_then_rerun_touches_exactly_the_expired_rows(app, strategy):
    """A real worker is SIGKILLed mid-run: each committed range came with its checkpoint (and, for
    ARCHIVE, its fsynced bytes); the rerun resumes there and changes exactly the expired, unheld rows."""
    instance = app.config["EXPORTS_DIR"].parent
    with app.app_context():
        before, expired = _expired_world(n_old=150, n_new=20)
        run = retention.plan_run(_policy(strategy), None)
        run_id = run.id
    # Ranges of exactly 5 ids (no time-based growth), slowed down so the kill lands mid-run.
    fixed = ("RETENTION_BATCH=5", "RETENTION_BATCH_MAX=5")
    worker = start_worker(app, app.config["REDIS_URL"], instance, *fixed, "JOBS_TEST_BATCH_DELAY=0.05")

    def midway() -> bool:
        with app.app_context():
            done = db.session.scalar(select(JobRun.progress_done).where(JobRun.id == run_id))
            db.session.rollback()
        return done >= 50

    wait_for(midway, what="retention half-way")
    kill_hard(worker)
    archive = app.config["ARCHIVE_DIR"] / f"engagement_events-{run_id}.jsonl.gz"
    with app.app_context():
        killed = db.session.get(JobRun, run_id)
        assert killed.status == "running" and killed.progress_done < len(expired)
        state = killed.checkpoint
        # The checkpoint describes exactly what was committed: no more, no less.
        changed = _changed(strategy, before, expired)
        assert len(changed) == state["rows"] == killed.progress_done
        assert changed == {i for i in expired if batching.is_committed(state, i)}
    if strategy == "ARCHIVE":
        assert not archive.exists()
        part = artifacts.partial_path(archive)
        assert part.stat().st_size >= state["bytes"]
        with gzip.open(io.BytesIO(part.read_bytes()[: state["bytes"]]), "rt") as fh:
            assert sorted(json.loads(line)["id"] for line in fh) == sorted(changed)
    app.config["JOBS_STALE_AFTER"] = 0
    try:
        with app.app_context():
            retry_run(run_id)
    finally:
        app.config.pop("JOBS_STALE_AFTER")
    finish(start_worker(app, app.config["REDIS_URL"], instance, *fixed))
    with app.app_context():
        done = db.session.get(JobRun, run_id)
        assert done.status == "succeeded" and done.attempts == 2, done.error
        assert done.result["rows"] == len(expired)
        after = _snapshot()
        assert _changed(strategy, before, expired) == expired
        logged = db.session.scalar(select(AuditLog).where(AuditLog.action == "retention.run"))
        assert logged.metadata_json["rows"] == len(expired)
    untouched = {i: v for i, v in before.items() if i not in expired}
    assert {i: after[i] for i in untouched} == untouched  # held and young rows, byte for byte
    if strategy == "ANONYMIZE":
        assert set(after) == set(before)
        assert {i: (after[i][0], after[i][2]) for i in expired} == {i: (before[i][0], before[i][2]) for i in expired}
    else:
        assert set(after) == set(untouched)
    if strategy == "ARCHIVE":
        assert archive_format.verify_archive(archive) == []
        with gzip.open(archive, "rt") as fh:
            archived = [json.loads(line) for line in fh]
        assert [r["id"] for r in archived] == sorted(expired)
        # What was archived is the row as it was, not a later state of it.
        assert {r["id"]: r["payload_json"] for r in archived} == {i: before[i][1] for i in expired}
        manifest = json.loads(archive_format.manifest_path(archive).read_text())
        assert manifest["rows"] == len(expired) and manifest["first_id"] == min(expired)


@pytest.mark.parametrize("strategy", ["HARD_DELETE", "ANONYMIZE", "ARCHIVE"])
def test_a_batch_that_overruns_its_time_limit_is_retried_smaller(pg_app, tmp_path, strategy):
    """Another transaction holds a lock on an expired row: the batch waiting for it hits its
    statement_timeout, is rolled back and retried smaller until the lock is gone; the run still
    changes exactly the expired, unheld rows, and no other writer waited behind a long batch."""
    pg_app.config["ARCHIVE_DIR"] = tmp_path
    try:
        with pg_app.app_context():
            before, expired = _expired_world(n_old=40, n_new=5)
            blocker = db.engine.connect()
            blocker.begin()
            blocker.execute(select(EngagementEvent.id).where(EngagementEvent.id == min(expired)).with_for_update())
            release = threading.Timer(0.5, blocker.rollback)
            release.start()
            try:
                run = run_inline(_plan(strategy))
            finally:
                release.join()
                blocker.close()
            assert run.status == "succeeded", run.error
            assert run.result["overruns"] >= 1 and run.result["rows"] == len(expired)
            assert _changed(strategy, before, expired) == expired
            untouched = {i: v for i, v in before.items() if i not in expired}
            after = _snapshot()
            assert {i: after[i] for i in untouched} == untouched
            if strategy == "ARCHIVE":
                assert archive_format.verify_archive(tmp_path / run.result["archive"]) == []
    finally:
        pg_app.config["ARCHIVE_DIR"] = pg_app.config["INSTANCE_DIR"] / "archive"


def test_archive_rereads_a_range_a_writer_changed_after_it_was_written(pg_app, tmp_path):
    """ARCHIVE writes a range before deleting it, without holding locks meanwhile: when another
    writer updates a row in between, the deleted version differs from the written one, so the
    range is rolled back and archived again, and the archive holds the row as it was deleted."""
    from sqlalchemy import event

    pg_app.config["ARCHIVE_DIR"] = tmp_path
    try:
        with pg_app.app_context():
            before, expired = _expired_world(n_old=20, n_new=5)
            victim = min(expired)
            touched = []

            def writer_strikes(conn, cursor, statement, params, context, executemany):
                if "DELETE FROM engagement_events" in statement and not touched:
                    touched.append(victim)
                    with db.engine.connect() as other:
                        other.execute(
                            EngagementEvent.__table__.update()
                            .where(EngagementEvent.id == victim)
                            .values(event_type="changed-meanwhile")
                        )
                        other.commit()

            event.listen(db.engine, "before_cursor_execute", writer_strikes)
            try:
                run = run_inline(_plan("ARCHIVE"))
            finally:
                event.remove(db.engine, "before_cursor_execute", writer_strikes)
            assert touched == [victim]
            assert run.status == "succeeded", run.error
            assert run.result["reread"] == 1 and run.result["rows"] == len(expired)
            assert _changed("ARCHIVE", before, expired) == expired
            archive = tmp_path / run.result["archive"]
            assert archive_format.verify_archive(archive) == []
            with gzip.open(archive, "rt") as fh:
                archived = {row["id"]: row for row in map(json.loads, fh)}
            assert sorted(archived) == sorted(expired)
            assert archived[victim]["event_type"] == "changed-meanwhile"
    finally:
        pg_app.config["ARCHIVE_DIR"] = pg_app.config["INSTANCE_DIR"] / "archive"


@pytest.mark.usefixtures("jobs_env")
def test_verify_archive_finds_a_changed_or_extended_archive(app):
    with app.app_context():
        _world(n_old=12, n_new=2)
        run = run_inline(_plan("ARCHIVE"))
        assert run.status == "succeeded", run.error
    archive = app.config["ARCHIVE_DIR"] / run.result["archive"]
    assert archive_format.verify_archive(archive) == []
    original = archive.read_bytes()
    extra = gzip.compress(json.dumps({"id": 10**9}).encode() + b"\n")
    archive.write_bytes(original + extra)
    problems = archive_format.verify_archive(archive)
    assert "sha256 differs from the manifest" in problems and any("rows, the manifest says" in p for p in problems)
    archive.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    problems = archive_format.verify_archive(archive)
    assert "sha256 differs from the manifest" in problems and any("gzip" in p for p in problems)
    archive.unlink()
    assert archive_format.verify_archive(archive) == [f"{archive.name}: archive or manifest missing"]


def test_postgresql_renders_archive_lines_as_python_does(pg_app):
    """ARCHIVE lines are printed by PostgreSQL; SQLite's by Python: the same row gives the same text."""
    from app.models import ProgressMetric

    with pg_app.app_context():
        user = PlatformUser(email="lines@example.com", full_name="Lines")
        db.session.add(user)
        db.session.commit()
        whole = dt.datetime(2020, 2, 29, 23, 59, 59, tzinfo=dt.UTC)
        frac = dt.datetime(2021, 1, 2, 3, 4, 5, 120000, tzinfo=dt.timezone(dt.timedelta(hours=5)))
        db.session.add_all([
            EngagementEvent(customer_id=user.id, event_type='quote " back \\ tab \t', occurred_at=whole,
                            payload_json={"minutes": 30, "zone": "Zürich ✓", "nested": {"b": [1, None, True]}}),
            EngagementEvent(customer_id=user.id, event_type="none", occurred_at=frac, payload_json=None),
            ProgressMetric(customer_id=user.id, metric_type="weight", value=decimal.Decimal("72.500"), unit="kg",
                           recorded_at=frac, source="MANUAL"),
        ])  # fmt: skip
        db.session.commit()
        for model in (EngagementEvent, ProgressMetric):
            table = model.__table__
            rendered = dict(db.session.execute(select(table.c.id, archive_format.archive_line_sql(table))).all())
            rows = db.session.execute(select(table)).mappings()
            python = {r["id"]: archive_format.archive_line(table, r) for r in rows}
            assert rendered == python and rendered
        events = EngagementEvent.__table__
        query = select(events.c.id, archive_format.archive_line_sql(events))
        lines = [json.loads(line) for _, line in db.session.execute(query)]
        assert sorted(r["occurred_at"] for r in lines) == [
            "2020-02-29T23:59:59+00:00",
            "2021-01-01T22:04:05.120000+00:00",
        ]
        assert {r["event_type"] for r in lines} == {'quote " back \\ tab \t', "none"}
        payload = {"minutes": 30, "zone": "Zürich ✓", "nested": {"b": [1, None, True]}}
        assert payload in [r["payload_json"] for r in lines]


def test_invalid_policy_cannot_be_written_by_any_path(app_ctx):
    db.session.add(DataRetentionPolicy(entity="audit_logs", retention_period_days=400, deletion_strategy="ANONYMIZE"))
    with pytest.raises(policies.RetentionError, match="only ARCHIVE"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(DataRetentionPolicy)) == 0


def _job_runs() -> int:
    return db.session.scalar(select(func.count()).select_from(JobRun))


@pytest.mark.usefixtures("jobs_env")
def test_run_now_asks_first_and_runs_only_the_count_confirmed(app, accounts, client):
    """ "Run now" shows the dry run's count and starts nothing; the confirm form carries that count and the
    policy it was given for; a policy changed or rows grown a lot since then mean asking again."""
    import re

    with app.app_context():
        free_id = _world()[0].id
        policy_id = _policy("HARD_DELETE").id
    login(client, accounts["Compliance"].username, accounts["Compliance"].password)
    token = csrf_token(client, "/compliance/retention/")
    url = f"/compliance/retention/policies/{policy_id}/run"
    assert client.post(url).status_code == 400  # no CSRF token

    asked = client.post(url, data={"csrf_token": token})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "This will permanently delete 30 rows of engagement_events older than" in page
    count = re.search(r'name="confirmed_count" value="(\d+)"', page).group(1)
    version = re.search(r'name="policy_version" value="([^"]+)"', page).group(1)
    assert count == "30"
    with app.app_context():
        assert _job_runs() == 0

    # Many more expired rows since the confirmation: ask again with the new count.
    with app.app_context():
        rows = [{"customer_id": free_id, "event_type": "login", "payload_json": {}, "occurred_at": utcnow() - OLD}] * 20
        db.session.execute(insert(EngagementEvent), rows)
        db.session.commit()
    grown = client.post(url, data={"csrf_token": token, "confirmed_count": count, "policy_version": version})
    assert grown.status_code == 409
    page = grown.get_data(as_text=True)
    assert "now has 50 rows to change, more than the 30 you confirmed" in page
    assert 'name="confirmed_count" value="50"' in page
    # The policy changed since: ask again.
    with app.app_context():
        policies.save_policy("engagement_events", "HARD_DELETE", 300, True, policy_id)
        assert _job_runs() == 0
    changed = client.post(url, data={"csrf_token": token, "confirmed_count": "50", "policy_version": version})
    assert changed.status_code == 409 and "The policy changed since you confirmed" in changed.get_data(as_text=True)
    version = re.search(r'name="policy_version" value="([^"]+)"', changed.get_data(as_text=True)).group(1)
    with app.app_context():
        assert _job_runs() == 0

    confirmed = client.post(url, data={"csrf_token": token, "confirmed_count": "50", "policy_version": version})
    assert confirmed.status_code == 302
    with app.app_context():
        run = db.session.scalar(select(JobRun))
        assert _job_runs() == 1 and run.kind == retention.KIND and run.params["policy_id"] == policy_id
        assert run.params["strategy"] == "HARD_DELETE" and run.status == "queued"


def test_every_table_with_personal_data_may_carry_a_policy_or_says_why_not(app_ctx):
    from app.models.classification import personal_columns

    personal = {t.name for t in db.metadata.sorted_tables if personal_columns(t)}
    covered = set(policies.RETENTION_ENTITIES) | set(policies.NO_RETENTION)
    assert personal - covered == set()
    assert set(policies.RETENTION_ENTITIES) & set(policies.NO_RETENTION) == set()
    for entity, spec in policies.RETENTION_ENTITIES.items():
        table = db.metadata.tables[entity]
        assert spec.time_column in table.c, entity
        assert all(h in table.c for h in spec.holders), entity


def test_only_revoked_consents_expire_and_their_metadata_is_anonymized(app):
    from app.models.identity import Consent

    with app.app_context():
        user = PlatformUser(email="consent-subject@example.test", full_name="Consent Subject", locale="en")
        db.session.add(user)
        db.session.flush()
        long_ago = utcnow() - dt.timedelta(days=900)
        rows = {
            "revoked_long_ago": Consent(user_id=user.id, consent_type="marketing", granted_at=long_ago,
                                        revoked_at=long_ago, metadata_json={"source": "old"}),
            "never_revoked": Consent(user_id=user.id, consent_type="terms", granted_at=long_ago,
                                     metadata_json={"source": "still valid"}),
            "revoked_lately": Consent(user_id=user.id, consent_type="sms", granted_at=long_ago,
                                      revoked_at=utcnow(), metadata_json={"source": "recent"}),
        }  # fmt: skip
        db.session.add_all(rows.values())
        db.session.commit()
        policy = policies.save_policy("consents", "ANONYMIZE", 365, True)
        db.session.commit()
        params = {"policy_id": policy.id, "entity": "consents", "strategy": "ANONYMIZE",
                  "cutoff": (utcnow() - dt.timedelta(days=365)).isoformat()}  # fmt: skip
        run = run_inline(start_job(retention.KIND, params, enqueue=False))
        assert run.status == "succeeded", run.error
        db.session.expire_all()
        metadata = {key: db.session.get(Consent, row.id).metadata_json for key, row in rows.items()}
        assert metadata == {"revoked_long_ago": None, "never_revoked": {"source": "still valid"},
                            "revoked_lately": {"source": "recent"}}  # fmt: skip
