"""The demo data obeys the booking rules: its rosters look as if the booking engine had made them."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from dateutil.rrule import rrulestr

from app.extensions import appbuilder, db
from app.models.scheduling import (
    AvailabilityException,
    CoachAvailability,
    ScheduledSession,
    SessionParticipant,
    SessionSeries,
    SessionStatus,
    WaitlistEntry,
)
from app.services.demo_data import seed_demo_data
from tests.support.booking_support import invariant_problems

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def test_demo_rosters_series_and_availability_follow_the_rules(app):
    with app.app_context():
        seed_demo_data(appbuilder.sm, customers=30, seed=11, progress=False, now=NOW)
        assert invariant_problems() == []

        # Recurring classes: every series' occurrences are its rule expanded in its zone.
        series = list(db.session.scalars(sa.select(SessionSeries)))
        assert series
        for s in series:
            starts = list(
                db.session.scalars(
                    sa.select(ScheduledSession.start_time)
                    .where(ScheduledSession.series_id == s.id)
                    .order_by(ScheduledSession.start_time)
                )
            )
            zone = ZoneInfo(s.timezone)
            first = starts[0].astimezone(zone).replace(tzinfo=None)
            expected = [d.replace(tzinfo=zone).astimezone(dt.UTC) for d in rrulestr(s.rrule, dtstart=first)]
            assert starts == expected, s.rrule

        # Waitlists that were served and queues still waiting; late cancels; cancelled sessions without queues.
        entries = list(db.session.scalars(sa.select(WaitlistEntry)))
        assert any(e.promoted_at is not None for e in entries) and any(e.promoted_at is None for e in entries)
        future_queue = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(WaitlistEntry)
            .join(ScheduledSession, ScheduledSession.id == WaitlistEntry.session_id)
            .where(ScheduledSession.start_time > NOW, WaitlistEntry.promoted_at.is_(None))
        )
        assert future_queue > 0
        statuses = Counter(a.value for a in db.session.scalars(sa.select(SessionParticipant.attendance_status)))
        assert statuses["LATE_CANCEL"] and statuses["CANCELLED"] and statuses["ATTENDED"] > statuses["NO_SHOW"]
        parts = list(db.session.scalars(sa.select(SessionParticipant)))
        assert all(p.booked_at <= NOW and (p.cancelled_at is None or p.cancelled_at <= NOW) for p in parts)
        assert all(
            (p.cancelled_at is not None) == (p.attendance_status.value in ("CANCELLED", "LATE_CANCEL")) for p in parts
        )
        assert db.session.scalar(sa.select(sa.func.count()).where(ScheduledSession.status == SessionStatus.CANCELLED))

        # Availability carries the coach's zone; exceptions give time off and extra slots.
        slot_zones = set(db.session.scalars(sa.select(CoachAvailability.timezone)))
        assert slot_zones and "UTC" not in slot_zones
        for zone in slot_zones:
            ZoneInfo(zone)
        kinds = {k.value for k in db.session.scalars(sa.select(AvailabilityException.kind))}
        assert kinds == {"TIME_OFF", "EXTRA"}
