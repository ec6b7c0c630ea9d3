"""The booking engine's rules, on SQLite and PostgreSQL: seats, the waitlist, promotion, refusals, events, audit."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.extensions import committed, db
from app.models.compliance import AuditLog
from app.models.events import DomainEvent
from app.models.identity import RoleCode
from app.models.scheduling import (
    AttendanceStatus,
    ParticipantRole,
    ScheduledSession,
    SessionParticipant,
    SessionStatus,
    WaitlistEntry,
)
from app.policy.scope import Actor
from app.services import events
from app.services.scheduling import booking
from app.services.scheduling.errors import Forbidden, NotFound, SchedulingError, StaleEdit
from tests.support.booking_support import RULES, invariant_problems, make_session
from tests.support.plan_support import make_customer, make_user

NOW = dt.datetime(2030, 1, 10, 9, 0, tzinfo=dt.UTC)
START = NOW + dt.timedelta(days=2)


@pytest.fixture
def w(app_ctx):
    coach = make_user("Coach Ada", RoleCode.COACH)
    other = make_user("Coach Bo", RoleCode.COACH)
    desk = make_user("Desk Cy", RoleCode.SUPPORT)
    db.session.commit()
    customers = [make_customer(f"Customer {i}", coach_id=coach.id) for i in range(6)]
    stranger = make_customer("Stranger", coach_id=other.id)
    return SimpleNamespace(
        coach=Actor(coach.id, frozenset({"Coach"})),
        other=Actor(other.id, frozenset({"Coach"})),
        support=Actor(desk.id, frozenset({"Support"})),
        manager=Actor(None, frozenset({"Manager"})),
        customers=customers,
        stranger=stranger,
        session=make_session(coach.id, START, capacity=2),
    )


def _book(actor, session_id, customer_id, now=NOW):
    with committed():
        return booking.book(db.session, actor, session_id, customer_id, rules=RULES, now=now)


def _cancel(actor, session_id, customer_id, now=NOW):
    with committed():
        return booking.cancel_booking(db.session, actor, session_id, customer_id, rules=RULES, now=now)


def _events(event_type: str) -> list[DomainEvent]:
    return list(db.session.scalars(sa.select(DomainEvent).where(DomainEvent.event_type == event_type)))


def _state(session_id: int) -> dict[uuid.UUID, tuple[str, str]]:
    rows = db.session.scalars(sa.select(SessionParticipant).where(SessionParticipant.session_id == session_id))
    return {p.customer_id: (p.role.value, p.attendance_status.value) for p in rows}


def test_booking_past_capacity_joins_the_waitlist_in_order(w):
    c = w.customers
    outcomes = [_book(w.coach, w.session, cid, NOW + dt.timedelta(minutes=i)).outcome for i, cid in enumerate(c[:4])]
    assert outcomes == ["booked", "booked", "waitlisted", "waitlisted"]
    assert _book(w.coach, w.session, c[0]).outcome == "already_booked"
    assert _book(w.support, w.session, c[3]).outcome == "already_waitlisted"

    r = booking.roster(db.session, w.support, w.session)
    assert [p.customer_id for p in r.booked] == c[:2]
    assert [(p.customer_id, e.customer_id) for p, e in r.waitlist] == [(c[2], c[2]), (c[3], c[3])]
    assert all(e.promoted_at is None and p.role == ParticipantRole.WAITLIST for p, e in r.waitlist)
    assert booking.seat_counts(db.session, [w.session, 999]) == {w.session: (2, 2), 999: (0, 0)}
    assert len(_events(events.SESSION_BOOKED)) == 2
    waitlisted = _events(events.SESSION_WAITLISTED)
    assert [e.customer_id for e in waitlisted] == c[2:4]
    assert waitlisted[0].payload == {"session_id": w.session}
    assert invariant_problems() == []


def test_a_booking_writes_audit_rows(w):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    result = _book(w.coach, w.session, w.customers[0])
    rows = list(db.session.scalars(sa.select(AuditLog).where(AuditLog.id > 0).order_by(AuditLog.id)))
    assert len(rows) > before
    created = {(r.resource_type, r.action, r.resource_id) for r in rows}
    assert ("session_participants", "create", str(result.participant.id)) in created
    assert any(t == "domain_events" for t, _a, _i in created)


def test_a_cancellation_promotes_the_first_waiting_customer(w):
    c = w.customers
    for i, cid in enumerate(c[:4]):
        _book(w.coach, w.session, cid, NOW + dt.timedelta(minutes=i))
    result = _cancel(w.coach, w.session, c[1], NOW + dt.timedelta(hours=1))
    assert not result.late
    assert [p.customer_id for p in result.promoted] == [c[2]]
    state = _state(w.session)
    assert state[c[1]] == ("PRIMARY", "CANCELLED")
    assert state[c[2]] == ("PRIMARY", "REGISTERED")
    assert state[c[3]] == ("WAITLIST", "REGISTERED")
    entry = db.session.scalar(sa.select(WaitlistEntry).where(WaitlistEntry.customer_id == c[2]))
    assert entry.promoted_at == NOW + dt.timedelta(hours=1)
    cancelled = db.session.scalar(sa.select(SessionParticipant).where(SessionParticipant.customer_id == c[1]))
    assert cancelled.cancelled_at == NOW + dt.timedelta(hours=1)
    promoted = _events(events.SESSION_WAITLIST_PROMOTED)
    assert [(e.customer_id, e.payload["waitlist_entry_id"]) for e in promoted] == [(c[2], entry.id)]
    assert [e.customer_id for e in _events(events.SESSION_BOOKING_CANCELLED)] == [c[1]]
    assert invariant_problems() == []


def test_within_the_cutoff_the_seat_stays_open_and_late_cancels_are_marked(w):
    c = w.customers
    for cid in c[:3]:
        _book(w.coach, w.session, cid)
    near = START - dt.timedelta(minutes=30)
    result = _cancel(w.coach, w.session, c[0], near)
    assert result.late and result.promoted == []
    assert _state(w.session)[c[0]] == ("PRIMARY", "LATE_CANCEL")
    assert _state(w.session)[c[2]] == ("WAITLIST", "REGISTERED")
    assert booking.seat_counts(db.session, [w.session])[w.session] == (1, 1)
    # The open seat goes to whoever books it.
    assert _book(w.support, w.session, c[3], near).outcome == "booked"
    assert invariant_problems() == []


def test_cancelling_inside_the_late_window_but_before_the_cutoff_promotes(w):
    c = w.customers
    for cid in c[:3]:
        _book(w.coach, w.session, cid)
    result = _cancel(w.coach, w.session, c[0], START - dt.timedelta(hours=5))
    assert result.late and [p.customer_id for p in result.promoted] == [c[2]]


def test_waiting_customers_leave_the_queue_and_rebooking_reuses_the_row(w):
    c = w.customers
    for cid in c[:4]:
        _book(w.coach, w.session, cid)
    _cancel(w.coach, w.session, c[2])  # waiting: leaves the queue, row and entry gone
    assert c[2] not in _state(w.session)
    assert _book(w.coach, w.session, c[2], NOW + dt.timedelta(minutes=5)).outcome == "waitlisted"
    queue = [p.customer_id for p, _e in booking.roster(db.session, w.coach, w.session).waitlist]
    assert queue == [c[3], c[2]]

    first = db.session.scalar(sa.select(SessionParticipant.id).where(SessionParticipant.customer_id == c[0]))
    _cancel(w.coach, w.session, c[0], NOW + dt.timedelta(minutes=10))  # c3 promoted
    again = _book(w.coach, w.session, c[0], NOW + dt.timedelta(minutes=20))
    assert again.outcome == "waitlisted" and again.participant.id == first
    _cancel(w.coach, w.session, c[3], NOW + dt.timedelta(minutes=30))  # c3 (promoted) cancels: c2 then c0
    again_c3 = _book(w.coach, w.session, c[3], NOW + dt.timedelta(minutes=40))
    assert again_c3.outcome == "waitlisted"  # the promoted entry is reused and open again
    r = booking.roster(db.session, w.coach, w.session)
    assert [p.customer_id for p in r.booked] == [c[1], c[2]]
    assert [p.customer_id for p, _e in r.waitlist] == [c[0], c[3]]
    assert invariant_problems() == []


def test_a_capacity_increase_promotes_and_a_decrease_below_the_seats_is_refused(w):
    c = w.customers
    for cid in c[:5]:
        _book(w.coach, w.session, cid)
    with committed():
        promoted = booking.set_capacity(db.session, w.coach, w.session, 4, rules=RULES, now=NOW)
    assert [p.customer_id for p in promoted] == c[2:4]
    version = db.session.get(ScheduledSession, w.session).version
    with pytest.raises(SchedulingError, match="hold seats"), committed():
        booking.set_capacity(db.session, w.coach, w.session, 3, rules=RULES, now=NOW)
    with pytest.raises(StaleEdit), committed():
        booking.set_capacity(db.session, w.coach, w.session, 6, rules=RULES, now=NOW, expected_version=version - 1)
    for bad in (0, -1, True, "5"):
        with pytest.raises(SchedulingError), committed():
            booking.set_capacity(db.session, w.coach, w.session, bad, rules=RULES, now=NOW)
    db.session.expire_all()
    assert db.session.get(ScheduledSession, w.session).capacity == 4
    assert invariant_problems() == []


def test_a_customer_cannot_be_booked_into_two_overlapping_sessions(w):
    c = w.customers
    overlapping = make_session(w.coach.user_id, START + dt.timedelta(minutes=30), capacity=1, minutes=30)
    adjacent = make_session(w.coach.user_id, START + dt.timedelta(hours=1), capacity=5)
    _book(w.coach, w.session, c[0])
    with pytest.raises(SchedulingError, match="two overlapping sessions"):
        _book(w.support, overlapping, c[0])
    assert _state(overlapping) == {}
    assert _book(w.coach, adjacent, c[0]).outcome == "booked"
    _cancel(w.coach, w.session, c[0])  # a cancelled seat no longer overlaps
    assert _book(w.coach, overlapping, c[0]).outcome == "booked"


def test_promotion_passes_over_a_customer_with_an_overlapping_seat(w):
    c = w.customers
    for cid in c[:4]:
        _book(w.coach, w.session, cid)
    elsewhere = make_session(w.coach.user_id, START + dt.timedelta(minutes=15), capacity=3)
    _book(w.coach, elsewhere, c[2])  # c2 waits in session, sits elsewhere
    result = _cancel(w.coach, w.session, c[0])
    assert [p.customer_id for p in result.promoted] == [c[3]]
    assert _state(w.session)[c[2]] == ("WAITLIST", "REGISTERED")
    assert invariant_problems() == []


@pytest.mark.parametrize(
    "who, target, error",
    [
        ("coach", "stranger", Forbidden),  # not one of the coach's customers
        ("other", "customer", NotFound),  # another coach's session is outside their scope
        ("manager", "customer", Forbidden),  # no write grant
        ("support", "coach", SchedulingError),  # not a customer
        ("support", "unknown", NotFound),
    ],
)
def test_refusals_change_nothing(w, who, target, error):
    customer = {
        "stranger": w.stranger,
        "customer": w.customers[0],
        "coach": w.coach.user_id,
        "unknown": uuid.uuid4(),
    }[target]
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    with pytest.raises(error) as caught:
        _book(getattr(w, who), w.session, customer)
    assert caught.value.message and caught.value.status in (400, 403, 404)
    assert _state(w.session) == {}
    assert _events(events.SESSION_BOOKED) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == before


def test_closed_and_unknown_sessions_are_refused(w):
    cid = w.customers[0]
    for bad_id in (0, 10**12, "1", w.session + 100):
        with pytest.raises(NotFound):
            _book(w.support, bad_id, cid)
    with pytest.raises(SchedulingError, match="already started"):
        _book(w.support, w.session, cid, START + dt.timedelta(minutes=1))
    done = make_session(w.coach.user_id, START + dt.timedelta(days=1), status=SessionStatus.COMPLETED)
    off = make_session(w.coach.user_id, START + dt.timedelta(days=2), status=SessionStatus.CANCELLED)
    with pytest.raises(SchedulingError, match="completed"):
        _book(w.support, done, cid)
    with pytest.raises(SchedulingError, match="cancelled"):
        _book(w.support, off, cid)
    with pytest.raises(NotFound, match="no booking"):
        _cancel(w.support, w.session, cid)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SessionParticipant)) == 0


def test_cancelling_a_session_cancels_its_roster_and_clears_the_queue(w):
    c = w.customers
    for cid in c[:3]:
        _book(w.coach, w.session, cid)
    with pytest.raises(NotFound), committed():
        booking.cancel_session(db.session, w.other, w.session, now=NOW)
    with committed():
        cancelled = booking.cancel_session(db.session, w.coach, w.session, now=NOW)
    assert cancelled.status == SessionStatus.CANCELLED
    state = _state(w.session)
    assert state == {c[0]: ("PRIMARY", "CANCELLED"), c[1]: ("PRIMARY", "CANCELLED")}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 0
    told = _events(events.SESSION_CANCELLED)
    assert sorted(str(e.customer_id) for e in told) == sorted(["None", *map(str, c[:3])])
    assert all(e.payload["session_id"] == w.session for e in told)
    with pytest.raises(SchedulingError, match="cancelled"):
        _book(w.support, w.session, c[4])
    with pytest.raises(SchedulingError), committed():
        booking.cancel_session(db.session, w.coach, w.session, now=NOW)
    assert invariant_problems() == []


def test_attendance_and_feedback(w):
    c = w.customers
    for cid in c[:3]:
        _book(w.coach, w.session, cid)
    with pytest.raises(SchedulingError, match="started"), committed():
        booking.mark_attendance(db.session, w.coach, w.session, c[:2], AttendanceStatus.ATTENDED, now=NOW)
    after = START + dt.timedelta(minutes=5)
    with pytest.raises(NotFound), committed():  # c2 waits: not booked; nothing is marked
        booking.mark_attendance(db.session, w.coach, w.session, c[:3], AttendanceStatus.ATTENDED, now=after)
    with pytest.raises(SchedulingError), committed():
        booking.mark_attendance(db.session, w.coach, w.session, c[:1], AttendanceStatus.CANCELLED, now=after)
    assert _state(w.session)[c[0]] == ("PRIMARY", "REGISTERED")
    with committed():
        n = booking.mark_attendance(db.session, w.coach, w.session, c[:2], AttendanceStatus.ATTENDED, now=after)
        m = booking.mark_attendance(db.session, w.support, w.session, c[1:2], AttendanceStatus.NO_SHOW, now=after)
    assert (n, m) == (2, 1)
    assert _state(w.session)[c[1]] == ("PRIMARY", "NO_SHOW")
    assert [e.customer_id for e in _events(events.SESSION_NO_SHOW)] == [c[1]]

    with committed():
        row = booking.set_feedback(db.session, w.coach, w.session, c[0], 5)
    assert row.feedback_score == 5
    for bad in (0, 6, True, "4"):
        with pytest.raises(SchedulingError), committed():
            booking.set_feedback(db.session, w.coach, w.session, c[0], bad)
    with pytest.raises(NotFound), committed():
        booking.set_feedback(db.session, w.coach, w.session, c[2], 4)
    with pytest.raises(Forbidden), committed():
        booking.set_feedback(db.session, w.manager, w.session, c[0], 4)
    db.session.expire_all()
    score = sa.select(SessionParticipant.feedback_score).where(SessionParticipant.customer_id == c[0])
    assert db.session.scalar(score) == 5


def test_rules_come_from_config():
    rules = booking.BookingRules.from_config({"BOOKING_PROMOTION_CUTOFF_MINUTES": 30})
    assert rules.promotion_cutoff == dt.timedelta(minutes=30)
    assert rules.late_cancel_window == dt.timedelta(hours=12)
    with pytest.raises(ValueError):
        booking.BookingRules.from_config({"BOOKING_LATE_CANCEL_HOURS": -1})
