"""Job infrastructure: SQL state, dispatch, claim, fencing, retry, cancel, a real worker, the console."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import threading

import pytest
from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import AuditLog, EngagementEvent, PlatformUser
from app.models.base import utcnow
from app.models.jobs import JobRun
from app.services.compliance import audit_export as exports
from app.services.jobs.context import JobContext, execute_run, run_inline
from app.services.jobs.errors import JobError, JobSuperseded
from app.services.jobs.heartbeat import THREAD_PREFIX
from app.services.jobs.kinds import job_kind, register_kind
from app.services.jobs.queues import get_queue
from app.services.jobs.runs import cancel_run, dispatch, redispatch_stale, retry_run, start_job
from app.services.retention import policies as retention_policies
from app.services.retention import runner as retention
from tests.support.jobworker import finish, jobs_env, kill_hard, start_worker, wait_for  # noqa: F401
from tests.support.web import csrf_token, login


@job_kind("test.count", queue="default")
def _count_job(ctx: JobContext) -> dict:
    """Counts to params['n'] in batches of 2, checkpointing as it goes."""
    n = ctx.params["n"]
    start = ctx.state.get("next", 0)
    for i in range(start, n, 2):
        ctx.commit(done=min(i + 2, n), total=n, checkpoint={"next": i + 2})
    return {"counted": n, "attempt": ctx.attempt}


@job_kind("test.fail", queue="default")
def _fail_job(ctx: JobContext) -> None:
    raise RuntimeError("boom")


STEPS: dict[str, threading.Event] = {}


@job_kind("test.long_step", queue="default")
def _long_step_job(ctx: JobContext) -> dict:
    """One long step without batches (think of a big gzip): it waits until the test releases it."""
    STEPS["started"].set()
    if not STEPS["release"].wait(timeout=120):
        raise RuntimeError("never released")
    return {"waited": True}


@pytest.fixture(autouse=True)
def _test_kinds(request):
    """This module's kinds, in the app the test uses."""
    if "app" in request.fixturenames:
        for kind in (_count_job, _fail_job, _long_step_job):
            register_kind(request.getfixturevalue("app"), kind)


@pytest.fixture
def settings(app):
    """Change app settings for one test; the originals (or their absence) come back afterwards."""
    missing = object()
    saved: dict = {}

    def set_(**values):
        for key, value in values.items():
            saved.setdefault(key, app.config.get(key, missing))
            app.config[key] = value

    yield set_
    for key, value in saved.items():
        if value is missing:
            app.config.pop(key, None)
        else:
            app.config[key] = value


@pytest.mark.usefixtures("jobs_env")
def test_start_job_records_sql_state_and_dedupes(app):
    with app.app_context():
        run = start_job("test.count", {"n": 3}, dedupe_key="once-a-day")
        again = start_job("test.count", {"n": 3}, dedupe_key="once-a-day")
        assert again.id == run.id
        assert run.status == "queued" and run.rq_job_id == f"jobrun-{run.id}-1"
        assert get_queue("default").count == 1


@pytest.mark.usefixtures("jobs_env")
def test_bad_dispatches_are_refused(app):
    with app.app_context():
        with pytest.raises(JobError, match="unknown job kind"):
            start_job("nope", {})
        with pytest.raises(JobError, match="JSON"):
            start_job("test.count", {"n": object()})
        with pytest.raises(JobError, match="no job"):
            retry_run(999999)
        assert db.session.scalar(select(JobRun.id)) is None


def test_inline_run_checkpoints_and_finishes_once(app):
    with app.app_context():
        run = start_job("test.count", {"n": 5}, enqueue=False)
        seen = []
        done = run_inline(run, lambda d, t: seen.append((d, t)))
        assert done.status == "succeeded" and done.result == {"counted": 5, "attempt": 1}
        assert seen[-1] == (5, 5) and done.checkpoint == {"next": 6}
        # A second execution of the same run does nothing: the claim is a compare-and-set.
        assert execute_run(run.id) is None
        assert db.session.get(JobRun, run.id, populate_existing=True).attempts == 1


@pytest.mark.usefixtures("jobs_env")
def test_failure_is_recorded_and_retry_redispatches(app):
    with app.app_context():
        run = start_job("test.fail", {}, enqueue=False)
        failed = run_inline(run)
        assert failed.status == "failed" and "RuntimeError: boom" in failed.error
        retry_run(run.id)
        again = db.session.get(JobRun, run.id, populate_existing=True)
        assert again.status == "queued" and again.rq_job_id == f"jobrun-{run.id}-1"
        with pytest.raises(JobError, match="“Queued” and cannot be retried"):
            retry_run(run.id)


def test_a_superseded_attempt_cannot_commit(app):
    with app.app_context():
        run = start_job("test.count", {"n": 4}, enqueue=False)
        db.session.execute(JobRun.__table__.update().where(JobRun.id == run.id).values(status="running", attempts=1))
        db.session.commit()
        ctx = JobContext(db.session.get(JobRun, run.id), attempt=1)
        # Another worker claims the run (attempt 2): attempt 1's next batch is refused and rolled back.
        db.session.execute(JobRun.__table__.update().where(JobRun.id == run.id).values(attempts=2))
        db.session.commit()
        with pytest.raises(JobSuperseded):
            ctx.commit(done=2, checkpoint={"next": 2})
        assert db.session.get(JobRun, run.id, populate_existing=True).checkpoint is None


@pytest.mark.usefixtures("jobs_env")
def test_cancel_queued_and_running(app):
    with app.app_context():
        queued = start_job("test.count", {"n": 2})
        assert cancel_run(queued.id).status == "cancelled"
        with pytest.raises(JobError, match="“Cancelled” and cannot be cancelled"):
            cancel_run(queued.id)
        running = start_job("test.count", {"n": 6}, enqueue=False)
        db.session.execute(JobRun.__table__.update().where(JobRun.id == running.id).values(cancel_requested=True))
        db.session.commit()
        result = run_inline(running)
        assert result.status == "cancelled" and result.progress_done == 2


@pytest.mark.usefixtures("jobs_env")
def test_real_worker_runs_each_dispatch_once(app):
    with app.app_context():
        run = start_job(exports.KIND, {"bad": "params"})  # fails inside the worker: KeyError
        ok = start_job(retention.KIND, {"entity": "nope"})
        # A double dispatch of the same run: the second claim finds it no longer queued.
        db.session.refresh(ok)
        dispatch(ok)
        run_id, ok_id = run.id, ok.id
    out = finish(_worker(app))
    with app.app_context():
        first = db.session.get(JobRun, run_id)
        second = db.session.get(JobRun, ok_id)
        assert first.status == "failed" and "KeyError" in first.error, out
        assert second.status == "failed" and second.attempts == 1, out


def _worker(app):
    return start_worker(app, app.config["REDIS_URL"], app.config["EXPORTS_DIR"].parent)


@pytest.mark.usefixtures("jobs_env")
def test_redispatch_stale_requeues_dead_runs(app):
    app.config["JOBS_STALE_AFTER"] = 0
    try:
        with app.app_context():
            run = start_job("test.count", {"n": 2}, enqueue=False)
            db.session.execute(JobRun.__table__.update().where(JobRun.id == run.id).values(status="running"))
            db.session.commit()
            assert redispatch_stale() == [run.id]
            assert db.session.get(JobRun, run.id, populate_existing=True).status == "queued"
    finally:
        app.config.pop("JOBS_STALE_AFTER")


@pytest.mark.parametrize("role,status", [("Admin", 200), ("Compliance", 200), ("Coach", 403), ("Support", 403)])
@pytest.mark.usefixtures("jobs_env")
def test_jobs_console_permissions(app, accounts, client, role, status):
    acc = accounts[role]
    login(client, acc.username, acc.password)
    assert client.get("/compliance/jobs/").status_code == status


@pytest.mark.usefixtures("jobs_env")
def test_jobs_console_retry_and_cancel_need_csrf_and_valid_ids(app, accounts, client):
    acc = accounts["Compliance"]
    login(client, acc.username, acc.password)
    with app.app_context():
        run = start_job("test.count", {"n": 2})
        run_id = run.id
    assert client.post(f"/compliance/jobs/{run_id}/cancel").status_code == 400  # no CSRF token
    token = csrf_token(client, "/compliance/jobs/")
    assert client.post("/compliance/jobs/999999/cancel", data={"csrf_token": token}).status_code == 404
    assert client.get("/compliance/jobs/abc/status").status_code == 404
    assert client.get("/compliance/jobs/?status=bogus").status_code == 400
    resp = client.post(f"/compliance/jobs/{run_id}/cancel", data={"csrf_token": token})
    assert resp.status_code == 302
    assert client.post(f"/compliance/jobs/{run_id}/retry", data={"csrf_token": token}).status_code == 409
    status = client.get(f"/compliance/jobs/{run_id}/status").get_json()
    assert status["status"] == "cancelled" and status["finished"] is True
    page = client.get("/compliance/jobs/").get_data(as_text=True)
    assert "test.count" in page and "default" in page
    with app.app_context():
        from app.models import AuditLog

        assert db.session.scalar(select(AuditLog.id).where(AuditLog.action == "job.cancel")) is not None


@pytest.mark.usefixtures("jobs_env")
def test_cli_retry_and_cancel_are_audited_like_the_console(app):
    from app.models import AuditLog

    with app.app_context():
        failed = run_inline(start_job("test.fail", {}, enqueue=False))
        queued = start_job("test.count", {"n": 2})
        failed_id, queued_id = failed.id, queued.id
    runner = app.test_cli_runner()
    assert runner.invoke(args=["jobs", "retry", str(failed_id)]).exit_code == 0
    out = runner.invoke(args=["jobs", "cancel", str(queued_id)])
    assert out.exit_code == 0, out.output
    refused = runner.invoke(args=["jobs", "cancel", str(queued_id)])
    assert refused.exit_code != 0 and "cannot be cancelled" in refused.output
    with app.app_context():
        rows = db.session.execute(select(AuditLog.action, AuditLog.resource_type, AuditLog.resource_id)).all()
        assert {(a, r, i) for a, r, i in rows if a.startswith("job.")} == {
            ("job.retry", "job_runs", str(failed_id)),
            ("job.cancel", "job_runs", str(queued_id)),
        }
        assert db.session.get(JobRun, queued_id).status == "cancelled"


def test_kinds_are_discovered_into_each_app(sqlite_app):
    """create_app finds every app/services/<area>/jobs.py; a kind a test registers stays in that test's app."""
    from app import create_app
    from app.services.analytics.jobs import CAPTURE_SNAPSHOTS, REFRESH_ROLLUPS
    from app.services.compliance.data_subject import ERASURE_KIND as SUBJECT_ERASURE
    from app.services.compliance.data_subject import EXPORT_KIND as SUBJECT_EXPORT
    from app.services.jobs.kinds import job_kinds
    from app.services.training import assignment

    fresh = create_app("test", SQLALCHEMY_DATABASE_URI=sqlite_app.config["SQLALCHEMY_DATABASE_URI"])
    from app.services.compliance.jobs import CHECKPOINT_KIND, VERIFY_KIND
    from app.services.events.jobs import DETECT_KIND, DISPATCH_KIND

    expected = {exports.KIND, retention.KIND, SUBJECT_EXPORT, SUBJECT_ERASURE, assignment.KIND}
    from app.services.automation.jobs import RUN_KIND as AUTOMATION_RUN
    from app.services.automation.time_jobs import TIME_RULES_KIND

    expected |= {CHECKPOINT_KIND, VERIFY_KIND, DISPATCH_KIND, DETECT_KIND, AUTOMATION_RUN, TIME_RULES_KIND}
    from app.services.awards.jobs import EVALUATE_BADGES, RANK_CHALLENGES
    from app.services.billing.jobs import DAILY_KIND as BILLING_DAILY
    from app.services.billing.jobs import DUNNING_KIND as BILLING_DUNNING
    from app.services.engagement.announcements import SEND_KIND as ANNOUNCEMENT_SEND
    from app.services.engagement.delivery import DELIVER_KIND

    expected |= {ANNOUNCEMENT_SEND, DELIVER_KIND, EVALUATE_BADGES, RANK_CHALLENGES, BILLING_DAILY, BILLING_DUNNING}
    from app.services.imports.service import KIND as IMPORT_COMMIT

    assert expected | {REFRESH_ROLLUPS, CAPTURE_SNAPSHOTS, IMPORT_COMMIT} == set(job_kinds(fresh))
    assert job_kinds(fresh)[exports.KIND].queue == "exports"
    register_kind(sqlite_app, _count_job)
    assert "test.count" in job_kinds(sqlite_app) and "test.count" not in job_kinds(fresh)


@pytest.mark.usefixtures("jobs_env")
def test_cron_starts_dashboard_runs_once_per_period(app):
    from app.jobs import cron
    from app.services.analytics.jobs import CAPTURE_SNAPSHOTS, REFRESH_ROLLUPS

    with app.app_context():
        refresh = cron.dispatch_rollup_refresh()
        assert cron.dispatch_rollup_refresh() == refresh  # a double tick: the same run
        capture = cron.dispatch_snapshot_capture()
        assert db.session.get(JobRun, refresh).kind == REFRESH_ROLLUPS
        assert db.session.get(JobRun, capture).kind == CAPTURE_SNAPSHOTS
        assert get_queue("default").count == 2


@pytest.mark.usefixtures("jobs_env")
def test_nightly_chain_verification_is_a_job_run_that_fails_on_a_broken_chain(app):
    from app.jobs import cron
    from app.services.audit import chain
    from app.services.compliance.jobs import VERIFY_KIND

    with app.app_context():
        for i in range(3):
            chain.record("test.event", "things", i, {}, commit=True)
        run_id = cron.verify_audit_chain()
        assert cron.verify_audit_chain() == run_id  # a double tick: the same run
        run = run_inline(db.session.get(JobRun, run_id))
        assert run.kind == VERIFY_KIND and run.status == "succeeded", run.error
        assert run.result["ok"] and run.result["rows"] >= 3 and run.progress_done >= 3
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL coachdesk.maintenance = 'on'")
            last = conn.execute(select(func.max(AuditLog.id))).scalar()
            conn.execute(AuditLog.__table__.update().where(AuditLog.id == last).values(action="edited"))
        broken = run_inline(start_job(VERIFY_KIND, {}, enqueue=False))
        assert broken.status == "failed" and "broken" in broken.error


def test_dead_runs_are_redispatched_within_two_minutes_by_default(app):
    """The worst case from a worker's death to its run's re-dispatch is under two minutes.

    It died just after a heartbeat: the run turns stale ``JOBS_STALE_AFTER`` later, and the
    cron's check, every ``interval`` seconds at most, picks it up.
    """
    from app.jobs.cron import build_scheduler
    from app.services.jobs.runs import STALE_AFTER_DEFAULT
    from config import get_config

    config = get_config("test")
    assert config.JOBS_STALE_AFTER == STALE_AFTER_DEFAULT
    assert config.JOBS_HEARTBEAT_SECONDS * 3 <= config.JOBS_STALE_AFTER  # three missed beats before a run is dead
    checks = [j for j in build_scheduler(None).get_jobs() if j.func_name == "app.jobs.cron.redispatch_stale_runs"]
    assert len(checks) == 1 and checks[0].interval is not None
    assert config.JOBS_STALE_AFTER + checks[0].interval <= 120


def _heartbeat_threads(run_id: int) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"{THREAD_PREFIX}{run_id}"]


def test_a_long_step_without_batches_keeps_its_heartbeat_fresh(app, settings):
    """The heartbeat ticks on its own while the job works, and stops once the attempt no longer owns the run."""
    settings(JOBS_HEARTBEAT_SECONDS=0.02)
    STEPS.update(started=threading.Event(), release=threading.Event())
    with app.app_context():
        run_id = start_job("test.long_step", {}, enqueue=False).id
    finished: dict = {}

    def work() -> None:
        with app.app_context():
            done = execute_run(run_id)
            finished["status"] = done.status if done is not None else None

    worker = threading.Thread(target=work)
    worker.start()
    try:
        assert STEPS["started"].wait(timeout=60)

        def heartbeat() -> dt.datetime:
            with app.app_context():
                return db.session.scalar(select(JobRun.heartbeat_at).where(JobRun.id == run_id))

        claimed = heartbeat()
        wait_for(lambda: heartbeat() > claimed, timeout=60, what="a heartbeat during the long step")
        later = heartbeat()
        wait_for(lambda: heartbeat() > later, timeout=60, what="another heartbeat")
        assert _heartbeat_threads(run_id)
    finally:
        STEPS["release"].set()
        worker.join(timeout=60)
    assert finished == {"status": "succeeded"}
    assert not _heartbeat_threads(run_id)


def test_a_superseded_attempt_stops_its_heartbeat(app, settings):
    settings(JOBS_HEARTBEAT_SECONDS=0.02)
    STEPS.update(started=threading.Event(), release=threading.Event())
    with app.app_context():
        run_id = start_job("test.long_step", {}, enqueue=False).id
    worker = threading.Thread(target=_execute_in, args=(app, run_id))
    worker.start()
    try:
        assert STEPS["started"].wait(timeout=60)
        wait_for(lambda: bool(_heartbeat_threads(run_id)), timeout=60, what="the heartbeat thread")
        with app.app_context():
            # A re-dispatched attempt claims the run: the first attempt's heartbeat must not keep it alive.
            db.session.execute(JobRun.__table__.update().where(JobRun.id == run_id).values(attempts=2))
            db.session.commit()
        wait_for(lambda: not _heartbeat_threads(run_id), timeout=60, what="the heartbeat to stop")
    finally:
        STEPS["release"].set()
        worker.join(timeout=60)
    with app.app_context():
        run = db.session.get(JobRun, run_id)
        assert run.status == "running" and run.attempts == 2  # the old attempt's ending is fenced off too


def _execute_in(app, run_id: int) -> None:
    with app.app_context():
        execute_run(run_id)


def _old_events(n_old: int, n_new: int) -> list[int]:
    """A customer's engagement events, ``n_old`` of them two years old; returns the old ones' ids."""
    user = PlatformUser(email="events@example.com", full_name="Events")
    db.session.add(user)
    db.session.commit()
    now = utcnow()
    ages = [dt.timedelta(days=730, minutes=i) for i in range(n_old)] + [dt.timedelta(days=1)] * n_new
    rows = [{"customer_id": user.id, "event_type": "login", "payload_json": {"i": i}, "occurred_at": now - age}
            for i, age in enumerate(ages)]  # fmt: skip
    db.session.execute(insert(EngagementEvent), rows)
    db.session.commit()
    cutoff = now - dt.timedelta(days=365)
    return list(db.session.scalars(select(EngagementEvent.id).where(EngagementEvent.occurred_at < cutoff)))


@pytest.mark.usefixtures("jobs_env")
def test_a_killed_worker_run_is_redispatched_by_the_cron_and_finishes_once(app, settings):
    """SIGKILL a worker mid-run: its heartbeat stops, the cron's check re-dispatches the run once it is
    stale, and a fresh worker finishes it from the checkpoint: every row archived exactly once."""
    from app.jobs import cron

    instance = app.config["EXPORTS_DIR"].parent
    with app.app_context():
        expired = _old_events(n_old=120, n_new=10)
        policy = retention_policies.save_policy("engagement_events", "ARCHIVE", 365, enabled=False)
        run_id = retention.plan_run(policy, None).id
    fixed = ("RETENTION_BATCH=5", "RETENTION_BATCH_MAX=5", "JOBS_HEARTBEAT_SECONDS=0.05")
    worker = start_worker(app, app.config["REDIS_URL"], instance, *fixed, "JOBS_TEST_BATCH_DELAY=0.05")

    def progress() -> int:
        with app.app_context():
            return db.session.scalar(select(JobRun.progress_done).where(JobRun.id == run_id)) or 0

    wait_for(lambda: progress() >= 30, what="the run half-way")
    kill_hard(worker)
    settings(JOBS_STALE_AFTER=1)
    with app.app_context():
        killed = db.session.get(JobRun, run_id)
        assert killed.status == "running" and killed.attempts == 1 and killed.progress_done < len(expired)

        def redispatched() -> bool:
            picked = cron.redispatch_stale_runs()
            assert picked in ([], [run_id])
            return picked == [run_id]

        wait_for(redispatched, timeout=60, what="the cron to re-dispatch the dead run")
        assert cron.redispatch_stale_runs() == []  # queued on RQ now: not dispatched twice
    finish(start_worker(app, app.config["REDIS_URL"], instance, *fixed))
    with app.app_context():
        done = db.session.get(JobRun, run_id)
        assert done.status == "succeeded" and done.attempts == 2 and done.dispatches == 2, done.error
        assert done.result["rows"] == len(expired)
        assert db.session.scalar(select(func.count()).select_from(EngagementEvent)) == 10
        logged = db.session.scalars(select(AuditLog).where(AuditLog.action == "retention.run")).all()
        assert len(logged) == 1 and logged[0].metadata_json["rows"] == len(expired)
        archive = app.config["ARCHIVE_DIR"] / done.result["archive"]
    with gzip.open(archive, "rt") as fh:
        assert [json.loads(line)["id"] for line in fh] == sorted(expired)
