"""The calendar's events: row scope, filters, fill, and a fixed number of queries. Both databases."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models.scheduling import AttendanceStatus, ParticipantRole, SessionStatus, SessionType
from app.policy.scope import Actor
from app.services.scheduling import calendar
from app.services.scheduling.errors import Forbidden, SchedulingError
from tests.support.schedule_support import MONDAY, book, coach, customer, plain_session, staff

H = dt.timedelta(hours=1)
WEEK = (MONDAY, MONDAY + dt.timedelta(days=7))


@contextmanager
def statements():
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_a_coach_sees_only_their_own_sessions_and_staff_see_all(app_ctx):
    ana, ben = coach("Ana"), coach("Ben")
    mine = plain_session(ana.user_id, MONDAY + 9 * H, title="Ana's class")
    plain_session(ben.user_id, MONDAY + 9 * H, title="Ben's class")
    db.session.commit()
    assert [e.id for e in calendar.events(db.session, ana, *WEEK)] == [mine.id]
    assert {e.title for e in calendar.events(db.session, staff("Support"), *WEEK)} == {"Ana's class", "Ben's class"}
    manager = Actor(None, frozenset({"Manager"}))
    assert len(calendar.events(db.session, manager, *WEEK)) == 2
    with pytest.raises(Forbidden):
        calendar.events(db.session, Actor(None, frozenset({"Compliance"})), *WEEK)


def test_fill_counts_booked_and_waiting_people_only(app_ctx):
    ana = coach()
    session = plain_session(ana.user_id, MONDAY + 9 * H, capacity=2)
    db.session.flush()
    people = [customer(f"Customer {i}") for i in range(5)]
    book(session.id, people[0], ParticipantRole.PRIMARY)
    book(session.id, people[1], ParticipantRole.PRIMARY, AttendanceStatus.ATTENDED)
    book(session.id, people[2], ParticipantRole.PRIMARY, AttendanceStatus.LATE_CANCEL)
    book(session.id, people[3], ParticipantRole.WAITLIST)
    book(session.id, people[4], ParticipantRole.WAITLIST, AttendanceStatus.CANCELLED)
    db.session.commit()
    (ev,) = calendar.events(db.session, ana, *WEEK)
    assert (ev.booked, ev.waitlisted, ev.capacity, ev.coach_name) == (2, 1, 2, "Coach A")
    assert ev.as_dict()["start"] == (MONDAY + 9 * H).isoformat()


def test_range_overlap_and_filters(app_ctx):
    ana, ben = coach("Ana"), coach("Ben")
    straddles = plain_session(ana.user_id, MONDAY - H, minutes=120, location="Studio 1")
    inside = plain_session(ben.user_id, MONDAY + 9 * H, location=" studio 1", session_type=SessionType.VIRTUAL)
    cancelled = plain_session(ana.user_id, MONDAY + 30 * H, status=SessionStatus.CANCELLED)
    plain_session(ana.user_id, MONDAY - 3 * H)  # ends before the range
    plain_session(ana.user_id, WEEK[1])  # starts at its end
    db.session.commit()
    support = staff("Support")
    ids = lambda **kw: [e.id for e in calendar.events(db.session, support, *WEEK, **kw)]  # noqa: E731
    assert ids() == [straddles.id, inside.id, cancelled.id]
    assert ids(coach_ids=[str(ben.user_id)]) == [inside.id]
    assert ids(locations=["STUDIO 1"]) == [straddles.id, inside.id]
    assert ids(session_types=["VIRTUAL"]) == [inside.id]
    assert ids(statuses=["SCHEDULED"]) == [straddles.id, inside.id]
    assert ids(limit=1) == [straddles.id]
    for bad in ({"session_types": ["PARTY"]}, {"coach_ids": ["not-a-uuid"]}, {"statuses": ["LOST"]}):
        with pytest.raises(SchedulingError):
            calendar.events(db.session, support, *WEEK, **bad)
    with pytest.raises(SchedulingError):
        calendar.events(db.session, support, MONDAY, MONDAY + dt.timedelta(days=63))
    with pytest.raises(SchedulingError):
        calendar.events(db.session, support, MONDAY, MONDAY - H)


def _fill(coach_id, n: int, people: list) -> None:
    for i in range(n):
        session = plain_session(coach_id, MONDAY + (i % 150) * H, title=f"S{i}", capacity=3)
        db.session.flush()
        for j, person in enumerate(people):
            book(session.id, person, ParticipantRole.PRIMARY if j < 3 else ParticipantRole.WAITLIST)
    db.session.commit()


def test_the_number_of_queries_does_not_grow_with_the_sessions(app_ctx):
    ana = coach()
    people = [customer(f"Customer {i}") for i in range(4)]
    support = staff("Support")
    _fill(ana.user_id, 10, people)
    db.session.expire_all()
    with statements() as few:
        small = calendar.events(db.session, support, *WEEK)
    _fill(ana.user_id, 190, people)
    db.session.expire_all()
    with statements() as many:
        large = calendar.events(db.session, support, *WEEK)
    assert (len(small), len(large)) == (10, 200)
    assert all((e.booked, e.waitlisted, e.coach_name) == (3, 1, "Coach A") for e in large)
    assert few["n"] == many["n"] == 2


def test_filter_options_follow_the_viewer(app_ctx):
    ana, ben = coach("Ana"), coach("Ben")
    plain_session(ana.user_id, MONDAY, location="Studio 1")
    plain_session(ana.user_id, MONDAY + H, location=" studio 1 ")
    plain_session(ben.user_id, MONDAY, location="Pool")
    db.session.commit()
    mine = calendar.filter_options(db.session, ana)
    assert [c["label"] for c in mine["coaches"]] == ["Ana"]
    # Spellings of one place are one choice (which spelling shows depends on the collation).
    assert [loc["value"].lower() for loc in mine["locations"]] == ["studio 1"]
    everyone = calendar.filter_options(db.session, staff("Support"))
    assert [c["label"] for c in everyone["coaches"]] == ["Ana", "Ben"]
    assert len(everyone["locations"]) == 2
    assert [t["value"] for t in everyone["types"]] == [t.value for t in SessionType]
    assert {s["value"] for s in everyone["statuses"]} == {s.value for s in SessionStatus}
