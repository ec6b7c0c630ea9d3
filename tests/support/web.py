"""Signing in and CSRF tokens, as a browser would get them."""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str = "/login/") -> str:
    page = client.get(url)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str) -> None:
    token = csrf_token(client)
    resp = client.post("/login/", data={"username": username, "password": password, "csrf_token": token})
    assert resp.status_code == 302, f"login as {username} failed: {resp.status_code}"
    home = client.get("/")
    assert home.status_code == 200 and "/logout/" in home.get_data(as_text=True), f"{username} not logged in"


def session_csrf(app: Flask, client: Any) -> str:
    """A valid CSRF token for this client's session, minted the way Flask-WTF does (works with no form page)."""
    raw = secrets.token_hex(20)
    with client.session_transaction() as sess:
        sess["csrf_token"] = raw
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)
