"""Recurring series: weekly rules expanded on the zone's wall clock, and the rules refused."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule

from app.services.scheduling.errors import SchedulingError
from app.services.scheduling.recurrence import MAX_OCCURRENCES, Repeat, occurrences, rrule_text

MADRID = ZoneInfo("Europe/Madrid")


def test_weekly_class_keeps_its_local_time_across_the_october_change(app_ctx):
    # Tuesdays at 18:00 in Madrid from 14 October 2025; summer time ends on 26 October.
    starts = occurrences(dt.datetime(2025, 10, 14, 18, 0), "Europe/Madrid", Repeat((1,), count=4, until=None))
    assert [s.astimezone(MADRID).strftime("%Y-%m-%d %H:%M") for s in starts] == [
        "2025-10-14 18:00",
        "2025-10-21 18:00",
        "2025-10-28 18:00",
        "2025-11-04 18:00",
    ]
    assert [s.utcoffset() for s in starts] == [dt.timedelta(0)] * 4
    assert [s.hour for s in starts] == [16, 16, 17, 17]


def test_until_is_inclusive_and_several_weekdays_interleave(app_ctx):
    repeat = Repeat((0, 2), count=None, until=dt.date(2025, 3, 19))
    starts = occurrences(dt.datetime(2025, 3, 3, 7, 30), "UTC", repeat)
    assert [s.date().isoformat() for s in starts] == [
        "2025-03-03", "2025-03-05", "2025-03-10", "2025-03-12", "2025-03-17", "2025-03-19",
    ]  # fmt: skip


def test_every_second_week(app_ctx):
    starts = occurrences(dt.datetime(2025, 3, 3, 9, 0), "UTC", Repeat((0,), count=3, until=None, interval=2))
    assert [s.day for s in starts] == [3, 17, 31]


def test_stored_rule_reads_back_to_the_same_occurrences(app_ctx):
    repeat = Repeat((1, 3), count=None, until=dt.date(2025, 11, 20))
    first = dt.datetime(2025, 10, 14, 18, 0)
    text = rrule_text(repeat, zone="Europe/Madrid")
    assert text == "FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20251120T225959Z"
    parsed = rrule.rrulestr(text, dtstart=first.replace(tzinfo=MADRID))
    assert [d.astimezone(dt.UTC) for d in parsed] == occurrences(first, "Europe/Madrid", repeat)
    assert rrule_text(Repeat((0,), count=5, until=None, interval=2)) == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;COUNT=5"


def test_a_wall_time_skipped_by_spring_forward_moves_forward(app_ctx):
    # 02:30 does not exist in Madrid on 30 March 2025.
    starts = occurrences(dt.datetime(2025, 3, 23, 2, 30), "Europe/Madrid", Repeat((6,), count=3, until=None))
    local = [s.astimezone(MADRID).strftime("%d %H:%M") for s in starts]
    assert local == ["23 02:30", "30 03:30", "06 02:30"]


@pytest.mark.parametrize(
    ("repeat", "field"),
    [
        (Repeat((0,), count=10_000, until=None), "count"),
        (Repeat((0, 1, 2, 3, 4, 5, 6), count=None, until=dt.date(2060, 1, 1)), "until"),
        (Repeat((0,), count=5, until=dt.date(2025, 6, 1)), "count"),
        (Repeat((0,), count=None, until=None), "count"),
        (Repeat((0,), count=None, until=dt.date(2025, 2, 1)), "until"),
        (Repeat((), count=5, until=None), "weekdays"),
        (Repeat((7,), count=5, until=None), "weekdays"),
        (Repeat((0,), count=5, until=None, interval=0), "interval"),
    ],
)
def test_bad_rules_are_refused_with_the_field_named(app_ctx, repeat, field):
    with pytest.raises(SchedulingError) as err:
        occurrences(dt.datetime(2025, 3, 3, 9, 0), "Europe/Madrid", repeat)
    assert err.value.field == field and err.value.message


def test_more_than_the_maximum_is_refused_but_the_maximum_is_allowed(app_ctx):
    first = dt.datetime(2025, 3, 3, 9, 0)
    assert len(occurrences(first, "UTC", Repeat((0,), count=MAX_OCCURRENCES, until=None))) == MAX_OCCURRENCES
    with pytest.raises(SchedulingError):
        occurrences(first, "UTC", Repeat((0,), count=MAX_OCCURRENCES + 1, until=None))


def test_unknown_zone_is_refused(app_ctx):
    with pytest.raises(SchedulingError) as err:
        occurrences(dt.datetime(2025, 3, 3, 9, 0), "Mars/Olympus", Repeat((0,), count=2, until=None))
    assert err.value.field == "timezone"
