"""UUID primary keys (users, customer profiles) work on every console route, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from flask import Flask

from app.extensions import db
from app.models.customers import CustomerProfile
from app.models.identity import PlatformUser, UserStatus
from tests.support.web import login, session_csrf
from tests.support.world import db_dialect, make_world, pk_of


def _admin(app: Flask):
    client = app.test_client()
    login(client, "admin", "admin-Passw0rd!")
    return client, session_csrf(app, client)


def test_uuid_rows_show_edit_act_and_export(app: Flask, accounts: dict) -> None:
    with app.app_context():
        ids = {m: pk_of(o) for m, o in make_world("coach@coachdesk.test", tag="u").items()}
    client, token = _admin(app)
    user_id = ids[PlatformUser]
    uuid.UUID(user_id)
    page = client.get(f"/platform-users/show/{user_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "customer-u@example.test" in text
    # related tabs reach the profile (whose own key is the same UUID) and the plans
    profile_page = follow(client, text, f"/customer-profiles/show/{user_id}")
    assert "Europe/Madrid" in profile_page  # the profile the link names, opened
    assert "Strength u" in text
    assert client.get(f"/platform-users/edit/{user_id}").status_code == 200
    resp = client.post(
        f"/platform-users/edit/{user_id}",
        data={"csrf_token": token, "full_name": "Renamed U", "email": "customer-u@example.test", "locale": "en",
              "status": "ACTIVE"},
    )  # fmt: skip
    assert resp.status_code == 302
    resp = client.post(
        f"/customer-profiles/edit/{user_id}",
        data={"csrf_token": token, "timezone": "Europe/Berlin", "goals_json": '{"primary": "ENDURANCE"}'},
    )
    assert resp.status_code == 302
    resp = client.post("/platform-users/action_post", data={"csrf_token": token, "action": "suspend", "rowid": user_id})
    assert resp.status_code == 302
    with app.app_context():
        user = db.session.get(PlatformUser, uuid.UUID(user_id))
        assert user.full_name == "Renamed U" and user.status == UserStatus.SUSPENDED
        profile = db.session.get(CustomerProfile, uuid.UUID(user_id))
        assert profile.timezone == "Europe/Berlin" and profile.goals_json == {"primary": "ENDURANCE"}
    # single action route with a UUID
    with app.app_context():
        db.session.get(PlatformUser, uuid.UUID(user_id)).status = UserStatus.ACTIVE
        db.session.commit()
    assert client.post(f"/platform-users/action/suspend/{user_id}", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert db.session.get(PlatformUser, uuid.UUID(user_id)).status == UserStatus.SUSPENDED
    # autocomplete answers UUID ids, and a UUID relation filter narrows the list
    found = client.get("/customer-profiles/autocomplete/user?q=Renamed").get_json()["results"]
    assert [r["id"] for r in found] == [user_id]
    listing = client.get(f"/customer-profiles/list/?f_user={user_id}").get_data(as_text=True)
    assert "Europe/Berlin" in follow(client, listing, f"/customer-profiles/show/{user_id}")
    export = client.get(f"/subscriptions/export/?f_customer={user_id}")
    assert export.status_code == 200 and "Renamed U" in export.get_data(as_text=True)


def follow(client, page: str, href: str) -> str:
    """Follow the link to ``href`` that ``page`` holds, and return the page it opens (200)."""
    assert f'href="{href}' in page, href
    resp = client.get(href)
    assert resp.status_code == 200, href
    return resp.get_data(as_text=True)


def test_uuid_rows_can_be_deleted_and_restrict_is_a_message(app: Flask, accounts: dict) -> None:
    with app.app_context():
        ids = {m: pk_of(o) for m, o in make_world("coach@coachdesk.test", tag="d").items()}
        spare = PlatformUser(email="spare@example.test", full_name="Spare", locale="en")
        db.session.add(spare)
        db.session.commit()
        spare_id = str(spare.id)
    client, token = _admin(app)
    assert client.post(f"/platform-users/delete/{spare_id}", data={"csrf_token": token}).status_code == 302
    if db_dialect(app) == "postgresql":  # SQLite runs without PRAGMA foreign_keys (see the report)
        # the world's customer is an audit actor (ON DELETE RESTRICT): refused with a message, nothing deleted
        resp = client.post(
            f"/platform-users/delete/{ids[PlatformUser]}", data={"csrf_token": token}, follow_redirects=True
        )
        assert resp.status_code == 200 and "Not deleted" in resp.get_data(as_text=True)
    profile_id = ids[CustomerProfile]
    assert client.post(f"/customer-profiles/delete/{profile_id}", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert db.session.get(PlatformUser, uuid.UUID(spare_id)) is None
        assert db.session.get(PlatformUser, uuid.UUID(ids[PlatformUser])) is not None
        assert db.session.get(CustomerProfile, uuid.UUID(profile_id)) is None
