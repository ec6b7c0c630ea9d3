"""Real sign-in sessions: one ``auth_sessions`` row per sign-in, checked on every request.

Ending a row (the person, an Admin, logout, a password change) signs that browser out on its
next request; idle and absolute expiry are the row's too. Times are moved in the database,
never waited for.
"""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app.extensions import db
from app.models import AuditLog
from app.models.identity import AuthSession, ConsoleUser, PlatformUser
from app.services.signin import auth_sessions
from app.web.security.session_views import describe_user_agent
from tests.support.web import csrf_token, login

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile Safari/604.1"


def browser(app: Flask, user_agent: str = FIREFOX, ip: str = "203.0.113.7") -> FlaskClient:
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": ip})
    return client


def sign_in(app: Flask, username: str, **kwargs: str) -> FlaskClient:
    client = browser(app, **kwargs)
    login(client, username, f"{username}-Passw0rd!")
    return client


def rows(app: Flask) -> list[AuthSession]:
    with app.app_context():
        db.session.remove()
        found = list(db.session.scalars(select(AuthSession).order_by(AuthSession.id)))
        for row in found:
            db.session.expunge(row)
        return found


def signed_out(client: FlaskClient) -> bool:
    resp = client.get("/account/sessions/")
    return resp.status_code == 302 and "/login/" in resp.headers["Location"]


def move(app: Flask, session_id: int, **values: dt.datetime) -> None:
    with app.app_context():
        db.session.execute(update(AuthSession).where(AuthSession.id == session_id).values(**values))
        db.session.commit()


def test_a_sign_in_creates_its_row(app: Flask, accounts: dict) -> None:
    sign_in(app, "support")
    (row,) = rows(app)
    with app.app_context():
        account = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == "support"))
        assert row.console_user_id == account.id and row.user_id == account.platform_user_id
    assert row.expires_at - row.issued_at == dt.timedelta(hours=12)
    assert row.ip_address == "203.0.113.7" and row.user_agent == FIREFOX
    assert row.device_fingerprint == auth_sessions.device_fingerprint(FIREFOX, "203.0.113.99")  # same /24
    assert row.device_fingerprint != auth_sessions.device_fingerprint(FIREFOX, "203.0.114.7")
    assert row.revoked_at is None and not row.mfa_verified  # Support: no second factor asked


def test_the_mfa_check_is_marked_on_the_row(app: Flask, accounts: dict) -> None:
    sign_in(app, "admin")
    (row,) = rows(app)
    assert row.mfa_verified and row.mfa_verified_at is not None


def test_sessions_page_lists_own_sessions_in_plain_words(app: Flask, accounts: dict) -> None:
    phone = sign_in(app, "support", user_agent=SAFARI, ip="198.51.100.4")
    desk = sign_in(app, "support")
    sign_in(app, "coach")
    page = desk.get("/account/sessions/").get_data(as_text=True)
    assert page.count("data-session=") == 2
    assert "Firefox on Windows" in page and "Safari on iOS" in page and "198.51.100.4" in page
    assert page.count("This session") == 1
    assert phone.get("/account/sessions/").status_code == 200


def test_ending_a_session_signs_that_browser_out_at_once(app: Flask, accounts: dict) -> None:
    other = sign_in(app, "support", user_agent=SAFARI)
    me = sign_in(app, "support")
    other_id = rows(app)[0].id
    assert not signed_out(other)
    resp = me.post(f"/account/sessions/{other_id}/end", data={"csrf_token": csrf_token(me, "/account/sessions/")})
    assert resp.status_code == 302
    assert signed_out(other)
    assert not signed_out(me)
    assert rows(app)[0].revoked_reason == "ended_by_user"


def test_end_all_other_sessions_keeps_this_one(app: Flask, accounts: dict) -> None:
    others = [sign_in(app, "coach") for _ in range(2)]
    me = sign_in(app, "coach")
    me.post("/account/sessions/end-others", data={"csrf_token": csrf_token(me, "/account/sessions/")})
    assert all(signed_out(c) for c in others)
    assert not signed_out(me)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).where(AuditLog.action == "auth.session_ended")) == 1


def test_one_cannot_end_another_accounts_session_from_ones_own_page(app: Flask, accounts: dict) -> None:
    victim = sign_in(app, "coach")
    attacker = sign_in(app, "support")
    victim_id = rows(app)[0].id
    token = csrf_token(attacker, "/account/sessions/")
    assert attacker.post(f"/account/sessions/{victim_id}/end", data={"csrf_token": token}).status_code == 404
    assert attacker.post("/account/sessions/99999999999999999999/end", data={"csrf_token": token}).status_code == 404
    assert not signed_out(victim)


def test_ending_needs_csrf(app: Flask, accounts: dict) -> None:
    other = sign_in(app, "coach")
    me = sign_in(app, "coach")
    assert me.post(f"/account/sessions/{rows(app)[0].id}/end").status_code == 400
    assert me.post("/account/sessions/end-others").status_code == 400
    assert not signed_out(other)


def test_admin_ends_another_accounts_sessions(app: Flask, accounts: dict) -> None:
    coach = sign_in(app, "coach")
    admin = sign_in(app, "admin")
    coach_row = rows(app)[0]
    token = csrf_token(admin, "/auth-sessions/list/")
    resp = admin.post(
        "/auth-sessions/action_post", data={"action": "end_sessions", "rowid": [str(coach_row.id)], "csrf_token": token}
    )
    assert resp.status_code == 302
    assert signed_out(coach)
    assert rows(app)[0].revoked_reason == "ended_by_admin"
    assert admin.get(f"/auth-sessions/show/{coach_row.id}").status_code == 200
    assert admin.get("/auth-sessions/add").status_code == 404  # rows come from signing in only
    assert admin.get(f"/auth-sessions/edit/{coach_row.id}").status_code == 404


def test_support_may_read_but_not_end_sessions(app: Flask, accounts: dict) -> None:
    coach = sign_in(app, "coach")
    support = sign_in(app, "support")
    token = csrf_token(support, "/auth-sessions/list/")
    resp = support.post(
        "/auth-sessions/action_post",
        data={"action": "end_sessions", "rowid": [str(rows(app)[0].id)], "csrf_token": token},
    )
    assert resp.status_code == 403
    assert not signed_out(coach)


def test_idle_and_absolute_expiry_are_the_rows(app: Flask, accounts: dict) -> None:
    idle = sign_in(app, "coach")
    old = sign_in(app, "coach")
    idle_row, old_row = rows(app)
    now = dt.datetime.now(dt.UTC)
    move(app, idle_row.id, last_seen_at=now - dt.timedelta(minutes=31))
    move(
        app,
        old_row.id,
        issued_at=now - dt.timedelta(hours=13),
        expires_at=now - dt.timedelta(hours=1),
        last_seen_at=now,
    )
    assert signed_out(idle)
    assert signed_out(old)


def test_last_seen_is_written_at_most_once_a_minute(app: Flask, accounts: dict) -> None:
    client = sign_in(app, "coach")
    (row,) = rows(app)
    seen = row.last_seen_at
    client.get("/account/sessions/")
    assert rows(app)[0].last_seen_at == seen
    move(app, row.id, last_seen_at=seen - dt.timedelta(minutes=2))
    client.get("/account/sessions/")
    assert rows(app)[0].last_seen_at > seen - dt.timedelta(minutes=2)


def test_logout_ends_the_row_and_a_copied_cookie_with_it(app: Flask, accounts: dict) -> None:
    me = sign_in(app, "coach")
    elsewhere = sign_in(app, "coach")
    copy = app.test_client()
    cookie = me.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    copy.set_cookie(cookie.key, cookie.value)
    assert not signed_out(copy)
    me.post("/logout/", data={"csrf_token": csrf_token(me, "/logout/")})
    assert signed_out(copy)
    assert not signed_out(elsewhere)  # other devices stay signed in
    assert rows(app)[0].revoked_reason == "logout"


def test_password_change_ends_the_other_rows(app: Flask, accounts: dict) -> None:
    other = sign_in(app, "coach")
    me = sign_in(app, "coach")
    new = "harbour lantern meadow"
    data = {"current_password": "coach-Passw0rd!", "password": new, "conf_password": new}
    resp = me.post("/resetmypassword/form", data={**data, "csrf_token": csrf_token(me, "/resetmypassword/form")})
    assert resp.status_code == 302
    assert signed_out(other)
    assert not signed_out(me)
    first, second = rows(app)
    assert first.revoked_reason == "password_changed" and second.revoked_at is None


def test_a_cookie_without_a_session_row_is_signed_out(app: Flask, accounts: dict) -> None:
    client = sign_in(app, "coach")
    with client.session_transaction() as sess:
        sess["_cd_sid"] = 10**30
    assert signed_out(client)


def test_an_account_without_a_platform_user_is_not_linked_by_signing_in(app: Flask, accounts: dict) -> None:
    """The row names a person with the account's email; the account stays unlinked (row scope: nothing)."""
    with app.app_context():
        sm = app.appbuilder.sm
        sm.add_user("loner", "Lo", "Ner", "loner@coachdesk.test", sm.find_role("Support"), password="loner-Passw0rd!")
    client = sign_in(app, "loner")
    assert not signed_out(client)
    (row,) = rows(app)
    with app.app_context():
        account = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == "loner"))
        assert account.platform_user_id is None
        person = db.session.get(PlatformUser, row.user_id)
        assert person.email == "loner@coachdesk.test" and person.roles == []


@pytest.mark.parametrize(
    ("ip", "network"),
    [
        ("203.0.113.7", "203.0.113.0/24"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
        ("not an address", "unknown"),
        (None, "unknown"),
    ],
)
def test_the_fingerprint_uses_the_network(ip: str | None, network: str) -> None:
    assert auth_sessions.network_of(ip) == network


def test_user_agents_in_plain_words(sqlite_app: Flask) -> None:
    with sqlite_app.test_request_context():
        assert describe_user_agent(FIREFOX) == "Firefox on Windows"
        assert describe_user_agent(SAFARI) == "Safari on iOS"
        assert describe_user_agent("") == "Unknown browser"
