"""Signing in and CSRF tokens, as a browser would get them, with the second factor a person would enter."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SECRET_RE = re.compile(r'id="mfa-secret"[^>]*>([A-Z2-7]+)<')
RECOVERY_RE = re.compile(r'class="cd-recovery-code">([a-z0-9-]+)<')
STEP = 30

# What the person's authenticator app holds, per app and username (enrolled on the setup page).
MFA_SECRETS: dict[tuple[int, str], str] = {}
RECOVERY_CODES: dict[tuple[int, str], list[str]] = {}


def csrf_token(client: FlaskClient, url: str = "/login/") -> str:
    page = client.get(url)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str) -> None:
    """Sign in with the password, then the second factor when the console asks for it."""
    token = csrf_token(client)
    resp = client.post("/login/", data={"username": username, "password": password, "csrf_token": token})
    assert resp.status_code == 302, f"login as {username} failed: {resp.status_code}"
    complete_mfa(client, username)
    home = client.get("/")
    assert home.status_code == 200 and "/logout/" in home.get_data(as_text=True), f"{username} not logged in"


def complete_mfa(client: FlaskClient, username: str) -> None:
    """Pass /mfa/setup (enrol: read the key shown as text) or /mfa/verify (a fresh code), if asked."""
    probe = client.get("/")
    location = probe.headers.get("Location", "") if probe.status_code == 302 else ""
    if "/mfa/setup" in location:
        enrol(client, username)
    elif "/mfa/verify" in location:
        verify(client, username)


def enrol(client: FlaskClient, username: str) -> list[str]:
    page = client.get("/mfa/setup").get_data(as_text=True)
    match = SECRET_RE.search(page)
    assert match, "no MFA key shown on /mfa/setup"
    secret = match.group(1)
    token = CSRF_RE.search(page).group(1)
    key = (id(client.application), username)
    resp = client.post("/mfa/setup", data={"code": fresh_code(client, username, secret), "csrf_token": token})
    assert resp.status_code == 200, f"MFA enrolment of {username} failed: {resp.status_code}"
    MFA_SECRETS[key] = secret
    RECOVERY_CODES[key] = RECOVERY_RE.findall(resp.get_data(as_text=True))
    return RECOVERY_CODES[key]


def verify(client: FlaskClient, username: str) -> Any:
    """Pass /mfa/verify with a code not used yet; when this step and the next are both used up
    (a third sign-in within 30 seconds), use one of the saved recovery codes, as a person in a
    hurry would, rather than wait."""
    key = (id(client.application), username)
    secret = MFA_SECRETS.get(key)
    assert secret, f"{username} has MFA but this test process never enrolled it"
    code = free_code(client, username, secret)
    path = "/mfa/verify"
    if code is None and RECOVERY_CODES.get(key):
        code, path = RECOVERY_CODES[key].pop(), "/mfa/recovery"
    elif code is None:
        code = fresh_code(client, username, secret)
    token = csrf_token(client, path)
    resp = client.post(path, data={"code": code, "csrf_token": token})
    assert resp.status_code in (302, 303), f"MFA check of {username} failed: {resp.status_code}"
    return resp


def free_code(client: FlaskClient, username: str, secret: str) -> str | None:
    """This step's code, else the next one's (accepted one step early), if the console has not taken it yet."""
    current = int(time.time() // STEP)
    last = last_step(client.application, username)
    for step in (current, current + 1):
        if last is None or step > last:
            return pyotp.TOTP(secret).at(step * STEP)
    return None


def fresh_code(client: FlaskClient, username: str, secret: str) -> str:
    """A code the console has not accepted yet, waiting for the next 30-second step if need be."""
    while (code := free_code(client, username, secret)) is None:
        time.sleep(max(0.05, STEP - time.time() % STEP))
    return code


def last_step(app: Flask, username: str) -> int | None:
    from app.extensions import db
    from app.models.identity import ConsoleUser

    with app.app_context():
        step = db.session.query(ConsoleUser.mfa_last_step).filter(ConsoleUser.username == username).scalar()
        db.session.remove()
        return step


def session_csrf(app: Flask, client: Any) -> str:
    """A valid CSRF token for this client's session, minted the way Flask-WTF does (works with no form page)."""
    raw = secrets.token_hex(20)
    with client.session_transaction() as sess:
        sess["csrf_token"] = raw
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)
