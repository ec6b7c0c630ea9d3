"""Coach availability: weekly slots in their own zone, exceptions, blocks, and who may change them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.extensions import committed, db
from app.models.compliance import AuditLog
from app.models.scheduling import CoachAvailability
from app.services.scheduling import availability
from app.services.scheduling.errors import Forbidden, NotFound, SchedulingError
from tests.support.schedule_support import coach, staff

MADRID = ZoneInfo("Europe/Madrid")
UTC = dt.UTC


def _slot(actor, **extra):
    values = {
        "coach_id": actor.user_id,
        "day_of_week": 0,
        "start_time": dt.time(9, 0),
        "end_time": dt.time(12, 0),
        "timezone": "Europe/Madrid",
    }
    values.update(extra)
    with committed():
        return availability.add_slot(db.session, actor, **values)


def test_weekly_slot_keeps_its_local_hours_across_the_october_change(app_ctx):
    ana = coach()
    _slot(ana)
    # Mondays 20 and 27 October 2025: summer time ends in between.
    blocks = availability.blocks(
        db.session, ana, dt.datetime(2025, 10, 20, tzinfo=UTC), dt.datetime(2025, 11, 1, tzinfo=UTC)
    )
    assert [
        (b.start.astimezone(MADRID).strftime("%d %H:%M"), b.end.astimezone(MADRID).strftime("%H:%M")) for b in blocks
    ] == [
        ("20 09:00", "12:00"),
        ("27 09:00", "12:00"),
    ]
    assert [b.start.hour for b in blocks] == [7, 8]
    assert {(b.kind, b.source, b.coach_id) for b in blocks} == {("available", "weekly", ana.user_id)}


def test_exceptions_are_blocks_of_their_own_and_time_off_is_subtracted(app_ctx):
    ana = coach()
    _slot(ana)
    monday = dt.datetime(2025, 10, 20, 7, 0, tzinfo=UTC)  # 09:00 in Madrid
    with committed():
        off = availability.add_exception(
            db.session, ana, coach_id=None, kind="TIME_OFF", starts_at=monday, ends_at=monday + dt.timedelta(hours=1)
        )
        extra = availability.add_exception(
            db.session,
            ana,
            coach_id=ana.user_id,
            kind="EXTRA",
            starts_at=monday + dt.timedelta(days=1),
            ends_at=monday + dt.timedelta(days=1, hours=2),
            note="Covering for Ben",
        )
    blocks = availability.blocks(db.session, ana, monday - dt.timedelta(hours=7), monday + dt.timedelta(days=2))
    assert [(b.kind, b.source, b.source_id) for b in blocks] == [
        ("time_off", "exception", off.id),
        ("available", "weekly", blocks[1].source_id),
        ("available", "exception", extra.id),
    ]
    merged = availability.available_intervals(blocks)
    assert merged == [
        (monday + dt.timedelta(hours=1), monday + dt.timedelta(hours=3)),
        (monday + dt.timedelta(days=1), monday + dt.timedelta(days=1, hours=2)),
    ]


def test_a_coach_sees_and_changes_only_their_own_availability(app_ctx):
    ana, ben = coach("Ana"), coach("Ben")
    slot = _slot(ben)
    week = (dt.datetime(2025, 10, 20, tzinfo=UTC), dt.datetime(2025, 10, 27, tzinfo=UTC))
    assert availability.blocks(db.session, ana, *week) == []
    assert len(availability.blocks(db.session, staff("Support"), *week)) == 1
    with pytest.raises(Forbidden):
        _slot(ana, coach_id=ben.user_id)
    with pytest.raises(NotFound):
        availability.update_slot(db.session, ana, slot.id, end_time=dt.time(13, 0))
    with pytest.raises(NotFound):
        availability.delete_slot(db.session, ana, slot.id)
    # Support reads availability but does not edit it; an Admin edits anyone's.
    with pytest.raises(Forbidden):
        _slot(staff("Support"), coach_id=ben.user_id, day_of_week=2)
    admin = staff("Admin")
    with committed():
        availability.update_slot(db.session, admin, slot.id, end_time=dt.time(13, 0))
    db.session.expire_all()
    assert db.session.get(CoachAvailability, slot.id).end_time == dt.time(13, 0)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"start_time": dt.time(11, 0), "end_time": dt.time(14, 0)}, "start_time"),  # overlaps 09-12
        ({"day_of_week": 1, "start_time": dt.time(12, 0), "end_time": dt.time(9, 0)}, "end_time"),
        ({"day_of_week": 1, "timezone": "Europe/Atlantis"}, "timezone"),
        ({"day_of_week": 9}, "day_of_week"),
        ({"day_of_week": 1, "capacity": 0}, "capacity"),
    ],
)
def test_bad_slots_are_refused_and_nothing_is_written(app_ctx, extra, field):
    ana = coach()
    _slot(ana)
    with pytest.raises(SchedulingError) as err:
        _slot(ana, **extra)
    assert err.value.field == field
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CoachAvailability)) == 1


def test_adjacent_slots_are_fine_and_changes_are_audited(app_ctx):
    ana = coach()
    first = _slot(ana)
    second = _slot(ana, start_time=dt.time(12, 0), end_time=dt.time(14, 0))
    with committed():
        availability.delete_slot(db.session, ana, first.id)
    actions = db.session.execute(
        sa.select(AuditLog.action, AuditLog.resource_id).where(AuditLog.resource_type.ilike("%availability%"))
    ).all()
    assert {(a.lower(), r) for a, r in actions} >= {("create", str(second.id)), ("delete", str(first.id))}


def test_exception_must_end_after_it_starts(app_ctx):
    ana = coach()
    at = dt.datetime(2031, 1, 1, tzinfo=UTC)
    with pytest.raises(SchedulingError) as err:
        availability.add_exception(db.session, ana, coach_id=None, kind="TIME_OFF", starts_at=at, ends_at=at)
    assert err.value.field == "end"
    with pytest.raises(SchedulingError) as err:
        availability.add_exception(
            db.session, ana, coach_id=None, kind="HOLIDAY", starts_at=at, ends_at=at + dt.timedelta(hours=1)
        )
    assert err.value.field == "kind"


def test_block_ranges_are_bounded(app_ctx):
    ana = coach()
    start = dt.datetime(2031, 1, 1, tzinfo=UTC)
    with pytest.raises(SchedulingError):
        availability.blocks(db.session, ana, start, start + dt.timedelta(days=90))
