"""Segments in SQL on both databases: every segment field reads as Python reads it, a condition
picks the same customers in one query as customer-by-customer evaluation, and only customers."""

from __future__ import annotations

import datetime as dt

from app.extensions import db
from app.models.commerce import SubscriptionStatus
from app.models.customers import Gender
from app.models.identity import RoleCode, UserStatus
from app.models.training import PlanStatus
from app.services.automation.segments import customer_facts, customers_query, segment_condition
from tests.support.automation_segments import (
    customer,
    normalised,
    person,
    python_facts,
    python_segment,
)

NOW = dt.datetime(2025, 6, 15, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _world() -> dict[str, object]:
    """Six customers who differ in every segment field, a coach, an admin and an erased customer."""
    coach = person("Cora Coach", RoleCode.COACH).id
    other_coach = person("Omar Coach", RoleCode.COACH).id
    person("Ada Admin", RoleCode.ADMIN)
    db.session.commit()
    ids = {
        # 30 today (birthday today), Madrid, Spanish, active subscription and plan, active yesterday.
        "ana": customer("Ana", signed_up=NOW - 400 * DAY, born=dt.date(1995, 6, 15), gender=Gender.FEMALE,
                        zone="Europe/Madrid", locale="es", coach=coach, subscription=SubscriptionStatus.ACTIVE,
                        plan=PlanStatus.ACTIVE, activity=[NOW - 1 * DAY - dt.timedelta(hours=2), NOW - 9 * DAY]),
        # 29 until tomorrow, trial subscription, paused plan, idle 40 days.
        "ben": customer("Ben", signed_up=NOW - 90 * DAY, born=dt.date(1995, 6, 16), gender=Gender.MALE,
                        coach=coach, subscription=SubscriptionStatus.TRIAL, plan=PlanStatus.PAUSED,
                        activity=[NOW - 40 * DAY]),
        # Born on 29 February, cancelled subscription, no plan, never active, another coach.
        "cleo": customer("Cleo", signed_up=NOW - 10 * DAY, born=dt.date(2000, 2, 29), gender=Gender.NON_BINARY,
                         zone="America/New_York", locale="de", coach=other_coach,
                         subscription=SubscriptionStatus.CANCELLED),
        # No profile at all: zone, gender and age are missing; no coach.
        "dan": customer("Dan", signed_up=NOW - 2 * DAY, zone=None, activity=[NOW - dt.timedelta(hours=3)]),
        # A profile without birth date or gender; suspended; past-due subscription counts as running.
        "eva": customer("Eva", signed_up=NOW - 700 * DAY, status=UserStatus.SUSPENDED,
                        subscription=SubscriptionStatus.PAST_DUE, plan=PlanStatus.COMPLETED,
                        activity=[NOW - 15 * DAY]),
        # Signed up just before midnight UTC (the signup date is the UTC day).
        "fay": customer("Fay", signed_up=dt.datetime(2025, 6, 1, 23, 59, tzinfo=dt.UTC), born=dt.date(1960, 12, 31),
                        gender=Gender.UNDISCLOSED, subscription=SubscriptionStatus.PAUSED),
    }  # fmt: skip
    erased = customer("Erased", signed_up=NOW - 50 * DAY, status=UserStatus.DELETED)
    return {"coach": coach, "other_coach": other_coach, "ids": ids, "erased": erased}


def _cases(world: dict) -> list[dict | None]:
    ids, coach = world["ids"], world["coach"]
    return [
        None,
        {"field": "age", "op": "gte", "value": 30},
        {"field": "age", "op": "lt", "value": 30},
        {"not": {"field": "age", "op": "gte", "value": 30}},
        {"field": "age", "op": "exists", "value": False},
        {"field": "coach_id", "op": "eq", "value": str(coach)},
        {"field": "coach_id", "op": "ne", "value": str(coach)},
        {"field": "coach_id", "op": "in", "value": [str(coach), str(world["other_coach"])]},
        {"field": "coach_id", "op": "eq", "value": 42},
        {"field": "customer_id", "op": "in", "value": [str(ids["ana"]), str(ids["dan"])]},
        {"field": "customer_id", "op": "ne", "value": str(ids["ana"])},
        {"field": "status", "op": "eq", "value": "SUSPENDED"},
        {"field": "status", "op": "ne", "value": "ACTIVE"},
        {"field": "locale", "op": "in", "value": ["es", "de"]},
        {"field": "timezone", "op": "contains", "value": "EUROPE"},
        {"field": "timezone", "op": "exists"},
        {"field": "gender", "op": "in", "value": ["FEMALE", "NON_BINARY"]},
        {"field": "gender", "op": "ne", "value": "MALE"},
        {"field": "signup_date", "op": "gte", "value": "2025-06-01"},
        {"field": "signup_date", "op": "gt", "value": "2025-06-01"},
        {"field": "has_active_subscription", "op": "eq", "value": True},
        {"field": "has_active_subscription", "op": "eq", "value": False},
        {"field": "has_active_plan", "op": "ne", "value": True},
        {"field": "days_since_activity", "op": "gte", "value": 14},
        {"field": "days_since_activity", "op": "lt", "value": 2},
        {"field": "days_since_activity", "op": "exists", "value": False},
        {"any": [{"field": "age", "op": "gt", "value": 60},
                 {"all": [{"field": "has_active_plan", "op": "eq", "value": True},
                          {"field": "days_since_activity", "op": "lte", "value": 1}]}]},
    ]  # fmt: skip


def test_a_condition_picks_the_same_customers_in_one_query_as_in_python(app_ctx):
    world = _world()
    matched_somewhere = set()
    for raw in _cases(world):
        condition = segment_condition(raw)
        in_sql = set(db.session.scalars(customers_query(condition, now=NOW)))
        assert in_sql == python_segment(condition, NOW), raw
        matched_somewhere |= in_sql
    assert matched_somewhere == set(world["ids"].values())  # every customer is matched by some case


def test_each_field_reads_the_value_python_works_out(app_ctx):
    world = _world()
    ids = world["ids"]
    facts = customer_facts(db.session, ids.values(), now=NOW)
    for name, customer_id in ids.items():
        assert normalised(facts[customer_id]) == normalised(python_facts(customer_id, NOW)), name
    # The values themselves, for the cases with edges: birthdays, 29 February, the UTC day, missing data.
    assert facts[ids["ana"]]["age"] == 30 and facts[ids["ben"]]["age"] == 29 and facts[ids["cleo"]]["age"] == 25
    assert facts[ids["fay"]]["signup_date"] == dt.date(2025, 6, 1) and facts[ids["fay"]]["age"] == 64
    assert facts[ids["ana"]]["days_since_activity"] == 1 and facts[ids["ben"]]["days_since_activity"] == 40
    assert "days_since_activity" not in facts[ids["cleo"]] and "age" not in facts[ids["dan"]]
    assert facts[ids["eva"]]["has_active_subscription"] is True  # past due still runs
    assert facts[ids["fay"]]["has_active_subscription"] is False  # paused does not
    assert facts[ids["ana"]]["coach_id"] == str(world["coach"]) and "coach_id" not in facts[ids["dan"]]


def test_only_customers_who_were_not_erased_are_ever_in_a_segment(app_ctx):
    world = _world()
    everyone = set(db.session.scalars(customers_query(segment_condition(None), now=NOW)))
    assert everyone == set(world["ids"].values())
    erased = segment_condition({"field": "status", "op": "eq", "value": "DELETED"})
    assert list(db.session.scalars(customers_query(erased, now=NOW))) == []


def test_now_is_a_parameter_of_age_and_inactivity(app_ctx):
    world = _world()
    ana = world["ids"]["ana"]
    young = segment_condition({"field": "age", "op": "lt", "value": 30})
    assert ana not in set(db.session.scalars(customers_query(young, now=NOW)))
    assert ana in set(db.session.scalars(customers_query(young, now=NOW - DAY)))  # the day before her birthday
    idle = segment_condition({"field": "days_since_activity", "op": "gte", "value": 31})
    assert ana in set(db.session.scalars(customers_query(idle, now=NOW + 30 * DAY)))
