"""Time-driven rules on both databases: SCHEDULE rules at DST-correct cron instants (the latest
only, after a downtime), INACTIVITY rules once per spell, the job kind, the cron and the CLI."""

from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db
from app.jobs import cron
from app.models.automation import AutomationRule, ExecutionStatus
from app.models.identity import RoleCode
from app.models.training import PlanStatus
from app.services.automation.inactivity import detect_inactive
from app.services.automation.schedules import fire_due_schedules, latest_instant
from app.services.automation.time_jobs import TIME_RULES_KIND, time_rules_job
from app.services.jobs.context import run_inline
from app.services.jobs.kinds import register_kind
from app.services.jobs.runs import start_job
from tests.support.automation_segments import customer, person
from tests.support.automation_support import executions, make_rule

WINTER = dt.datetime(2025, 1, 15, 8, 0, 20, tzinfo=dt.UTC)  # 09:00:20 in Madrid (CET, UTC+1)
SUMMER = dt.datetime(2025, 7, 15, 7, 0, 20, tzinfo=dt.UTC)  # 09:00:20 in Madrid (CEST, UTC+2)
DAY = dt.timedelta(days=1)
SEGMENT = [{"type": "ADD_TO_SEGMENT", "params": {"segment": "morning"}}]


def _schedule(cron_expr: str = "0 9 * * *", zone: str = "Europe/Madrid", *, since: dt.datetime, **draft) -> int:
    rule = make_rule("Morning check-in", trigger_type="SCHEDULE", trigger_event=None, schedule_cron=cron_expr,
                     schedule_timezone=zone, actions=SEGMENT, **draft)  # fmt: skip
    rule.updated_at = since  # activated then: instants before it are not due
    db.session.commit()
    return rule.id


def _inactivity(days: int = 7, **draft) -> int:
    rule = make_rule("Idle check", trigger_type="INACTIVITY", trigger_event=None, inactivity_days=days,
                     actions=SEGMENT, **draft)  # fmt: skip
    return rule.id


def _keys(rule_id: int) -> dict:
    """Customer -> the occurrence its execution records (the key between the rule and the customer)."""
    out = {}
    for execution in executions(rule_id):
        rule, _, rest = execution.idempotency_key.partition(":")
        occurrence, _, subject = rest.rpartition(":")
        assert rule == f"r{rule_id}" and subject == str(execution.customer_id)
        out[execution.customer_id] = occurrence
    return out


def test_a_morning_rule_follows_madrid_clocks_in_winter_and_in_summer():
    assert latest_instant("0 9 * * *", "Europe/Madrid", WINTER - DAY, WINTER) == WINTER.replace(second=0)
    assert latest_instant("0 9 * * *", "Europe/Madrid", SUMMER - DAY, SUMMER) == SUMMER.replace(second=0)
    assert latest_instant("0 9 * * *", "Europe/Madrid", WINTER - DAY, WINTER.replace(hour=7)) is None  # not yet
    # Clocks go back on 26 October 2025 (03:00 CEST -> 02:00 CET): 02:30 happens twice, the rule fires once.
    after_fold = dt.datetime(2025, 10, 26, 1, 45, tzinfo=dt.UTC)  # 02:45 CET, the second 02:30 has passed
    first = dt.datetime(2025, 10, 26, 0, 30, tzinfo=dt.UTC)  # 02:30 CEST
    assert latest_instant("30 2 * * *", "Europe/Madrid", first - DAY, after_fold) == first
    assert latest_instant("30 2 * * *", "Europe/Madrid", first, after_fold) is None
    # A wildcard hour keeps both passes through the repeated hour.
    assert latest_instant("30 * * * *", "Europe/Madrid", first, after_fold) == dt.datetime(
        2025, 10, 26, 1, 30, tzinfo=dt.UTC
    )
    # Clocks go forward on 30 March 2025: 02:30 does not exist; the rule fires when the gap ends (03:00 CEST).
    gap_end = dt.datetime(2025, 3, 30, 1, 0, tzinfo=dt.UTC)
    assert latest_instant("30 2 * * *", "Europe/Madrid", gap_end - DAY, gap_end + dt.timedelta(minutes=5)) == gap_end


@pytest.mark.parametrize(("now", "expected"), [(WINTER, "cron:20250115T0800"), (SUMMER, "cron:20250715T0700")])
def test_a_schedule_fires_at_its_local_time_for_each_matching_customer(app_ctx, now, expected):
    coach = person("Cora Coach", RoleCode.COACH).id
    planned = customer("Ana", signed_up=now - 90 * DAY, coach=coach, plan=PlanStatus.ACTIVE)
    customer("Ben", signed_up=now - 90 * DAY, plan=PlanStatus.PAUSED)
    rule_id = _schedule(since=now - DAY, condition={"field": "has_active_plan", "op": "eq", "value": True})
    assert fire_due_schedules(db.session, now - dt.timedelta(hours=1)) == 0  # before 09:00 local: nothing
    assert fire_due_schedules(db.session, now) == 1
    db.session.commit()
    [execution] = executions(rule_id)
    assert execution.customer_id == planned and _keys(rule_id) == {planned: expected}
    assert execution.triggered_at == now.replace(second=0)
    assert db.session.get(AutomationRule, rule_id).last_fired_at == now.replace(second=0)
    assert fire_due_schedules(db.session, now + dt.timedelta(minutes=1)) == 0  # the next tick: done already


def test_after_a_downtime_only_the_latest_missed_instant_fires(app_ctx):
    ana = customer("Ana", signed_up=WINTER - 90 * DAY)
    ben = customer("Ben", signed_up=WINTER - 90 * DAY)
    rule_id = _schedule("0 * * * *", "UTC", since=WINTER - 3 * DAY)  # hourly; 72 instants were missed
    assert fire_due_schedules(db.session, WINTER) == 2
    db.session.commit()
    assert _keys(rule_id) == {ana: "cron:20250115T0800", ben: "cron:20250115T0800"}
    # A second cron process (or a rerun) at the same moment records nothing more.
    rule = db.session.get(AutomationRule, rule_id)
    rule.last_fired_at = None
    rule.updated_at = WINTER - DAY
    db.session.commit()
    assert fire_due_schedules(db.session, WINTER) == 0
    db.session.commit()
    assert len(executions(rule_id)) == 2


def test_a_schedule_limited_to_a_coach_acts_only_for_their_customers(app_ctx):
    coach, other = person("Cora Coach", RoleCode.COACH).id, person("Omar Coach", RoleCode.COACH).id
    mine = customer("Ana", signed_up=WINTER - 9 * DAY, coach=coach)
    customer("Ben", signed_up=WINTER - 9 * DAY, coach=other)
    customer("Cleo", signed_up=WINTER - 9 * DAY)
    rule_id = _schedule(since=WINTER - DAY, coach_id=str(coach))
    assert fire_due_schedules(db.session, WINTER) == 1
    db.session.commit()
    assert list(_keys(rule_id)) == [mine]


def test_inactivity_acts_once_per_spell_and_again_for_a_new_one(app_ctx):
    now = WINTER
    idle = customer("Ana", signed_up=now - 90 * DAY, activity=[now - 30 * DAY, now - 10 * DAY])
    customer("Ben", signed_up=now - 90 * DAY, activity=[now - 2 * DAY])  # active
    never = customer("Cleo", signed_up=now - 30 * DAY)  # no activity since signing up a month ago
    customer("Dan", signed_up=now - 3 * DAY)  # new: not idle yet
    customer("Eva", signed_up=now - 90 * DAY, activity=[now - 7 * DAY + dt.timedelta(minutes=5)])  # 7 days not yet
    rule_id = _inactivity(7)
    assert detect_inactive(db.session, now) == 2
    db.session.commit()
    assert _keys(rule_id) == {idle: f"idle:{(now - 10 * DAY).date()}", never: "idle:never"}
    assert detect_inactive(db.session, now + dt.timedelta(minutes=1)) == 0  # the same spells: nothing new
    # Ana comes back, then drifts away again: a new spell, a new execution.
    from app.models.analytics import EngagementEvent

    db.session.add(EngagementEvent(customer_id=idle, event_type="login", occurred_at=now + DAY))
    db.session.commit()
    detect_inactive(db.session, now + 3 * DAY)  # (Eva's week has passed by now: she is idle too)
    db.session.commit()
    assert len([e for e in executions(rule_id) if e.customer_id == idle]) == 1  # back within the week
    detect_inactive(db.session, now + 9 * DAY)
    db.session.commit()
    spells = sorted(e.idempotency_key for e in executions(rule_id) if e.customer_id == idle)
    assert spells == [
        f"r{rule_id}:idle:{(now - 10 * DAY).date()}:{idle}",
        f"r{rule_id}:idle:{(now + DAY).date()}:{idle}",
    ]


def test_inactivity_honours_the_condition_and_once_per_customer(app_ctx):
    now = WINTER
    spanish = customer("Ana", signed_up=now - 90 * DAY, locale="es", activity=[now - 20 * DAY])
    customer("Ben", signed_up=now - 90 * DAY, locale="en", activity=[now - 20 * DAY])
    rule_id = _inactivity(14, condition={"field": "locale", "op": "eq", "value": "es"}, frequency="ONCE_PER_CUSTOMER")
    assert detect_inactive(db.session, now) == 1
    db.session.commit()
    from app.models.analytics import EngagementEvent

    db.session.add(EngagementEvent(customer_id=spanish, event_type="login", occurred_at=now + DAY))
    db.session.commit()
    assert detect_inactive(db.session, now + 30 * DAY) == 0  # a new spell, but once per customer is once
    assert list(_keys(rule_id)) == [spanish]


def test_the_job_kind_fires_schedules_and_checks_inactivity(app):
    register_kind(app, time_rules_job)
    with app.app_context():
        customer("Ana", signed_up=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        every_minute = _schedule("* * * * *", "UTC", since=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        idle = _inactivity(1)
        run = run_inline(start_job(TIME_RULES_KIND, {}, enqueue=False))
        assert run.status == "succeeded", run.error
        assert run.result == {"scheduled": 1, "inactive": 1}
        assert len(executions(every_minute)) == 1 and len(executions(idle)) == 1
        bad = run_inline(start_job(TIME_RULES_KIND, {"what": "weather"}, enqueue=False))
        assert bad.status == "failed" and "weather" in bad.error


def test_the_cron_checks_schedules_every_minute_and_inactivity_hourly():
    entries = {path.rpartition(".")[2]: when for path, _, when in cron.CRON_TABLE}
    assert entries["fire_automation_schedules"] == {"interval": 60}
    assert entries["detect_inactive_customers"] == {"cron": "40 * * * *"}


def test_the_cli_fires_schedules_and_checks_inactivity(app):
    with app.app_context():
        coach = person("Cora Coach", RoleCode.COACH).id
        ana = customer("Ana", signed_up=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), coach=coach)
        schedule = _schedule("* * * * *", "UTC", since=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        idle = _inactivity(3)
    runner = app.test_cli_runner()
    fired = runner.invoke(args=["automation", "fire-schedules"])
    assert fired.exit_code == 0 and "1 executions" in fired.output
    checked = runner.invoke(args=["automation", "detect-inactive"])
    assert checked.exit_code == 0 and "1 executions" in checked.output
    with app.app_context():
        assert [e.customer_id for e in executions(schedule)] == [ana]
        assert [e.customer_id for e in executions(idle)] == [ana]
    ran = runner.invoke(args=["automation", "run"])  # the recorded executions run: Ana joins the segment
    assert ran.exit_code == 0 and "2 executions run: 2 succeeded" in ran.output, ran.output
    with app.app_context():
        assert {e.status for e in executions()} == {ExecutionStatus.SUCCEEDED}
