"""Sessions and series: creating, conflicts and overrides, moving and editing, cancelling. Both databases."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.extensions import committed, db
from app.models.events import DomainEvent
from app.models.scheduling import (
    AttendanceStatus,
    ParticipantRole,
    ScheduledSession,
    SessionParticipant,
    SessionSeries,
    SessionStatus,
    WaitlistEntry,
)
from app.services.scheduling import availability, booking, conflicts, sessions
from app.services.scheduling.errors import ConflictError, Forbidden, NotFound, SchedulingError, StaleEdit
from app.services.scheduling.recurrence import Repeat
from tests.support.schedule_support import MONDAY, NOW, coach, customer, draft, open_availability, staff

MADRID = ZoneInfo("Europe/Madrid")
H = dt.timedelta(hours=1)


def _create(actor, d, **kw):
    kw.setdefault("now", NOW)
    with committed():
        return sessions.create_sessions(db.session, actor, d, **kw)


def _count(model=ScheduledSession) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _reload(session_id: int) -> ScheduledSession:
    db.session.expire_all()
    return db.session.get(ScheduledSession, session_id)


def test_a_coach_creates_their_own_session(app_ctx):
    ana = coach()
    open_availability(ana.user_id)
    (made,) = _create(ana, draft(None, MONDAY + 10 * H, location=" Studio 1 ", join_link="https://meet.example/x"))
    assert (made.coach_id, made.location, made.version, made.series_id) == (ana.user_id, "Studio 1", 1, None)


def test_staff_choose_the_coach_and_a_coach_cannot_choose_another(app_ctx):
    ana, ben = coach("Ana"), coach("Ben")
    open_availability(ben.user_id)
    with pytest.raises(SchedulingError) as err:
        _create(staff("Support"), draft(None, MONDAY + 10 * H))
    assert err.value.field == "coach_id"
    (made,) = _create(staff("Support"), draft(ben.user_id, MONDAY + 10 * H))
    assert made.coach_id == ben.user_id
    with pytest.raises(Forbidden):
        _create(ana, draft(ben.user_id, MONDAY + 12 * H))


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"title": "  "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 1001}, "capacity"),
        ({"session_type": "PARTY"}, "session_type"),
        ({"join_link": "javascript:alert(1)"}, "join_link"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"end": MONDAY + 9 * H}, "end"),
        ({"at": dt.datetime(2150, 1, 1, tzinfo=dt.UTC)}, "start"),
        ({"at": NOW - 2 * H}, "start"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(app_ctx, extra, field):
    ana = coach()
    extra = dict(extra)
    at = extra.pop("at", MONDAY + 10 * H)
    with pytest.raises(SchedulingError) as err:
        _create(ana, draft(None, at, **extra))
    assert err.value.field == field
    assert _count() == 0


def test_each_kind_of_conflict_is_reported(app_ctx):
    ana, ben = coach("Ana"), coach("Ben")
    open_availability(ana.user_id)
    open_availability(ben.user_id)
    (busy,) = _create(ana, draft(None, MONDAY + 10 * H, location="Studio 1"))
    # Ana again at 10:30: coach busy. Ben at 10:30 in "studio 1 ": location taken (trimmed, any case).
    found = conflicts.find_conflicts(
        db.session, coach_id=ana.user_id, start=MONDAY + 10.5 * H, end=MONDAY + 11.5 * H, location=None
    )
    assert [(c.kind, c.session_id) for c in found] == [("coach_busy", busy.id)]
    found = conflicts.find_conflicts(
        db.session, coach_id=ben.user_id, start=MONDAY + 10.5 * H, end=MONDAY + 11.5 * H, location=" studio 1 "
    )
    assert [(c.kind, c.session_id) for c in found] == [("location_taken", busy.id)]
    # Back to back is no clash; a virtual session (no location) never takes a room.
    assert not conflicts.find_conflicts(
        db.session, coach_id=ana.user_id, start=MONDAY + 11 * H, end=MONDAY + 12 * H, location="Studio 1"
    )
    carl = coach("Carl")
    availability.add_slot(
        db.session,
        carl,
        coach_id=None,
        day_of_week=0,
        start_time=dt.time(9),
        end_time=dt.time(12),
        timezone="Europe/Madrid",
    )
    db.session.commit()
    inside = conflicts.find_conflicts(
        db.session, coach_id=carl.user_id, start=MONDAY + 8 * H, end=MONDAY + 10 * H, location=None
    )  # 09:00-11:00 in Madrid (UTC+1 in March)
    outside = conflicts.find_conflicts(
        db.session, coach_id=carl.user_id, start=MONDAY + 10 * H, end=MONDAY + 12 * H, location=None
    )
    assert inside == [] and [c.kind for c in outside] == ["outside_availability"]
    # Cancelled sessions and the session itself (exclude_ids) do not clash.
    assert not conflicts.find_conflicts(
        db.session,
        coach_id=ana.user_id,
        start=MONDAY + 10 * H,
        end=MONDAY + 11 * H,
        location="Studio 1",
        exclude_ids=[busy.id],
    )


def test_conflicts_refuse_unless_an_allowed_role_saves_anyway(app_ctx):
    ana = coach()
    open_availability(ana.user_id)
    _create(ana, draft(None, MONDAY + 10 * H))
    clash = draft(ana.user_id, MONDAY + 10 * H)
    with pytest.raises(ConflictError) as err:
        _create(ana, clash)
    assert err.value.overridable is False and err.value.conflicts[0].kind == "coach_busy"
    assert err.value.as_dict()["code"] == "conflict"
    with pytest.raises(Forbidden):
        _create(ana, clash, override=True)
    with pytest.raises(ConflictError) as err:
        _create(staff("Support"), clash)
    assert err.value.overridable is True
    assert len(_create(staff("Support"), clash, override=True)) == 1
    assert len(_create(staff("Admin"), clash, override=True)) == 1
    assert _count() == 3
    assert conflicts.may_override(staff("Support")) and not conflicts.may_override(ana)


def test_a_series_checks_every_occurrence(app_ctx):
    ana = coach()
    open_availability(ana.user_id)
    _create(ana, draft(None, MONDAY + 14 * 24 * H + 17 * H))  # the third Monday, 18:00 in Madrid
    with pytest.raises(ConflictError) as err:
        _create(ana, draft(None, MONDAY + 17 * H), repeat=Repeat((0,), count=4, until=None))
    assert len(err.value.conflicts) == 1 and "2031-03-17" in err.value.conflicts[0].message
    assert _count() == 1 and _count(SessionSeries) == 0


def test_a_series_of_ten_thousand_is_refused_and_writes_nothing(app_ctx):
    ana = coach()
    with pytest.raises(SchedulingError):
        _create(ana, draft(None, MONDAY + 17 * H), repeat=Repeat((0, 2, 4), count=10_000, until=None))
    assert _count() == 0 and _count(SessionSeries) == 0


def test_a_series_keeps_local_time_across_the_october_change(app_ctx):
    ana = coach()
    first = dt.datetime(2031, 10, 21, 18, 0, tzinfo=MADRID)  # Tuesday; summer time ends 26 October 2031
    open_availability(ana.user_id, start=first - 24 * H)
    made = _create(ana, draft(None, first), repeat=Repeat((1,), count=3, until=None))
    assert [s.start_time.astimezone(MADRID).strftime("%d %H:%M") for s in made] == ["21 18:00", "28 18:00", "04 18:00"]
    assert [s.end_time - s.start_time for s in made] == [H] * 3
    series = db.session.get(SessionSeries, made[0].series_id)
    assert series.rrule == "FREQ=WEEKLY;BYDAY=TU;COUNT=3" and series.timezone == "Europe/Madrid"


def _series(actor, n=4):
    return _create(actor, draft(None, MONDAY + 17 * H, location="Studio 2"), repeat=Repeat((0,), count=n, until=None))


def test_a_stale_edit_is_refused_and_changes_nothing(app_ctx):
    ana = coach()
    open_availability(ana.user_id)
    (made,) = _create(ana, draft(None, MONDAY + 10 * H))
    with committed():
        sessions.update_session(db.session, ana, made.id, version=1, changes={"title": "Mobility"}, now=NOW)
    with pytest.raises(StaleEdit) as err, committed():
        sessions.update_session(
            db.session, ana, made.id, version=1, changes={"start": MONDAY + 12 * H, "end": MONDAY + 13 * H}, now=NOW
        )
    assert err.value.details["current_version"] == 2
    fresh = _reload(made.id)
    assert (fresh.title, fresh.start_time, fresh.version) == ("Mobility", MONDAY + 10 * H, 2)


def test_moving_one_occurrence_leaves_the_others_and_announces_it(app_ctx):
    ana = coach()
    open_availability(ana.user_id)
    made = _series(ana)
    with committed():
        changed = sessions.update_session(
            db.session, ana, made[1].id, version=1,
            changes={"start": made[1].start_time + 24 * H, "end": made[1].end_time + 24 * H + H}, now=NOW,
        )  # fmt: skip
    assert [s.id for s in changed] == [made[1].id] and changed[0].version == 2
    assert [_reload(s.id).start_time for s in (made[0], made[2])] == [made[0].start_time, made[2].start_time]
    payloads = db.session.scalars(sa.select(DomainEvent.payload).where(DomainEvent.event_type == "session.rescheduled"))
    assert [p["session_id"] for p in payloads] == [made[1].id]


def test_this_and_following_moves_later_occurrences_only_and_splits_the_series(app_ctx):
    ana = coach()
    open_availability(ana.user_id)
    made = _series(ana, n=4)
    later = made[2]
    # Tuesday 19:00 instead of Monday 18:00, 90 minutes, a new title: for the third and fourth.
    with committed():
        changed = sessions.update_session(
            db.session, ana, later.id, version=1, scope="following", now=NOW,
            changes={"start": later.start_time + 25 * H, "end": later.start_time + 26.5 * H, "title": "Late class"},
        )  # fmt: skip
    assert [s.id for s in changed] == [made[2].id, made[3].id]
    rows = [_reload(s.id) for s in made]
    local = [r.start_time.astimezone(MADRID).strftime("%a %H:%M") for r in rows]
    assert local == ["Mon 18:00", "Mon 18:00", "Tue 19:00", "Tue 19:00"]
    assert [r.title for r in rows] == ["Strength class", "Strength class", "Late class", "Late class"]
    assert [r.end_time - r.start_time for r in rows] == [H, H, 1.5 * H, 1.5 * H]
    assert [r.version for r in rows] == [1, 1, 2, 2]
    assert rows[0].series_id == rows[1].series_id != rows[2].series_id == rows[3].series_id
    old, new = db.session.get(SessionSeries, rows[0].series_id), db.session.get(SessionSeries, rows[2].series_id)
    assert (old.rrule, new.rrule) == ("FREQ=WEEKLY;BYDAY=MO;COUNT=2", "FREQ=WEEKLY;BYDAY=TU;COUNT=2")


def test_refused_moves(app_ctx):
    ana, ben = coach("Ana"), coach("Ben")
    open_availability(ana.user_id)
    (made,) = _create(ana, draft(None, MONDAY + 10 * H))

    def move(actor, **changes):
        with committed():
            return sessions.update_session(db.session, actor, made.id, version=1, changes=changes, now=NOW)

    with pytest.raises(SchedulingError) as err:
        move(ana, start=NOW - 2 * H, end=NOW - H)
    assert err.value.field == "start"
    with pytest.raises(SchedulingError) as err:
        move(ana, end=MONDAY + 9 * H)
    assert err.value.field == "end"
    with pytest.raises(SchedulingError) as err:
        move(ana, timezone="Nowhere/Land")
    assert err.value.field == "timezone"
    with pytest.raises(SchedulingError) as err:
        move(ana, capacity=3)
    assert err.value.field == "capacity"
    with pytest.raises(NotFound):
        move(ben, title="Mine now")
    with pytest.raises(Forbidden):
        move(ana, coach_id=str(ben.user_id))
    fresh = _reload(made.id)
    assert (fresh.start_time, fresh.version, fresh.coach_id) == (MONDAY + 10 * H, 1, ana.user_id)


def test_staff_hand_a_session_to_another_coach_with_a_conflict_check(app_ctx):
    ana, ben = coach("Ana"), coach("Ben")
    open_availability(ana.user_id)
    (made,) = _create(ana, draft(None, MONDAY + 10 * H))
    support = staff("Support")
    with pytest.raises(ConflictError) as err:  # Ben has no availability
        sessions.update_session(db.session, support, made.id, version=1, changes={"coach_id": ben.user_id}, now=NOW)
    db.session.rollback()
    assert [c.kind for c in err.value.conflicts] == ["outside_availability"]
    with committed():
        sessions.update_session(
            db.session, support, made.id, version=1, changes={"coach_id": ben.user_id}, override=True, now=NOW
        )
    assert _reload(made.id).coach_id == ben.user_id


def test_cancel_one_or_following(app_ctx):
    ana = coach()
    open_availability(ana.user_id)
    made = _series(ana, n=4)
    with committed():
        one = sessions.cancel_sessions(db.session, ana, made[0].id, version=1, now=NOW)
    with committed():
        rest = sessions.cancel_sessions(db.session, ana, made[2].id, version=1, scope="following", now=NOW)
    assert [s.id for s in one] == [made[0].id] and [s.id for s in rest] == [made[2].id, made[3].id]
    assert [_reload(s.id).status for s in made] == [
        SessionStatus.CANCELLED, SessionStatus.SCHEDULED, SessionStatus.CANCELLED, SessionStatus.CANCELLED,
    ]  # fmt: skip
    cancelled = db.session.scalars(sa.select(DomainEvent).where(DomainEvent.event_type == "session.cancelled")).all()
    assert len(cancelled) == 3
    with pytest.raises(SchedulingError):
        sessions.cancel_sessions(db.session, ana, made[0].id, version=2, now=NOW)
    with pytest.raises(StaleEdit):
        sessions.cancel_sessions(db.session, ana, made[1].id, version=7, now=NOW)


def test_cancelling_following_occurrences_cancels_their_rosters_and_tells_each_customer(app_ctx):
    ana = coach()
    open_availability(ana.user_id)
    made = _series(ana, n=3)
    rules = booking.BookingRules.from_config({})
    people = [customer(f"Client {i}", ana.user_id) for i in range(3)]
    with committed():
        for occurrence in made:
            booking.set_capacity(db.session, ana, occurrence.id, 2, rules=rules, now=NOW)
            for person in people:
                booking.book(db.session, ana, occurrence.id, person, rules=rules, now=NOW)
    version = _reload(made[1].id).version
    with committed():
        sessions.cancel_sessions(db.session, ana, made[1].id, version=version, scope="following", now=NOW)
    db.session.expire_all()
    rows = db.session.scalars(sa.select(SessionParticipant).where(SessionParticipant.session_id == made[0].id)).all()
    assert sorted(r.role.value for r in rows) == ["PRIMARY", "PRIMARY", "WAITLIST"]  # untouched
    for occurrence in made[1:]:
        rows = db.session.scalars(
            sa.select(SessionParticipant).where(SessionParticipant.session_id == occurrence.id)
        ).all()
        assert [(r.role, r.attendance_status) for r in rows] == [
            (ParticipantRole.PRIMARY, AttendanceStatus.CANCELLED)
        ] * 2
        assert not db.session.scalars(sa.select(WaitlistEntry).where(WaitlistEntry.session_id == occurrence.id)).all()
    told = db.session.scalars(
        sa.select(DomainEvent.customer_id).where(
            DomainEvent.event_type == "session.cancelled", DomainEvent.customer_id.is_not(None)
        )
    ).all()
    assert sorted(map(str, told)) == sorted(map(str, people * 2))
