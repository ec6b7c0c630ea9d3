"""The automation engine on both databases: events to executions, exactly-once actions, retries,
backoff, self-pausing rules, quiet hours, versions, the run log's "run again", and SIGKILL mid-run."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.automation import ExecutionStatus, RuleStatus, SegmentMembership
from app.models.base import utcnow
from app.models.compliance import AuditLog
from app.models.training import CustomerBadge
from app.services.automation import engine, rules
from tests.support.automation_support import book, dispatch, executions, make_badge, make_rule
from tests.support.jobworker import jobs_env  # noqa: F401  (fixture)
from tests.support.plan_support import coach_actor, make_customer
from tests.support.webhook_receiver import Receiver


@pytest.fixture
def webhook_receiver(app):
    """A real receiver on 127.0.0.1, allowed as a webhook host for the test."""
    server = Receiver().start()
    saved = {k: app.config.get(k) for k in ("AUTOMATION_WEBHOOK_HOSTS", "AUTOMATION_WEBHOOK_ALLOW_PRIVATE")}
    app.config.update(AUTOMATION_WEBHOOK_HOSTS=["127.0.0.1"], AUTOMATION_WEBHOOK_ALLOW_PRIVATE=True)
    yield server
    app.config.update(saved)
    server.stop()


def _members(segment: str = "booked") -> list[SegmentMembership]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(SegmentMembership).where(SegmentMembership.segment == segment)))


def _run() -> engine.RunResult:
    return engine.run_due(db.session)


def _make_due(rule_id: int) -> None:
    """Let the clock pass a retry's backoff: every pending execution of the rule is due now."""
    table = engine.AutomationExecution.__table__
    db.session.execute(
        sa.update(table).where(table.c.rule_id == rule_id).values(next_attempt_at=utcnow() - dt.timedelta(seconds=1))
    )
    db.session.commit()


def test_a_matching_event_runs_each_action_once_audited_with_its_rule(app_ctx):
    badge = make_badge()
    rule = make_rule(
        actions=[
            {"type": "ADD_TO_SEGMENT", "params": {"segment": "booked"}},
            {"type": "AWARD_BADGE", "params": {"badge": badge.code}},
        ]
    )
    customer = make_customer("Ana")
    book(customer)
    assert dispatch() == 1
    [execution] = executions(rule.id)
    assert execution.status == ExecutionStatus.PENDING and execution.customer_id == customer
    assert execution.rule_version == 1 and execution.idempotency_key.startswith(f"r{rule.id}:e")
    result = _run()
    assert (result.claimed, result.succeeded) == (1, 1)
    [execution] = executions(rule.id)
    assert execution.status == ExecutionStatus.SUCCEEDED and execution.steps_done == 2
    assert execution.finished_at is not None and "2." in execution.result_details
    assert [m.customer_id for m in _members()] == [customer]
    held = db.session.scalars(sa.select(CustomerBadge).where(CustomerBadge.customer_id == customer)).all()
    assert [b.badge_id for b in held] == [badge.id]
    # Each action's write is audited with the rule, its version and the execution as the cause.
    logged = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.resource_type.in_(["segment_memberships", "customer_badges"]))
    ).all()
    assert sorted(a.resource_type for a in logged) == ["customer_badges", "segment_memberships"]
    for entry in logged:
        meta = entry.metadata_json
        assert (meta["cause"], meta["rule_id"], meta["rule_version"]) == ("automation", rule.id, 1)
        assert meta["execution_id"] == execution.id
    # Nothing is due any more. The award announced itself (badge.awarded), which no rule listens for.
    assert _run().claimed == 0 and dispatch() == 1 and len(executions()) == 1


def test_the_same_occurrence_never_makes_a_second_execution(app_ctx):
    from app.models.events import DomainEvent
    from app.services.automation.matching import match_events

    rule = make_rule()
    book(make_customer("Ben"))
    dispatch()
    again = db.session.scalars(sa.select(DomainEvent)).all()
    assert match_events(db.session, again) == 0  # a batch dispatched twice (a killed dispatcher) adds nothing
    db.session.commit()
    assert len(executions(rule.id)) == 1


def test_the_condition_decides_and_other_events_are_ignored(app_ctx):
    rule = make_rule(condition={"field": "session_id", "op": "in", "value": [1, 2]})
    customer = make_customer("Cleo")
    book(customer, session_id=2)
    book(customer, session_id=9)
    from app.services import events

    events.emit(db.session, events.SESSION_WAITLISTED, customer_id=customer, session_id=2)
    db.session.commit()
    assert dispatch() == 3
    [execution] = executions(rule.id)
    assert execution.event_id is not None


@pytest.mark.parametrize(
    ("frequency", "days", "gaps", "expected"),
    [
        ("EVERY_TIME", None, [0, 1, 2], 3),
        ("ONCE_PER_CUSTOMER", None, [0, 30, 400], 1),
        ("ONCE_PER_PERIOD", 7, [0, 3, 8, 9, 16], 3),  # day 0, day 8, day 16
    ],
)
def test_how_often_a_rule_may_act_for_one_customer(app_ctx, frequency, days, gaps, expected):
    rule = make_rule(frequency=frequency, frequency_days=days)
    customer, other = make_customer("Dora"), make_customer("Eli")
    start = utcnow() - dt.timedelta(days=30)
    for gap in gaps:
        book(customer, at=start + dt.timedelta(days=gap))
    book(other, at=start)
    dispatch()
    mine = [e for e in executions(rule.id) if e.customer_id == customer]
    assert len(mine) == expected
    assert len([e for e in executions(rule.id) if e.customer_id == other]) == 1


def test_a_rule_limited_to_a_coach_acts_only_for_that_coachs_customers(app_ctx):
    coach, other_coach = coach_actor("Coach A"), coach_actor("Coach B")
    rule = make_rule(coach_id=str(coach.platform_user_id))
    mine, theirs = (
        make_customer("Fay", coach_id=coach.platform_user_id),
        make_customer("Gus", coach_id=other_coach.platform_user_id),
    )
    book(mine)
    book(theirs)
    dispatch()
    assert [e.customer_id for e in executions(rule.id)] == [mine]


def test_a_paused_or_draft_rule_matches_nothing(app_ctx):
    draft = make_rule("Draft", activate=False)
    paused = make_rule("Paused")
    rules.transition(db.session, paused, RuleStatus.PAUSED)
    db.session.commit()
    book(make_customer("Hal"))
    dispatch()
    assert executions(draft.id) == [] and executions(paused.id) == []


def test_an_execution_runs_the_version_that_matched(app_ctx):
    rule = make_rule(actions=[{"type": "ADD_TO_SEGMENT", "params": {"segment": "first"}}])
    customer = make_customer("Ida")
    book(customer)
    dispatch()
    draft = rules.RuleDraft.of(rule)
    draft.actions = [{"type": "ADD_TO_SEGMENT", "params": {"segment": "second"}}]
    rules.save(db.session, draft, actor_id=None, rule=rule)
    db.session.commit()
    assert rule.version == 2
    _run()
    assert [m.customer_id for m in _members("first")] == [customer] and _members("second") == []
    book(customer)
    dispatch()
    _run()
    assert [e.rule_version for e in executions(rule.id)] == [1, 2]
    assert [m.customer_id for m in _members("second")] == [customer]


def test_a_transient_failure_is_retried_with_backoff_then_succeeds(app_ctx, webhook_receiver):
    webhook_receiver.status = 503
    rule = make_rule(
        actions=[
            {"type": "ADD_TO_SEGMENT", "params": {"segment": "booked"}},
            {"type": "WEBHOOK", "params": {"url": webhook_receiver.url}},
        ]
    )
    book(make_customer("Jo"))
    dispatch()
    before = utcnow()
    assert _run().retrying == 1
    [execution] = executions(rule.id)
    assert execution.status == ExecutionStatus.PENDING and execution.retry_count == 1 and execution.steps_done == 1
    wait = execution.next_attempt_at - before
    assert dt.timedelta(seconds=25) <= wait <= dt.timedelta(seconds=40)  # base 30 s
    assert _run().claimed == 0  # not due yet
    _make_due(rule.id)
    _run()
    [execution] = executions(rule.id)
    assert execution.retry_count == 2 and execution.next_attempt_at - utcnow() > dt.timedelta(seconds=50)  # 60 s
    _make_due(rule.id)
    webhook_receiver.status = 200
    assert _run().succeeded == 1
    [execution] = executions(rule.id)
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert len(_members()) == 1  # the first action was not repeated by the retries
    delivered = {call.headers["x-coachdesk-delivery"] for call in webhook_receiver.calls}
    assert delivered == {f"{execution.idempotency_key}#1"} and len(webhook_receiver.calls) == 3


def test_retries_run_out_and_the_execution_fails(app_ctx, webhook_receiver):
    app_ctx.config.update(AUTOMATION_MAX_RETRIES=2)
    webhook_receiver.status = 500
    rule = make_rule(actions=[{"type": "WEBHOOK", "params": {"url": webhook_receiver.url}}])
    book(make_customer("Kim"))
    dispatch()
    for _ in range(3):
        _run()
        _make_due(rule.id)
    [execution] = executions(rule.id)
    assert execution.status == ExecutionStatus.FAILED and execution.retry_count == 2
    assert "2" in execution.result_details.splitlines()[-1]
    assert len(webhook_receiver.calls) == 3
    app_ctx.config.pop("AUTOMATION_MAX_RETRIES")


def test_a_permanent_failure_fails_at_once_and_five_in_a_row_pause_the_rule(app_ctx, webhook_receiver):
    webhook_receiver.status = 404
    rule = make_rule(actions=[{"type": "WEBHOOK", "params": {"url": webhook_receiver.url}}])
    customers = [make_customer(f"Lee {i}") for i in range(6)]
    for customer in customers[:4]:
        book(customer)
    dispatch()
    assert _run().failed == 4
    db.session.refresh(rule)
    assert rule.status == RuleStatus.ACTIVE and rule.failure_streak == 4
    assert all(e.status == ExecutionStatus.FAILED and e.retry_count == 0 for e in executions(rule.id))
    book(customers[4])
    dispatch()
    result = _run()
    db.session.refresh(rule)
    assert result.paused_rules == [rule.id]
    assert rule.status == RuleStatus.PAUSED and rule.failure_streak == 5
    assert "5" in rule.paused_reason and "404" in rule.paused_reason
    book(customers[5])
    dispatch()
    assert len(executions(rule.id)) == 5  # a paused rule matches nothing more
    # Resuming clears the streak and the reason; a success keeps it at zero.
    webhook_receiver.status = 200
    rules.transition(db.session, rule, RuleStatus.ACTIVE)
    db.session.commit()
    assert rule.failure_streak == 0 and rule.paused_reason is None


def test_messages_wait_for_the_end_of_quiet_hours_in_the_customers_zone(app_ctx):
    coach = coach_actor("Coach Q")
    now = utcnow()
    # Quiet hours around the customer's local now (Tokyo, UTC+9), ending in 90 minutes.
    local = now.astimezone(dt.timezone(dt.timedelta(hours=9)))
    start = (local - dt.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local + dt.timedelta(minutes=90)).time().replace(second=0, microsecond=0)
    rule = make_rule(
        actions=[{"type": "SEND_MESSAGE", "params": {"template": "Hi {first_name}"}}],
        quiet_start=start.strftime("%H:%M"), quiet_end=end.strftime("%H:%M"),
    )  # fmt: skip
    book(make_customer("Mia", timezone="Asia/Tokyo", coach_id=coach.platform_user_id))
    dispatch()
    assert _run().deferred == 1
    [execution] = executions(rule.id)
    assert execution.status == ExecutionStatus.PENDING and execution.retry_count == 0 and execution.steps_done == 0
    assert dt.timedelta(minutes=85) <= execution.next_attempt_at - now <= dt.timedelta(minutes=91)


@pytest.mark.parametrize(
    ("start", "end", "clock", "waits_until"),
    [
        ("21:00", "08:00", "23:30", "08:00+1"),
        ("21:00", "08:00", "06:00", "08:00"),
        ("21:00", "08:00", "12:00", None),
        ("13:00", "14:00", "13:59", "14:00"),
        ("13:00", "14:00", "14:00", None),
    ],
)
def test_quiet_hours_arithmetic(start, end, clock, waits_until):
    day = dt.date(2027, 3, 27)  # the day before Madrid's clocks go forward: 08:00 next day is UTC+2
    zone = "Europe/Madrid"
    import zoneinfo

    tz = zoneinfo.ZoneInfo(zone)
    now = dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=tz).astimezone(dt.UTC)
    got = engine.quiet_until(dt.time.fromisoformat(start), dt.time.fromisoformat(end), zone, now)
    if waits_until is None:
        assert got is None
    else:
        hour, _, plus = waits_until.partition("+")
        expected = dt.datetime.combine(day + dt.timedelta(days=int(plus or 0)), dt.time.fromisoformat(hour), tzinfo=tz)
        assert got == expected.astimezone(dt.UTC)


@pytest.mark.usefixtures("jobs_env")
def test_sigkill_mid_run_then_rerun_does_every_action_exactly_once(app):
    """A real worker is SIGKILLed while actions run (each paused before its commit); the rerun, once
    the dead worker's leases run out, finishes every execution and repeats no action."""
    from app.models.jobs import JobRun
    from app.services.automation.jobs import RUN_KIND
    from app.services.jobs.runs import start_job
    from tests.support.jobworker import finish, kill_hard, start_worker, wait_for

    instance = app.config["EXPORTS_DIR"].parent
    with app.app_context():
        badge = make_badge("KILL_TEST")
        rule = make_rule(
            actions=[
                {"type": "ADD_TO_SEGMENT", "params": {"segment": "booked"}},
                {"type": "AWARD_BADGE", "params": {"badge": badge.code}},
            ]
        )
        rule_id = rule.id
        customers = [make_customer(f"Kill {i}") for i in range(40)]
        for customer in customers:
            book(customer)
        run_id = start_job(RUN_KIND, {}).id
    slow = ("AUTOMATION_TEST_STEP_DELAY=0.05", "AUTOMATION_LEASE_SECONDS=2", "AUTOMATION_RUN_BATCH=10")
    worker = start_worker(app, app.config["REDIS_URL"], instance, *slow)

    def midway() -> bool:
        assert worker.poll() is None, finish(worker)[-3000:]
        with app.app_context():
            done = db.session.scalar(
                sa.select(sa.func.count()).select_from(engine.AutomationExecution)
                .where(engine.AutomationExecution.status == ExecutionStatus.SUCCEEDED)
            )  # fmt: skip
            db.session.rollback()
        return done >= 10

    wait_for(midway, what="executions half-way")
    kill_hard(worker)
    with app.app_context():
        assert db.session.get(JobRun, run_id).status == "running"
        left = [e for e in executions(rule_id) if e.status != ExecutionStatus.SUCCEEDED]
        assert left, "the kill came too late to test anything"
        # Every counted step has its write, and no write exists without its step counted.
        members = {m.customer_id for m in _members()}
        badges = set(db.session.scalars(sa.select(CustomerBadge.customer_id)))
        assert members == {e.customer_id for e in executions(rule_id) if e.steps_done >= 1}
        assert badges == {e.customer_id for e in executions(rule_id) if e.steps_done >= 2}
        run_id = start_job(RUN_KIND, {}).id
    import time

    time.sleep(2.5)  # the dead worker's leases run out
    output = finish(start_worker(app, app.config["REDIS_URL"], instance, "AUTOMATION_RUN_BATCH=10"))
    with app.app_context():
        assert db.session.get(JobRun, run_id).status == "succeeded", output[-2000:]
        done = executions(rule_id)
        assert len(done) == 40 and {e.status for e in done} == {ExecutionStatus.SUCCEEDED}
        assert {e.steps_done for e in done} == {2}
        members = db.session.scalars(sa.select(SegmentMembership.customer_id)).all()
        assert sorted(members) == sorted(customers)  # exactly one membership each
        badges = db.session.scalars(sa.select(CustomerBadge.customer_id)).all()
        assert sorted(badges) == sorted(customers)
        creates = db.session.scalar(
            sa.select(sa.func.count()).select_from(AuditLog)
            .where(AuditLog.resource_type == "segment_memberships", AuditLog.action == "create")
        )  # fmt: skip
        assert creates == 40  # the killed worker's uncommitted write left no audit row either
