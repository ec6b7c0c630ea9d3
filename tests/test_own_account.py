"""One's own account: every console role opens its profile and changes its own password.

The profile (``/users/userinfo/``) and the own-password form (``/resetmypassword/form``) belong
to the ``AccountSettings`` resource every role holds; they only ever show or change the
signed-in account. Changing the password asks for the current one (a wrong one counts as a
failed sign-in), applies the password policy, and ends the account's other sessions.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlparse

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog
from app.models.identity import ConsoleUser
from tests.support import databases
from tests.support.apps import ROLE_ACCOUNTS, build_app, make_accounts
from tests.support.web import csrf_token, login

PROFILE = "/users/userinfo/"
PASSWORD = "/resetmypassword/form"
NEW_PASSWORD = "harbour lantern meadow"


def signed_in(client: FlaskClient) -> bool:
    with client.session_transaction() as sess:
        return "_user_id" in sess


def post_login(client: FlaskClient, username: str, password: str, ip: str = "127.0.0.1") -> Any:
    token = csrf_token(client)
    data = {"username": username, "password": password, "csrf_token": token}
    return client.post("/login/", data=data, environ_base={"REMOTE_ADDR": ip})


def change_password(client: FlaskClient, current: str, new: str, ip: str = "127.0.0.1", **extra: str) -> Any:
    data = {"current_password": current, "password": new, "conf_password": new, **extra}
    if "csrf_token" not in data:
        data["csrf_token"] = csrf_token(client, PASSWORD)
    return client.post(PASSWORD, data=data, environ_base={"REMOTE_ADDR": ip})


def account_row(app: Flask, username: str) -> ConsoleUser:
    with app.app_context():
        db.session.remove()
        user = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == username))
        db.session.expunge(user)
        return user


@pytest.mark.parametrize("role", ROLE_ACCOUNTS)
def test_every_role_opens_its_own_profile_and_password_page(app: Flask, accounts: dict, role: str) -> None:
    account = accounts[role]
    client = app.test_client()
    login(client, account.username, account.password)
    resp = client.get(PROFILE)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert f'data-field="username">{account.username}<' in page
    others = [name for name in ROLE_ACCOUNTS.values() if name != account.username]
    assert not any(f">{name}<" in page for name in others)
    assert account_row(app, account.username).password not in page  # never the hash
    for link in ("/account/settings/", PASSWORD, "/userinfoeditview/form"):
        assert f'href="{link}"' in page, link
    # The account menu links to the profile and the password page for every role.
    home = client.get("/").get_data(as_text=True)
    assert f'href="{PROFILE}"' in home and f'href="{PASSWORD}"' in home
    form = client.get(PASSWORD)
    assert form.status_code == 200
    assert 'name="current_password"' in form.get_data(as_text=True)
    assert client.get("/userinfoeditview/form").status_code == 200


def test_no_account_key_in_the_url_is_honoured(app: Flask, accounts: dict) -> None:
    coach_id = account_row(app, "coach").id
    client = app.test_client()
    login(client, "support", accounts["Support"].password)
    page = client.get(f"{PROFILE}?pk={coach_id}&id={coach_id}").get_data(as_text=True)
    assert 'data-field="username">support<' in page and ">coach<" not in page
    before = account_row(app, "coach").password
    token = csrf_token(client, PASSWORD)
    data = {"current_password": accounts["Support"].password, "password": NEW_PASSWORD, "conf_password": NEW_PASSWORD}
    resp = client.post(f"{PASSWORD}?pk={coach_id}", data={**data, "csrf_token": token, "pk": str(coach_id)})
    assert resp.status_code == 302
    assert account_row(app, "coach").password == before
    fresh = app.test_client()
    post_login(fresh, "support", NEW_PASSWORD)
    assert signed_in(fresh)


def test_anonymous_is_sent_to_sign_in(app: Flask, accounts: dict) -> None:
    client = app.test_client()
    for url in (PROFILE, PASSWORD, "/userinfoeditview/form"):
        resp = client.get(url)
        assert resp.status_code == 302 and urlparse(resp.headers["Location"]).path == "/login/", url
    token = csrf_token(client)
    resp = client.post(PASSWORD, data={"csrf_token": token, "current_password": "x", "password": NEW_PASSWORD})
    assert resp.status_code == 302 and urlparse(resp.headers["Location"]).path == "/login/"


def test_a_signed_in_account_without_a_console_role_is_refused(app: Flask, accounts: dict) -> None:
    with app.app_context():
        sm = app.appbuilder.sm
        public = sm.find_role("Public") or sm.add_role("Public")
        sm.add_user("visitor", "Vis", "Itor", "visitor@example.test", public, password="visitor-Passw0rd!")
    client = app.test_client()
    assert post_login(client, "visitor", "visitor-Passw0rd!").status_code == 302
    assert client.get(PROFILE).status_code == 403
    assert client.get(PASSWORD).status_code == 403


def test_wrong_current_password_fails_changes_nothing_and_counts_as_a_failed_sign_in(
    app: Flask, accounts: dict
) -> None:
    client, phone = app.test_client(), app.test_client()
    login(client, "coach", accounts["Coach"].password)
    login(phone, "coach", accounts["Coach"].password)
    before = account_row(app, "coach")
    resp = change_password(client, "not-my-password-at-all", NEW_PASSWORD)
    assert resp.status_code == 200
    assert "This is not your current password." in resp.get_data(as_text=True)
    after = account_row(app, "coach")
    assert (after.password, after.session_epoch) == (before.password, before.session_epoch)
    assert after.fail_login_count == (before.fail_login_count or 0) + 1
    with app.app_context():
        failed = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "auth.login_failed", AuditLog.resource_id == str(after.id))
        ).all()
    assert len(failed) == 1
    # Nobody was signed out, and the old password still signs in.
    assert client.get("/").status_code == 200 and signed_in(client)
    assert phone.get("/").status_code == 200 and signed_in(phone)
    assert post_login(app.test_client(), "coach", accounts["Coach"].password).status_code == 302


def test_the_password_policy_applies_and_the_confirmation_must_match(app: Flask, accounts: dict) -> None:
    client = app.test_client()
    login(client, "manager", accounts["Manager"].password)
    before = account_row(app, "manager").password
    current = accounts["Manager"].password
    assert "too common" in change_password(client, current, "qwerty123456").get_data(as_text=True)
    assert "at least 12 characters" in change_password(client, current, "tiny").get_data(as_text=True)
    token = csrf_token(client, PASSWORD)
    mismatch = {"current_password": current, "password": NEW_PASSWORD, "conf_password": NEW_PASSWORD + "!"}
    resp = client.post(PASSWORD, data={**mismatch, "csrf_token": token})
    assert resp.status_code == 200 and "The two new passwords differ." in resp.get_data(as_text=True)
    assert account_row(app, "manager").password == before


def test_changing_the_password_ends_other_sessions_and_keeps_this_one(app: Flask, accounts: dict) -> None:
    laptop, phone = app.test_client(), app.test_client()
    old = accounts["Compliance"].password
    login(laptop, "compliance", old)
    login(phone, "compliance", old)
    resp = change_password(laptop, old, NEW_PASSWORD)
    assert resp.status_code == 302 and urlparse(resp.headers["Location"]).path == PROFILE
    assert laptop.get(PROFILE).status_code == 200 and signed_in(laptop)
    resp = phone.get("/")
    assert resp.status_code == 302 and urlparse(resp.headers["Location"]).path == "/login/"
    assert not signed_in(phone)
    assert post_login(app.test_client(), "compliance", old).status_code == 302  # FAB redirects on failure too
    refused = app.test_client()
    post_login(refused, "compliance", old)
    assert not signed_in(refused)
    fresh = app.test_client()
    post_login(fresh, "compliance", NEW_PASSWORD)
    assert signed_in(fresh)
    # Audited like an administrator's reset: the account row changed, the hash itself not recorded.
    user_id = account_row(app, "compliance").id
    with app.app_context():
        rows = db.session.scalars(
            select(AuditLog).where(AuditLog.resource_type == "ab_user", AuditLog.resource_id == str(user_id))
        ).all()
        changes = [r.metadata_json for r in rows if "password" in (r.metadata_json or {}).get("fields", [])]
    assert changes and all("password" not in (c.get("values") or {}) for c in changes)
    assert all(account_row(app, "compliance").password not in str(c) for c in changes)


def test_post_without_csrf_is_refused(app: Flask, accounts: dict) -> None:
    client = app.test_client()
    login(client, "support", accounts["Support"].password)
    before = account_row(app, "support").password
    data = {"current_password": accounts["Support"].password, "password": NEW_PASSWORD, "conf_password": NEW_PASSWORD}
    assert client.post(PASSWORD, data=data).status_code == 400
    assert client.post(PASSWORD, data={**data, "csrf_token": "forged"}).status_code == 400
    assert account_row(app, "support").password == before


# --------------------------------------------------------------------------- sign-in limits (real Redis)


@pytest.fixture(scope="module")
def limited_app(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    url = databases.create_sqlite_database(tmp_path_factory.mktemp("own-account-limited"))
    app = build_app(
        url,
        REDIS_URL=redis_url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex[:8]}",
        AUTH_SLOWDOWN_SECONDS=0.01,
    )
    make_accounts(app)
    return app


def test_wrong_current_passwords_use_up_the_sign_in_budget(limited_app: Flask) -> None:
    app = limited_app
    client = app.test_client()
    ip = "10.77.0.1"
    assert post_login(client, "coach", "coach-Passw0rd!", ip=ip).status_code == 302 and signed_in(client)
    limit = int(re.match(r"\d+", app.config["AUTH_USERNAME_RATE_LIMIT"]).group())
    for attempt in range(limit):
        assert change_password(client, f"wrong-{attempt}-password", NEW_PASSWORD, ip=ip).status_code == 200
    # This address has used up its tries on the account: even the right password waits.
    assert change_password(client, "coach-Passw0rd!", NEW_PASSWORD, ip=ip).status_code == 429
    assert post_login(app.test_client(), "coach", "coach-Passw0rd!", ip=ip).status_code == 429
    # The owner elsewhere is served.
    owner = app.test_client()
    assert post_login(owner, "coach", "coach-Passw0rd!", ip="10.77.0.2").status_code == 302 and signed_in(owner)
