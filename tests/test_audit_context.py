"""The audit trail's address and agent: what the trusted proxies yield, validated; never the client's word."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog
from app.services.audit.context import inert_text, valid_ip
from app.web.security.login_limits import trust_proxy_headers
from tests.support.web import csrf_token

FORGED = '=HYPERLINK("http://evil.example/")'
AGENT = "@SUM(1+1)*cmd|calc\r\n\x00\u202e" + "x" * 500


@contextlib.contextmanager
def proxy_hops(app: Flask, hops: int) -> Iterator[None]:
    """``app`` as production installs it behind ``hops`` trusted proxies (restored after)."""
    wsgi, config = app.wsgi_app, app.config.get("TRUSTED_PROXY_HOPS")
    app.config["TRUSTED_PROXY_HOPS"] = hops
    trust_proxy_headers(app)
    try:
        yield
    finally:
        app.wsgi_app = wsgi
        app.config["TRUSTED_PROXY_HOPS"] = config


def _failed_login(app: Flask, forwarded: str) -> AuditLog:
    client = app.test_client()
    token = csrf_token(client)
    resp = client.post(
        "/login/",
        data={"username": "nobody", "password": "wrong", "csrf_token": token},
        headers={"X-Forwarded-For": forwarded},
        environ_overrides={"HTTP_USER_AGENT": AGENT},  # a raw header: the test client refuses newlines
    )
    assert resp.status_code in (200, 302)
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "auth.login_failed")).all()
        assert len(rows) == 1
        db.session.expunge_all()
        return rows[0]


def test_forged_forwarded_for_is_not_recorded_without_trusted_proxies(app, accounts, caplog):
    with proxy_hops(app, 0):
        row = _failed_login(app, FORGED)
    assert row.ip_address == "127.0.0.1"  # the socket peer: the real address
    assert "\r" not in row.user_agent and "\x00" not in row.user_agent and "\u202e" not in row.user_agent
    assert len(row.user_agent) <= 300 and row.user_agent.startswith("@SUM(1+1)*cmd|calc x")


def test_forged_forwarded_for_through_one_proxy_records_the_proxy_s_client(app, accounts):
    with proxy_hops(app, 1):
        row = _failed_login(app, f"{FORGED}, 203.0.113.9")
    assert row.ip_address == "203.0.113.9"


def test_a_proxy_that_passes_garbage_gives_the_socket_peer(app, accounts):
    with proxy_hops(app, 1):
        row = _failed_login(app, FORGED)
    assert row.ip_address == "127.0.0.1"


def test_sign_in_log_line_uses_the_same_address(app, accounts, caplog):
    import json
    import logging

    with caplog.at_level(logging.INFO, logger="coachdesk.auth"), proxy_hops(app, 0):
        _failed_login(app, FORGED)
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "coachdesk.auth"]
    assert [e["ip"] for e in events] == ["127.0.0.1"]
    assert all("\r" not in e["user_agent"] for e in events)


def test_valid_ip_and_inert_text():
    assert valid_ip(" 2001:DB8::1 ") == "2001:db8::1"
    assert valid_ip(FORGED) is None and valid_ip("") is None and valid_ip(None) is None
    assert inert_text("a\tb\n\nc\x7f") == "a b c"
    assert inert_text("\x00\x01") is None
    assert len(inert_text("y" * 1000)) == 300
