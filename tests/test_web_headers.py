"""Security headers on every response, and state changes (sign out, language) only by POST with CSRF."""

from __future__ import annotations

import re

import pytest

from app.web.headers import HSTS
from config import ProductionConfig
from tests.support.web import csrf_token, login

NONCE_RE = re.compile(r"script-src 'self' 'nonce-([A-Za-z0-9_-]+)'")


def _csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in policy.split(";")) if part}


@pytest.mark.parametrize("path", ["/login/", "/", "/no-such-page/", "/static/coachdesk/coachdesk.css"])
def test_every_response_has_the_security_headers(app, client, path):
    response = client.get(path)
    csp = _csp(response)
    assert csp["default-src"] == "default-src 'self'"
    assert NONCE_RE.search(csp["script-src"]) and "unsafe-inline" not in csp["script-src"]
    assert csp["object-src"] == "object-src 'none'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["base-uri"] == "base-uri 'self'" and csp["form-action"] == "form-action 'self'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers  # the test app is not production


def test_inline_scripts_carry_this_responses_nonce(app, client, accounts):
    login(client, accounts["Admin"].username, accounts["Admin"].password)
    first, second = client.get("/"), client.get("/")
    nonce = NONCE_RE.search(first.headers["Content-Security-Policy"]).group(1)
    assert nonce != NONCE_RE.search(second.headers["Content-Security-Policy"]).group(1)
    page = first.get_data(as_text=True)
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts), scripts
    assert not re.search(r"\son[a-z]+=\"", page)  # no inline event handlers


def test_production_sends_hsts_and_secure_cookies(sqlite_app):
    assert ProductionConfig.SESSION_COOKIE_SECURE and ProductionConfig.REMEMBER_COOKIE_SECURE
    assert ProductionConfig.HSTS_ENABLED
    sqlite_app.config["HSTS_ENABLED"] = True
    try:
        response = sqlite_app.test_client().get("/login/")
    finally:
        sqlite_app.config["HSTS_ENABLED"] = False
    assert response.headers["Strict-Transport-Security"] == HSTS == "max-age=31536000; includeSubDomains"


def _signed_in(client) -> bool:
    return client.get("/", follow_redirects=False).status_code == 200 and "/logout/" in client.get("/").get_data(
        as_text=True
    )


def test_get_logout_does_not_sign_out(app, client, accounts):
    login(client, accounts["Admin"].username, accounts["Admin"].password)
    page = client.get("/logout/")
    assert page.status_code == 200 and 'data-page="sign-out"' in page.get_data(as_text=True)
    assert _signed_in(client)


def test_post_logout_needs_the_csrf_token(app, client, accounts):
    login(client, accounts["Admin"].username, accounts["Admin"].password)
    assert client.post("/logout/").status_code == 400
    assert _signed_in(client)
    assert client.post("/logout/", data={"csrf_token": csrf_token(client, "/")}).status_code == 302
    assert not _signed_in(client)


def test_the_menu_posts_sign_out_and_language(app, client, accounts):
    login(client, accounts["Admin"].username, accounts["Admin"].password)
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'<form method="post" action="/logout/"', page)
    assert re.search(r'<form method="post" action="/lang/es"', page)
    assert 'href="/logout/"' not in page and 'href="/lang/' not in page


def test_language_switch_needs_post_with_csrf(app, client):
    assert client.get("/lang/de").status_code == 405
    assert 'value="Sign In"' in client.get("/login/").get_data(as_text=True)
    assert client.post("/lang/de").status_code == 400
    assert 'value="Sign In"' in client.get("/login/").get_data(as_text=True)
    token = csrf_token(client)
    assert client.post("/lang/de", data={"csrf_token": token}).status_code == 302
    assert 'value="Anmelden"' in client.get("/login/").get_data(as_text=True)
    assert client.post("/lang/xx", data={"csrf_token": token}).status_code == 404
