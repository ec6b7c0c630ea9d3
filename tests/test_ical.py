"""iCal exports: the coach's secret feed (rotation, contents, no customer data) and one session's file."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
import sqlalchemy as sa

from app.extensions import committed, db
from app.models.scheduling import CalendarFeed, ParticipantRole, SessionStatus
from app.services.scheduling import ical
from app.services.scheduling.errors import Forbidden, NotFound
from tests.support.schedule_support import MONDAY, book, coach, customer, plain_session, staff

H = dt.timedelta(hours=1)
NOW = MONDAY


def _events(data: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(data).walk("VEVENT"))


def test_feed_lists_the_coachs_sessions_in_their_zone_without_customer_data(app_ctx):
    ana, ben = coach("Ana"), coach("Ben")
    kept = plain_session(ana.user_id, NOW + 24 * H, title="Pilates", timezone="Europe/Madrid", location="Studio 1")
    called_off = plain_session(ana.user_id, NOW + 48 * H, title="Yoga", status=SessionStatus.CANCELLED)
    plain_session(ana.user_id, NOW - dt.timedelta(days=31))  # older than 30 days
    plain_session(ana.user_id, NOW + dt.timedelta(days=181))  # further than 180 days
    plain_session(ben.user_id, NOW + 24 * H, title="Ben's class")
    db.session.flush()
    person = customer("Zelda Customer")
    book(kept.id, person, ParticipantRole.PRIMARY)
    db.session.commit()
    with committed():
        token = ical.rotate_feed(db.session, ana, None, now=NOW)
    data = ical.feed_ics(db.session, token, now=NOW)
    events = _events(data)
    assert [str(e["uid"]) for e in events] == [f"session-{kept.id}@coachdesk", f"session-{called_off.id}@coachdesk"]
    assert [str(e["status"]) for e in events] == ["CONFIRMED", "CANCELLED"]
    first = events[0]
    assert first["dtstart"].params["TZID"] == "Europe/Madrid"
    assert first.decoded("dtstart") == kept.start_time and str(first["location"]) == "Studio 1"
    assert b"BEGIN:VTIMEZONE" in data
    text = data.decode()
    assert "Zelda" not in text and "@coachdesk.test" not in text and "Ben's class" not in text


def test_rotating_invalidates_the_old_address_and_only_a_hash_is_kept(app_ctx):
    ana = coach()
    with committed():
        old = ical.rotate_feed(db.session, ana, ana.user_id, now=NOW)
    with committed():
        new = ical.rotate_feed(db.session, ana, ana.user_id, now=NOW + H)
    assert old != new and len(new) >= 43
    assert ical.feed_ics(db.session, old) is None
    assert ical.feed_ics(db.session, new) is not None
    for junk in ("", "x" * 500, "not a token!", new[:-1] + ("A" if new[-1] != "A" else "B")):
        assert ical.feed_ics(db.session, junk) is None
    stored = db.session.scalars(sa.select(CalendarFeed.token_hash)).all()
    assert len(stored) == 1 and new not in stored[0] and len(stored[0]) == 64
    status = ical.feed_status(db.session, ana, None)
    assert status["exists"] and status["rotated_at"] and new not in str(status) and stored[0] not in str(status)


def test_feed_rotation_is_the_coachs_own_or_staffs(app_ctx):
    ana, ben = coach("Ana"), coach("Ben")
    with pytest.raises(Forbidden):
        ical.rotate_feed(db.session, ana, ben.user_id)
    with committed():
        ical.rotate_feed(db.session, staff("Support"), ben.user_id)
    assert ical.feed_status(db.session, staff("Admin"), ben.user_id)["exists"]
    assert not ical.feed_status(db.session, ana, None)["exists"]


def test_session_download_is_scoped(app_ctx):
    ana, ben = coach("Ana"), coach("Ben")
    session = plain_session(ana.user_id, NOW + 24 * H, title="Pilates", timezone="America/New_York")
    db.session.commit()
    (event,) = _events(ical.session_ics(db.session, ana, session.id, now=NOW))
    assert str(event["summary"]) == "Pilates" and event["dtstart"].params["TZID"] == "America/New_York"
    assert _events(ical.session_ics(db.session, staff("Support"), session.id))[0]["uid"] == event["uid"]
    with pytest.raises(NotFound):
        ical.session_ics(db.session, ben, session.id)
