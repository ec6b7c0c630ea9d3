"""The console's roster views go through the booking engine: the generic forms cannot break its rules."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from app.extensions import db
from app.models.base import utcnow
from app.models.compliance import AuditLog
from app.models.identity import ConsoleUser, RoleCode
from app.models.scheduling import CoachAvailability, SessionParticipant, WaitlistEntry
from tests.support.booking_support import invariant_problems, make_session
from tests.support.plan_support import make_customer, make_user
from tests.support.web import csrf_token, login


def _roster(session_id):
    rows = db.session.scalars(
        sa.select(SessionParticipant).where(SessionParticipant.session_id == session_id).order_by(SessionParticipant.id)
    )
    return [(p.customer_id, p.role.value, p.attendance_status.value) for p in rows]


def _add(client, session_id, customer_id):
    token = csrf_token(client, "/session-participants/add")
    data = {"session": str(session_id), "customer": str(customer_id), "csrf_token": token}
    return client.post("/session-participants/add", data=data, follow_redirects=True)


def test_a_second_booking_on_a_capacity_one_session_joins_the_waitlist(app, accounts):
    with app.app_context():
        coach = make_user("Coach Ada", RoleCode.COACH)
        db.session.commit()
        a, b = make_customer("Ann", coach_id=coach.id), make_customer("Ben", coach_id=coach.id)
        session_id = make_session(coach.id, utcnow() + dt.timedelta(days=3), capacity=1)
    client = app.test_client()
    login(client, "support", "support-Passw0rd!")
    assert "Booked." in _add(client, session_id, a).get_data(as_text=True)
    page = _add(client, session_id, b).get_data(as_text=True)
    assert "joined the waitlist" in page
    with app.app_context():
        assert _roster(session_id) == [(a, "PRIMARY", "REGISTERED"), (b, "WAITLIST", "REGISTERED")]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 1
        first = db.session.scalar(sa.select(SessionParticipant.id).where(SessionParticipant.customer_id == a))
        audited = db.session.scalar(
            sa.select(sa.func.count()).where(AuditLog.resource_type == "session_participants")
        )  # fmt: skip
        assert audited >= 2

    # Deleting the seat cancels it and promotes the waiting customer.
    token = csrf_token(client, f"/session-participants/show/{first}")
    gone = client.post(f"/session-participants/delete/{first}", data={"csrf_token": token}, follow_redirects=True)
    assert "Booking cancelled." in gone.get_data(as_text=True)
    with app.app_context():
        assert _roster(session_id) == [(a, "PRIMARY", "CANCELLED"), (b, "PRIMARY", "REGISTERED")]
        assert invariant_problems() == []

    # Editing sets feedback through the engine; a bad choice changes nothing.
    with app.app_context():
        second = db.session.scalar(sa.select(SessionParticipant.id).where(SessionParticipant.customer_id == b))
    url = f"/session-participants/edit/{second}"
    token = csrf_token(client, url)
    form = client.get(url).get_data(as_text=True)
    assert 'name="attendance_status"' in form and 'name="session"' not in form
    early = client.post(
        url, data={"attendance_status": "ATTENDED", "feedback_score": "", "csrf_token": token}, follow_redirects=True
    )
    assert "once the session has started" in early.get_data(as_text=True)
    ok = client.post(url, data={"attendance_status": "REGISTERED", "feedback_score": "4", "csrf_token": token})
    assert ok.status_code == 302
    with app.app_context():
        row = db.session.get(SessionParticipant, second)
        assert (row.attendance_status.value, row.feedback_score) == ("REGISTERED", 4)


def test_a_coach_cannot_book_a_customer_who_is_not_theirs(app, accounts):
    with app.app_context():
        coach_id = db.session.scalar(sa.select(ConsoleUser.platform_user_id).where(ConsoleUser.username == "coach"))
        other = make_user("Coach Bo", RoleCode.COACH)
        db.session.commit()
        stranger = make_customer("Stranger", coach_id=other.id)
        session_id = make_session(coach_id, utcnow() + dt.timedelta(days=3), capacity=4)
    client = app.test_client()
    login(client, "coach", "coach-Passw0rd!")
    page = _add(client, session_id, stranger)
    assert page.status_code == 200
    with app.app_context():
        assert _roster(session_id) == []


def test_the_waitlist_is_read_only_and_availability_shows_weekday_names(app, accounts):
    with app.app_context():
        coach = make_user("Coach Ada", RoleCode.COACH)
        db.session.commit()
        db.session.add(CoachAvailability(coach_id=coach.id, day_of_week=2, start_time=dt.time(9), end_time=dt.time(12)))
        db.session.commit()
        slot = db.session.scalar(sa.select(CoachAvailability.id))
    client = app.test_client()
    login(client, "admin", "admin-Passw0rd!")
    assert client.get("/waitlist-entries/add").status_code == 404
    assert client.get("/waitlist-entries/list/").status_code == 200
    listing = client.get("/coach-availability/list/").get_data(as_text=True)
    assert "Wednesday" in listing and "Day (0 = Monday)" not in listing
    assert "Wednesday" in client.get(f"/coach-availability/show/{slot}").get_data(as_text=True)
    form = client.get(f"/coach-availability/edit/{slot}").get_data(as_text=True)
    assert '<option selected value="2">Wednesday</option>' in form or 'value="2" selected' in form
    client.post("/lang/de", data={"csrf_token": csrf_token(client, "/coach-availability/list/")})
    assert "Mittwoch" in client.get("/coach-availability/list/").get_data(as_text=True)
