"""Two-step sign-in (TOTP): enrolment, codes used once, recovery codes, the gate, step-up, bad input.

Real apps on SQLite and PostgreSQL; codes computed with pyotp from the key the setup page
shows as text, as a person's authenticator app would.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app.extensions import db
from app.models import AuditLog
from app.models.compliance import DataRetentionPolicy, DeletionStrategy
from app.models.identity import AuthSession, ConsoleUser, MfaRecoveryCode
from app.services.signin import mfa
from tests.support.routes import classify_routes
from tests.support.web import (
    CSRF_RE,
    MFA_SECRETS,
    RECOVERY_CODES,
    SECRET_RE,
    csrf_token,
    enrol,
    fresh_code,
    login,
)

PASSWORD = "{}-Passw0rd!"


def password_only(client: FlaskClient, username: str) -> None:
    token = csrf_token(client)
    resp = client.post(
        "/login/", data={"username": username, "password": PASSWORD.format(username), "csrf_token": token}
    )
    assert resp.status_code == 302


def account(app: Flask, username: str) -> ConsoleUser:
    with app.app_context():
        db.session.remove()
        user = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == username))
        db.session.expunge(user)
        return user


def sign_out(client: FlaskClient) -> None:
    client.post("/logout/", data={"csrf_token": csrf_token(client, "/logout/")})


def post_code(client: FlaskClient, path: str, code: Any) -> Any:
    return client.post(path, data={"code": code, "csrf_token": csrf_token(client, path)})


def age_mfa_check(app: Flask, username: str, minutes: int) -> None:
    """Pretend this account's last second-factor check was ``minutes`` ago (no sleeping)."""
    with app.app_context():
        user_id = db.session.scalar(select(ConsoleUser.id).where(ConsoleUser.username == username))
        at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes)
        db.session.execute(update(AuthSession).where(AuthSession.console_user_id == user_id).values(mfa_verified_at=at))
        db.session.commit()


@pytest.fixture(autouse=True)
def _fresh_guard(request: pytest.FixtureRequest) -> None:
    """Wrong-code counters live in memory per app and account id; ids repeat between tests."""
    for name in ("sqlite_app", "pg_app"):
        if name in request.fixturenames:
            guard = request.getfixturevalue(name).extensions["coachdesk.mfa_guard"]
            guard.limiter.storage.reset()


def test_admin_enrols_on_first_sign_in_and_gets_ten_recovery_codes(app: Flask, accounts: dict) -> None:
    client = app.test_client()
    password_only(client, "admin")
    home = client.get("/")
    assert home.status_code == 302 and "/mfa/setup" in home.headers["Location"]
    page = client.get("/mfa/setup").get_data(as_text=True)
    secret = SECRET_RE.search(page).group(1)
    assert "<svg" in page and "otpauth" not in page.split("<svg", 1)[0][-200:]
    assert SECRET_RE.search(client.get("/mfa/setup").get_data(as_text=True)).group(1) == secret  # a reload keeps it
    wrong = post_code(client, "/mfa/setup", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    assert wrong.status_code == 400 and "not valid" in wrong.get_data(as_text=True)
    ok = post_code(client, "/mfa/setup", pyotp.TOTP(secret).now())
    assert ok.status_code == 200
    codes = ok.get_data(as_text=True).count('class="cd-recovery-code"')
    assert codes == 10
    assert client.get("/").status_code == 200
    user = account(app, "admin")
    assert user.mfa_enrolled_at is not None and secret not in user.mfa_secret
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(MfaRecoveryCode)) == 10
        hashes = db.session.scalars(select(MfaRecoveryCode.code_hash)).all()
        assert all(len(h) == 64 for h in hashes)
        actions = set(db.session.scalars(select(AuditLog.action)))
        assert {"auth.mfa_enrolled", "auth.mfa_failed"} <= actions
        row = db.session.scalar(select(AuthSession))
        assert row.mfa_verified and row.mfa_verified_at is not None


def test_a_code_is_accepted_once_and_the_next_sign_in_asks_for_it(app: Flask, accounts: dict) -> None:
    first = app.test_client()
    login(first, "admin", PASSWORD.format("admin"))
    secret = MFA_SECRETS[(id(app), "admin")]
    used = account(app, "admin").mfa_last_step
    second = app.test_client()
    password_only(second, "admin")
    assert "/mfa/verify" in second.get("/").headers["Location"]
    replay = post_code(second, "/mfa/verify", pyotp.TOTP(secret).at(used * 30))
    assert replay.status_code == 400 and "already used" in replay.get_data(as_text=True)
    assert second.get("/").status_code == 302
    good = post_code(second, "/mfa/verify", fresh_code(second, "admin", secret))
    assert good.status_code == 302
    assert second.get("/").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).where(AuditLog.action == "auth.mfa_succeeded")) == 1


def test_a_recovery_code_works_once(app: Flask, accounts: dict) -> None:
    login(app.test_client(), "compliance", PASSWORD.format("compliance"))
    code = RECOVERY_CODES[(id(app), "compliance")][0]
    client = app.test_client()
    password_only(client, "compliance")
    assert 'href="/mfa/recovery' in client.get("/mfa/verify").get_data(as_text=True)
    used = post_code(client, "/mfa/recovery?next=/account/sessions/", code.upper().replace("-", " "))
    assert used.status_code == 302 and used.headers["Location"].endswith("/account/sessions/")
    assert client.get("/").status_code == 200
    again = app.test_client()
    password_only(again, "compliance")
    refused = post_code(again, "/mfa/recovery", code)
    assert refused.status_code == 400 and "already used" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).where(MfaRecoveryCode.used_at.is_not(None))) == 1
        assert db.session.scalar(select(db.func.count()).where(AuditLog.action == "auth.mfa_recovery_code_used")) == 1


@pytest.mark.parametrize(
    "code",
    ["", "abc", "12345", "1234567", "１２３４５６", "12\x0034", "9" * 100_000, "' OR 1=1 --", "<script>", "-1"],
)
def test_garbage_codes_get_a_clear_400(sqlite_app: Flask, code: str) -> None:
    from tests.support.apps import make_accounts

    make_accounts(sqlite_app)
    client = sqlite_app.test_client()
    password_only(client, "admin")
    for path in ("/mfa/setup", "/mfa/setup"):
        resp = post_code(client, path, code)
        assert resp.status_code == 400, (path, resp.status_code)
    enrol(client, "admin")
    for path in ("/mfa/verify", "/mfa/recovery"):
        other = sqlite_app.test_client()
        password_only(other, "admin")
        resp = post_code(other, path, code)
        assert resp.status_code == 400, (path, resp.status_code)
        assert other.get("/").status_code == 302  # still waiting for the second factor


def test_wrong_codes_per_account_make_it_wait(sqlite_app: Flask) -> None:
    from tests.support.apps import make_accounts

    make_accounts(sqlite_app)
    login(sqlite_app.test_client(), "admin", PASSWORD.format("admin"))
    client = sqlite_app.test_client()
    password_only(client, "admin")
    for _ in range(5):
        assert post_code(client, "/mfa/verify", "000001").status_code == 400
    blocked = post_code(client, "/mfa/verify", "000002")
    assert blocked.status_code == 429 and blocked.headers.get("Retry-After")
    secret = MFA_SECRETS[(id(sqlite_app), "admin")]
    assert post_code(client, "/mfa/verify", fresh_code(client, "admin", secret)).status_code == 429


def test_every_console_route_waits_for_enrolment(sqlite_app: Flask) -> None:
    from tests.support.apps import make_accounts

    make_accounts(sqlite_app)
    client = sqlite_app.test_client()
    password_only(client, "admin")
    table, _undeclared = classify_routes(sqlite_app)
    checked = 0
    for rule, _view, _method, _permission, _resource, public in table:
        endpoint = rule.endpoint
        if endpoint.startswith("MfaView.") or endpoint in ("AuthDBView.logout", "SignOutView.logout"):
            continue
        if "GET" not in (rule.methods or ()) or rule.arguments or (public and endpoint != "HomeView.index"):
            continue
        resp = client.get(rule.rule)
        checked += 1
        where = f"GET {rule.rule} -> {resp.status_code} {resp.headers.get('Location')}"
        assert resp.status_code == 302 and "/mfa/setup" in resp.headers["Location"], where
    assert checked > 100
    as_json = client.get("/users/list/", headers={"Accept": "application/json"})
    assert as_json.status_code == 401 and as_json.is_json
    assert client.get("/logout/").status_code == 200
    assert client.get("/static/coachdesk/coachdesk.css").status_code in (200, 304)


def test_coach_may_enrol_and_turn_it_off_but_admin_may_not(app: Flask, accounts: dict) -> None:
    coach = app.test_client()
    login(coach, "coach", PASSWORD.format("coach"))  # no MFA asked
    assert "Set up two-step sign-in" in coach.get("/mfa/").get_data(as_text=True)
    enrol(coach, "coach")
    page = coach.get("/mfa/").get_data(as_text=True)
    assert "Turn off two-step sign-in" in page
    token = CSRF_RE.search(page).group(1)
    assert coach.post("/mfa/disable", data={"csrf_token": token}).status_code == 302
    assert account(app, "coach").mfa_secret is None
    admin = app.test_client()
    login(admin, "admin", PASSWORD.format("admin"))
    token = csrf_token(admin, "/mfa/")
    admin.post("/mfa/disable", data={"csrf_token": token})
    assert account(app, "admin").mfa_enrolled_at is not None


def test_new_recovery_codes_replace_the_old_ones(sqlite_app: Flask) -> None:
    from tests.support.apps import make_accounts

    make_accounts(sqlite_app)
    client = sqlite_app.test_client()
    login(client, "admin", PASSWORD.format("admin"))
    old = RECOVERY_CODES[(id(sqlite_app), "admin")]
    token = csrf_token(client, "/mfa/")
    assert client.post("/mfa/recovery-codes", data={"csrf_token": token, "code": "12"}).status_code == 400
    code = fresh_code(client, "admin", MFA_SECRETS[(id(sqlite_app), "admin")])
    resp = client.post("/mfa/recovery-codes", data={"csrf_token": token, "code": code})
    assert resp.status_code == 200 and resp.get_data(as_text=True).count('class="cd-recovery-code"') == 10
    other = sqlite_app.test_client()
    password_only(other, "admin")
    assert post_code(other, "/mfa/recovery", old[0]).status_code == 400


def test_mfa_posts_need_csrf(app: Flask, accounts: dict) -> None:
    client = app.test_client()
    password_only(client, "admin")
    for path in ("/mfa/setup", "/mfa/verify", "/mfa/recovery", "/mfa/disable", "/mfa/recovery-codes"):
        assert client.post(path, data={"code": "123456"}).status_code == 400, path
    assert account(app, "admin").mfa_enrolled_at is None


def test_next_must_be_a_local_path(sqlite_app: Flask) -> None:
    from tests.support.apps import make_accounts

    make_accounts(sqlite_app)
    login(sqlite_app.test_client(), "admin", PASSWORD.format("admin"))
    codes = RECOVERY_CODES[(id(sqlite_app), "admin")]
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", "/x\x00"):
        client = sqlite_app.test_client()
        password_only(client, "admin")
        token = csrf_token(client, "/mfa/recovery")
        resp = client.post(
            "/mfa/recovery", query_string={"next": target}, data={"code": codes.pop(), "csrf_token": token}
        )
        assert resp.status_code in (302, 400), target
        if resp.status_code == 302:
            assert resp.headers["Location"] in ("/", "http://localhost/"), resp.headers["Location"]


STEP_UP_GETS = ["/compliance/exports/{run}/download/data", "/compliance/subjects/{run}/download", "/users/edit/{admin}"]


def test_step_up_asks_again_after_fifteen_minutes(app: Flask, accounts: dict) -> None:
    client = app.test_client()
    login(client, "admin", PASSWORD.format("admin"))
    admin_id = account(app, "admin").id
    with app.app_context():
        policy = DataRetentionPolicy(
            entity="engagement_events", retention_period_days=365, deletion_strategy=DeletionStrategy.HARD_DELETE
        )
        db.session.add(policy)
        db.session.commit()
        policy_id = policy.id
    urls = [u.format(run=987654, admin=admin_id) for u in STEP_UP_GETS]
    fresh = [client.get(u).status_code for u in urls]
    assert all(code in (200, 404) for code in fresh), fresh
    age_mfa_check(app, "admin", 16)
    for url in urls:
        resp = client.get(url)
        assert resp.status_code == 302 and "/mfa/verify" in resp.headers["Location"], url
        assert "next=" in resp.headers["Location"]
    token = csrf_token(client, "/mfa/")
    posts = {
        "/compliance/subjects/": {"kind": "erase", "confirm": "y", "user": "someone@example.test"},
        f"/compliance/retention/policies/{policy_id}/run": {},
        "/roles/add": {"name": "Extra"},
    }
    for url, data in posts.items():
        resp = client.post(url, data={**data, "csrf_token": token}, headers={"Referer": "http://localhost/compliance/"})
        assert resp.status_code == 302 and "/mfa/verify" in resp.headers["Location"], url
    as_json = client.get(urls[0], headers={"Accept": "application/json"})
    assert as_json.status_code == 403 and as_json.get_json()["reason"] == "mfa_step_up_required"
    # Not sensitive: an export request (not an erasure) goes through without a fresh check.
    assert client.post("/compliance/subjects/", data={"kind": "nope", "csrf_token": token}).status_code == 400
    secret = MFA_SECRETS[(id(app), "admin")]
    back = client.post(
        "/mfa/verify",
        query_string={"next": urls[0]},
        data={"code": fresh_code(client, "admin", secret), "csrf_token": token},
    )
    assert back.status_code == 302 and back.headers["Location"].endswith(urls[0])
    assert client.get(urls[0]).status_code == 404  # through the step-up: no such run


def test_step_up_without_mfa_sends_to_enrolment(sqlite_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.apps import make_accounts

    make_accounts(sqlite_app)
    monkeypatch.setitem(sqlite_app.config, "MFA_REQUIRED_ROLES", [])
    client = sqlite_app.test_client()
    login(client, "compliance", PASSWORD.format("compliance"))
    resp = client.get("/compliance/exports/1/download/data")
    assert resp.status_code == 302 and "/mfa/setup" in resp.headers["Location"]


def test_secret_is_encrypted_with_a_key_from_secret_key() -> None:
    token = mfa.encrypt_secret("JBSWY3DPEHPK3PXP", "k" * 40)
    assert "JBSWY3DPEHPK3PXP" not in token
    assert mfa.decrypt_secret(token, "k" * 40) == "JBSWY3DPEHPK3PXP"
    with pytest.raises(mfa.MfaError):
        mfa.decrypt_secret(token, "other" * 10)


def test_window_and_replay_in_the_service() -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    now = 1_800_000_000.0
    step = int(now // 30)
    assert mfa._accepted_step(secret, totp.at(now), None, now) == step
    assert mfa._accepted_step(secret, totp.at(now + 30), step, now) == step + 1
    assert mfa._accepted_step(secret, totp.at(now - 30), None, now) == step - 1
    assert mfa._accepted_step(secret, totp.at(now), step, now) is None
    assert mfa._accepted_step(secret, totp.at(now + 60), None, now) is None
    assert mfa.normalise_code(" 123 456 ") == "123456"
    assert mfa.normalise_recovery_code("ABCDE-23456") == "abcde23456"
    assert mfa.normalise_recovery_code("abcde-2345O") is None
