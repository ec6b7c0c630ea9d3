"""Row scope on every API resource: a coach's client and a customer app see and change only their rows.

Coach A has customers a1 and a2; coach B has b1. ``coach_a`` is a client acting for coach A, ``a1`` a
customer app acting for customer a1. Rows outside a client's subject are absent from lists and
filters and are "not found" (404, never 403) by id and for every write.
"""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models.identity import PlatformUser
from app.models.scheduling import SessionParticipant
from app.models.training import CompletionState, PlanItem
from tests.support.api_support import bearer, make_api_world

BASE = "/api/v1"


@pytest.fixture
def world(app):
    with app.app_context():
        return make_api_world()


def ids(client, key: str, path: str) -> set[str]:
    resp = client.get(f"{BASE}{path}", headers=bearer(key))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return {str(row["id"]) for row in resp.get_json()["data"]}


def test_customers_are_scoped(app, world) -> None:
    c = app.test_client()
    coach, app_key, partner = world.keys["coach_a"], world.keys["a1"], world.keys["partner"]
    assert ids(c, partner, "/customers") >= {str(world.a1), str(world.a2), str(world.b1)}
    assert ids(c, coach, "/customers") == {str(world.a1), str(world.a2)}
    assert ids(c, app_key, "/customers") == {str(world.a1)}
    with app.app_context():
        b1_email = db.session.get(PlatformUser, world.b1).email
    assert ids(c, coach, f"/customers?email={b1_email}") == set()
    assert ids(c, app_key, f"/customers?email={b1_email}") == set()
    for key, foreign in ((coach, world.b1), (app_key, world.a2)):
        assert c.get(f"{BASE}/customers/{foreign}", headers=bearer(key)).status_code == 404
    # The customer app changes its own profile, and nobody else's (unknown and foreign look alike).
    own = c.get(f"{BASE}/customers/{world.a1}", headers=bearer(app_key))
    resp = c.patch(
        f"{BASE}/customers/{world.a1}",
        json={"phone": "+1 555"},
        headers=bearer(app_key, **{"If-Match": own.headers["ETag"]}),
    )
    assert resp.status_code == 200 and resp.get_json()["phone"] == "+1 555"
    resp = c.patch(f"{BASE}/customers/{world.a2}", json={"phone": "x"}, headers=bearer(app_key, **{"If-Match": "*"}))
    assert resp.status_code == 404
    with app.app_context():
        assert db.session.get(PlatformUser, world.a2).phone is None


def test_plans_are_scoped(app, world) -> None:
    c = app.test_client()
    coach, app_key = world.keys["coach_a"], world.keys["a1"]
    assert ids(c, coach, "/plans") == {str(world.plans["a1"]), str(world.plans["a2"])}
    assert ids(c, app_key, "/plans") == {str(world.plans["a1"])}
    assert ids(c, coach, f"/plans?customer_id={world.b1}") == set()
    assert ids(c, app_key, f"/plans?customer_id={world.a2}") == set()
    assert c.get(f"{BASE}/plans/{world.plans['b1']}", headers=bearer(coach)).status_code == 404
    assert c.get(f"{BASE}/plans/{world.plans['a2']}", headers=bearer(app_key)).status_code == 404
    assert c.get(f"{BASE}/plans/{world.plans['a1']}", headers=bearer(app_key)).status_code == 200


def test_plan_items_are_scoped_for_reads_and_writes(app, world) -> None:
    c = app.test_client()
    coach, app_key = world.keys["coach_a"], world.keys["a1"]
    assert ids(c, coach, "/plan-items") == {str(i) for i in world.items["a1"] + world.items["a2"]}
    assert ids(c, app_key, "/plan-items") == {str(i) for i in world.items["a1"]}
    assert ids(c, app_key, f"/plan-items?plan_id={world.plans['a2']}") == set()
    foreign = {coach: world.items["b1"][0], app_key: world.items["a2"][0]}
    for key, item in foreign.items():
        assert c.get(f"{BASE}/plan-items/{item}", headers=bearer(key)).status_code == 404
        assert c.post(f"{BASE}/plan-items/{item}/complete", json={}, headers=bearer(key)).status_code == 404
        assert c.post(f"{BASE}/plan-items/{item}/skip", headers=bearer(key)).status_code == 404
        resp = c.put(f"{BASE}/plan-items/{item}/feedback", json={"text": "x"}, headers=bearer(key, **{"If-Match": "*"}))
        assert resp.status_code == 404
    with app.app_context():
        states = {db.session.get(PlanItem, i).completion_state for i in foreign.values()}
        assert states == {CompletionState.PENDING}
    own = world.items["a1"][0]
    resp = c.post(f"{BASE}/plan-items/{own}/complete", json={"feedback": "done"}, headers=bearer(app_key))
    assert resp.status_code == 200 and resp.get_json()["completion_state"] == "COMPLETED"
    resp = c.post(f"{BASE}/plan-items/{world.items['a2'][1]}/skip", headers=bearer(coach))
    assert resp.status_code == 200 and resp.get_json()["completion_state"] == "SKIPPED"


def test_sessions_are_scoped(app, world) -> None:
    c = app.test_client()
    coach, app_key = world.keys["coach_a"], world.keys["a1"]
    assert ids(c, coach, "/sessions") == {str(world.sessions["a"])}
    # A customer app sees its coach's timetable (and any session it is booked in), not the rest.
    assert ids(c, app_key, "/sessions") == {str(world.sessions["a"])}
    assert ids(c, app_key, f"/sessions?coach_id={world.coach_b}") == set()
    for key in (coach, app_key):
        assert c.get(f"{BASE}/sessions/{world.sessions['b']}", headers=bearer(key)).status_code == 404
    assert c.get(f"{BASE}/sessions/{world.sessions['a']}", headers=bearer(app_key)).headers["ETag"] == '"v1"'


def test_bookings_are_scoped_for_reads_and_writes(app, world) -> None:
    c = app.test_client()
    coach, app_key = world.keys["coach_a"], world.keys["a1"]
    assert ids(c, coach, "/bookings") == {str(world.bookings["a1"])}
    assert ids(c, app_key, "/bookings") == {str(world.bookings["a1"])}
    assert ids(c, coach, f"/bookings?customer_id={world.b1}") == set()
    for key in (coach, app_key):
        assert c.get(f"{BASE}/bookings/{world.bookings['b1']}", headers=bearer(key)).status_code == 404
        assert c.delete(f"{BASE}/bookings/{world.bookings['b1']}", headers=bearer(key)).status_code == 404
    # Booking someone outside the subject: not found, nothing written.
    resp = c.post(
        f"{BASE}/bookings",
        json={"session_id": world.sessions["a"], "customer_id": str(world.b1)},
        headers=bearer(coach),
    )
    assert resp.status_code == 404
    resp = c.post(
        f"{BASE}/bookings",
        json={"session_id": world.sessions["a"], "customer_id": str(world.a2)},
        headers=bearer(app_key),
    )
    assert resp.status_code == 404
    resp = c.post(f"{BASE}/bookings", json={"session_id": world.sessions["b"]}, headers=bearer(app_key))
    assert resp.status_code == 404
    with app.app_context():
        assert db.session.query(SessionParticipant).count() == 2
    # Inside the subject it works: the coach books a2; the app cancels a1's own seat.
    resp = c.post(
        f"{BASE}/bookings",
        json={"session_id": world.sessions["a"], "customer_id": str(world.a2)},
        headers=bearer(coach),
    )
    assert resp.status_code == 201 and resp.get_json()["outcome"] == "booked"
    resp = c.delete(f"{BASE}/bookings/{world.bookings['a1']}", headers=bearer(app_key))
    assert resp.status_code == 200 and resp.get_json()["outcome"] == "cancelled"
    with app.app_context():
        assert db.session.get(SessionParticipant, world.bookings["b1"]).cancelled_at is None
