"""API resources over their services: the booking engine's rules and refusals, plan-item progress, the docs page."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from app.extensions import db
from app.models.events import DomainEvent
from app.models.scheduling import ScheduledSession
from tests.support.api_support import bearer, make_api_world
from tests.support.booking_support import invariant_problems, make_session

BASE = "/api/v1"


@pytest.fixture
def world(app):
    with app.app_context():
        return make_api_world()


def test_booking_through_the_engine_fills_seats_then_the_waitlist_and_promotes(app, world) -> None:
    c = app.test_client()
    partner, coach = bearer(world.keys["partner"]), bearer(world.keys["coach_a"])
    session = world.sessions["a"]  # capacity 2, a1 holds a seat
    resp = c.post(f"{BASE}/bookings", json={"session_id": session, "customer_id": str(world.a2)}, headers=coach)
    assert resp.status_code == 201 and resp.get_json()["role"] == "PRIMARY"
    resp = c.post(f"{BASE}/bookings", json={"session_id": session, "customer_id": str(world.b1)}, headers=partner)
    assert resp.status_code == 201
    assert resp.get_json()["outcome"] == "waitlisted" and resp.get_json()["role"] == "WAITLIST"
    again = c.post(f"{BASE}/bookings", json={"session_id": session, "customer_id": str(world.b1)}, headers=partner)
    assert again.status_code == 200 and again.get_json()["outcome"] == "already_waitlisted"
    timetable = c.get(f"{BASE}/sessions/{session}", headers=partner).get_json()
    assert (timetable["seats_held"], timetable["waiting"]) == (2, 1)
    resp = c.delete(f"{BASE}/bookings/{world.bookings['a1']}", headers=partner)
    assert resp.get_json() == {"outcome": "cancelled", "promoted": 1}
    assert c.delete(f"{BASE}/bookings/{world.bookings['a1']}", headers=partner).status_code == 409
    with app.app_context():
        assert invariant_problems() == []


def test_booking_refusals_keep_their_codes(app, world) -> None:
    c = app.test_client()
    partner = bearer(world.keys["partner"])
    with app.app_context():
        started = make_session(world.coach_a, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
        start = db.session.get(ScheduledSession, world.sessions["b"]).start_time
        overlapping = make_session(world.coach_a, start + dt.timedelta(minutes=15))
    resp = c.post(f"{BASE}/bookings", json={"session_id": started, "customer_id": str(world.a2)}, headers=partner)
    assert resp.status_code == 409 and resp.get_json()["type"].endswith("/invalid")
    # b1 holds a seat in session b; another session overlapping it is refused for b1.
    resp = c.post(f"{BASE}/bookings", json={"session_id": overlapping, "customer_id": str(world.b1)}, headers=partner)
    assert resp.status_code == 422 and "customer" in resp.get_json()["errors"]
    resp = c.post(f"{BASE}/bookings", json={"session_id": 2**40, "customer_id": str(world.a2)}, headers=partner)
    assert resp.status_code == 422 and "session_id" in resp.get_json()["errors"]
    resp = c.post(f"{BASE}/bookings", json={"session_id": 999_999, "customer_id": str(world.a2)}, headers=partner)
    assert resp.status_code == 404
    resp = c.post(f"{BASE}/bookings", json={"session_id": world.sessions["a"]}, headers=partner)
    assert resp.status_code == 422 and "customer_id" in resp.get_json()["errors"]


def test_plan_item_progress_follows_the_state_rules(app, world) -> None:
    c = app.test_client()
    key = bearer(world.keys["a1"])
    first, second, _third = world.items["a1"]
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat()
    resp = c.post(f"{BASE}/plan-items/{first}/complete", json={"completed_at": future}, headers=key)
    assert resp.status_code == 422 and "completed_at" in resp.get_json()["errors"]
    resp = c.post(f"{BASE}/plan-items/{first}/complete", json={"partial": True}, headers=key)
    assert resp.status_code == 200 and resp.get_json()["completion_state"] == "PARTIAL"
    resp = c.post(f"{BASE}/plan-items/{first}/complete", json={}, headers=key)
    assert resp.get_json()["completion_state"] == "COMPLETED"
    assert c.post(f"{BASE}/plan-items/{first}/skip", headers=key).status_code == 409
    assert c.post(f"{BASE}/plan-items/{second}/skip", headers=key).get_json()["completion_state"] == "SKIPPED"
    assert c.post(f"{BASE}/plan-items/{second}/complete", json={}, headers=key).status_code == 409
    with app.app_context():
        events = db.session.query(DomainEvent).filter(DomainEvent.event_type == "plan.item_completed").all()
        assert [e.payload["plan_item_id"] for e in events] == [first]
    url = f"{BASE}/plan-items/{first}/feedback"
    assert c.put(url, json={"text": "ok"}, headers=key).status_code == 428
    assert c.put(url, json={"text": "ok"}, headers=bearer(world.keys["a1"], **{"If-Match": '"old"'})).status_code == 412
    etag = c.get(f"{BASE}/plan-items/{first}", headers=key).headers["ETag"]
    resp = c.put(url, json={"text": "felt strong"}, headers=bearer(world.keys["a1"], **{"If-Match": etag}))
    assert resp.status_code == 200 and resp.get_json()["feedback_text"] == "felt strong"
    assert resp.headers["ETag"] != etag


def test_swagger_ui_is_served_from_local_files_under_the_csp(app) -> None:
    c = app.test_client()
    resp = c.get(f"{BASE}/docs")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    csp = resp.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/static/' in attrs and not body.strip() for attrs, body in scripts)
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert c.get(asset).status_code == 200, asset
    assert 'data-spec-url="/api/v1/openapi.json"' in html
