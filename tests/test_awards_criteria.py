"""Each badge criteria kind on hand-built edge cases, on SQLite and PostgreSQL: one query, as of a time."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from app.extensions import db
from app.services.awards import challenges
from app.services.awards.criteria import Criteria, CriteriaError, Kind, customers_meeting
from tests.support import awards as h


def meets(criteria: dict, as_of: str) -> set:
    return customers_meeting(db.session, Criteria.parse(criteria), h.at(as_of))


def test_parse_types_and_refuses_bad_criteria() -> None:
    c = Criteria.parse({"kind": "STREAK", "threshold": 7, "window_days": 7})
    assert (c.kind, c.whole_threshold(), c.window_days) == (Kind.STREAK, 7, 7)
    assert Criteria.parse(None).kind is Kind.MANUAL
    for bad in ({"kind": "STREAK"}, {"kind": "NOPE", "threshold": 1}, {"kind": "METRIC_DELTA", "threshold": 1},
                {"kind": "METRIC_AVERAGE", "threshold": 1, "metric": "steps"}, {"kind": "COMPLETIONS", "threshold": -1},
                {"kind": "COMPLETIONS", "threshold": 1, "colour": "red"}, "STREAK"):  # fmt: skip
        with pytest.raises(CriteriaError):
            Criteria.parse(bad)  # type: ignore[arg-type]


def test_completions_count_and_window_boundary(app_ctx: Flask) -> None:
    ana, ben = h.customers(("Ana", "UTC"), ("Ben", "UTC"))
    h.completions(ana, h.at("2026-03-01T10:00"), h.at("2026-03-05T10:00"), h.at("2026-03-10T10:00"))
    h.completions(ben, h.at("2026-03-09T10:00"), h.at("2026-03-10T10:00"))
    assert meets({"kind": "COMPLETIONS", "threshold": 3}, "2026-03-10T10:00") == {ana}
    # Nothing after as_of counts.
    assert meets({"kind": "COMPLETIONS", "threshold": 3}, "2026-03-10T09:59") == set()
    # The window is (as_of - 10 days, as_of]: at 11T10:00 the first completion sits exactly on its open end.
    window = {"kind": "COMPLETIONS", "threshold": 3, "window_days": 10}
    assert meets(window, "2026-03-11T09:59:59") == {ana}
    assert meets(window, "2026-03-11T10:00") == set()
    assert meets({"kind": "COMPLETIONS", "threshold": 2, "window_days": 2}, "2026-03-10T12:00") == {ben}


def test_completions_of_an_event_type(app_ctx: Flask) -> None:
    ana, ben = h.customers(("Ana", "UTC"), ("Ben", "UTC"))
    h.events(ana, "workout_completed", *(h.at(f"2026-03-0{d}T08:00") for d in range(1, 6)))
    h.events(ben, "app_open", *(h.at(f"2026-03-0{d}T08:00") for d in range(1, 6)))
    assert meets({"kind": "COMPLETIONS", "threshold": 5, "event_type": "workout_completed"}, "2026-03-09") == {ana}


def test_streak_broken_by_one_day(app_ctx: Flask) -> None:
    ana, ben = h.customers(("Ana", "UTC"), ("Ben", "UTC"))
    h.completions(ana, *(h.at(f"2026-03-{d:02d}T12:00") for d in range(1, 8)))  # 1..7: seven days
    h.completions(ben, *(h.at(f"2026-03-{d:02d}T12:00") for d in (1, 2, 3, 5, 6, 7, 8)))  # the 4th missing
    h.completions(ben, h.at("2026-03-02T18:00"))  # two on one day count once
    assert meets({"kind": "STREAK", "threshold": 7}, "2026-03-09T00:00") == {ana}
    assert meets({"kind": "STREAK", "threshold": 4}, "2026-03-09T00:00") == {ana, ben}
    # Seen before the seventh day happened: not yet.
    assert meets({"kind": "STREAK", "threshold": 7}, "2026-03-07T11:00") == set()


def test_streak_window_means_ended_recently(app_ctx: Flask) -> None:
    (ana,) = h.customers(("Ana", "UTC"))
    h.completions(ana, *(h.at(f"2026-03-{d:02d}T12:00") for d in range(1, 8)))
    streak = {"kind": "STREAK", "threshold": 7, "window_days": 7}
    assert meets(streak, "2026-03-13T12:00") == {ana}  # last day the 7th, within the last 7 days (7..13)
    assert meets(streak, "2026-03-14T12:00") == set()  # the window is 8..14


def test_streak_days_are_the_customers_own(app_ctx: Flask) -> None:
    """23:30 in Madrid and 00:30 in Madrid are two days there, one UTC day (and the reverse in Los Angeles)."""
    mad, lax = h.customers(("Mad", "Europe/Madrid"), ("Lax", "America/Los_Angeles"))
    # Madrid (UTC+1 in winter): 22:30Z and 23:30Z are 23:30 on the 1st and 00:30 on the 2nd locally.
    h.completions(mad, h.at("2026-03-01T22:30"), h.at("2026-03-01T23:30"))
    # Los Angeles (UTC-8): 07:00Z on the 2nd is 23:00 on the 1st; 09:00Z on the 2nd is 01:00 on the 2nd.
    h.completions(lax, h.at("2026-03-02T07:00"), h.at("2026-03-02T09:00"))
    assert meets({"kind": "STREAK", "threshold": 2}, "2026-03-03T00:00") == {mad, lax}
    # Across the spring DST change (Madrid 2026-03-29, 02:00 -> 03:00): 23:30 local on the 28th and on the 29th.
    dst = h.customers(("Dst", "Europe/Madrid"))[0]
    h.completions(dst, h.at("2026-03-28T22:30"), h.at("2026-03-29T21:30"))
    assert dst in meets({"kind": "STREAK", "threshold": 2}, "2026-03-30T00:00")
    # The same instants for a UTC customer are two days too, but 22:30Z/21:30Z+1 in UTC; move one to 00:30 next day.
    utc = h.customers(("Utc", "UTC"))[0]
    h.completions(utc, h.at("2026-03-28T22:30"), h.at("2026-03-30T00:30"))
    assert utc not in meets({"kind": "STREAK", "threshold": 2}, "2026-03-31T00:00")


def test_attendance_counts_attended_only_in_window(app_ctx: Flask) -> None:
    ana, ben = h.customers(("Ana", "UTC"), ("Ben", "UTC"))
    h.attended(ana, *(h.at(f"2026-03-{d:02d}T18:00") for d in (1, 8, 15)))
    h.attended(ben, *(h.at(f"2026-03-{d:02d}T18:00") for d in (1, 8)))
    h.attended(ben, h.at("2026-03-15T18:00"), status="NO_SHOW")
    assert meets({"kind": "ATTENDANCE", "threshold": 3}, "2026-03-20") == {ana}
    assert meets({"kind": "ATTENDANCE", "threshold": 2, "window_days": 10}, "2026-03-16") == {ana}


def test_metric_delta_and_average(app_ctx: Flask) -> None:
    ana, ben, cai = h.customers(("Ana", "UTC"), ("Ben", "UTC"), ("Cai", "UTC"))
    h.readings(ana, "weight", (h.at("2026-01-01"), 90), (h.at("2026-02-01"), 87), (h.at("2026-03-01"), 85))
    h.readings(ben, "weight", (h.at("2026-01-01"), 80), (h.at("2026-03-01"), 85))
    lose = {"kind": "METRIC_DELTA", "threshold": 5, "metric": "weight", "direction": "DECREASE"}
    assert meets(lose, "2026-03-02") == {ana}
    assert meets(lose, "2026-02-15") == set()  # only 3 kg down by then
    assert meets({"kind": "METRIC_DELTA", "threshold": 5, "metric": "weight"}, "2026-03-02") == {ana, ben}
    assert meets({**lose, "window_days": 40}, "2026-03-02") == set()  # 87 -> 85 within the window
    h.readings(cai, "steps", *((h.at("2026-02-01") + dt.timedelta(days=d), 11000) for d in range(0, 40, 3)),
               unit="steps")  # fmt: skip
    average = {"kind": "METRIC_AVERAGE", "threshold": 10000, "window_days": 28, "metric": "steps"}
    assert meets(average, "2026-03-10") == {cai}
    assert meets(average, "2026-02-20") == set()  # not measuring for 28 days yet


def test_challenge_rank_needs_a_final_ranking(app_ctx: Flask) -> None:
    ana, ben, cai = h.customers(("Ana", "UTC"), ("Ben", "UTC"), ("Cai", "UTC"))
    ch = h.challenge("March", dt.date(2026, 3, 1), dt.date(2026, 3, 10), {"metric": "WORKOUTS", "aggregation": "COUNT"})
    for who in (ana, ben, cai):
        challenges.join(db.session, ch, who, now=h.at("2026-03-01"))
    h.events(ana, "workout_completed", h.at("2026-03-02"), h.at("2026-03-03"))
    h.events(ben, "workout_completed", h.at("2026-03-02"), h.at("2026-03-04"))
    h.events(cai, "workout_completed", h.at("2026-03-02"))
    podium = {"kind": "CHALLENGE_RANK", "threshold": 1}
    challenges.rank(db.session, ch, now=h.at("2026-03-05"))
    db.session.commit()
    assert meets(podium, "2026-03-06") == set()  # ranked but not final
    challenges.rank(db.session, ch, now=h.at("2026-03-12"))
    db.session.commit()
    assert meets(podium, "2026-03-12T01:00") == {ana, ben}  # tied first
    assert meets(podium, "2026-03-11") == set()  # not final yet at that time


def test_manual_badges_are_never_evaluated(app_ctx: Flask) -> None:
    h.customers(("Ana", "UTC"))
    assert meets({"kind": "MANUAL"}, "2026-03-01") == set()
