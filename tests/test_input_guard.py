"""Input no page can use is refused up front with a 400/404 and changes nothing (app/web/input_guard.py)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.compliance import AuditLog
from app.web.input_guard import MAX_JSON_DEPTH, json_depth_exceeds
from tests.support.web import login, session_csrf


@pytest.fixture
def admin(app, accounts):
    client = app.test_client()
    login(client, "admin", "admin-Passw0rd!")
    return client, session_csrf(app, client)


def audit_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditLog))


def test_nul_byte_in_query_form_and_path_is_a_400(app, admin):
    client, token = admin
    before = audit_rows(app)
    for url in ("/users/list/?_flt_0_email=%00", "/products/list/?search=a%00b", "/products/list/?x%00=1"):
        resp = client.get(url)
        assert resp.status_code == 400, url
        assert "NUL" in resp.get_data(as_text=True)
    resp = client.post("/products/add", data={"csrf_token": token, "name": "bad\x00name", "price": "1"})
    assert resp.status_code == 400
    assert client.get("/admin/exports/download/%00").status_code in (400, 404)
    assert audit_rows(app) == before


def test_nul_byte_on_the_sign_in_form_is_a_400_not_a_login_attempt(app, client, accounts):
    token = session_csrf(app, client)
    resp = client.post("/login/", data={"csrf_token": token, "username": "admin\x00", "password": "x"})
    assert resp.status_code == 400


def test_json_with_nul_or_absurd_nesting_is_a_400(app, admin):
    client, token = admin
    headers = {"X-CSRFToken": token}
    deep = "[" * 5000 + "]" * 5000
    for body in (deep, json.dumps({"items": [{"note": "a\u0000b"}]})):
        resp = client.post("/plans/assign/", data=body, content_type="application/json", headers=headers)
        assert resp.status_code == 400
        resp = client.post(
            "/planbuilder/api/programs/1/items", data=body, content_type="application/json", headers=headers
        )
        assert resp.status_code == 400


def test_ids_beyond_a_64_bit_key_are_not_found(app, admin):
    client, token = admin
    huge = "9" * 20
    for url in (f"/compliance/jobs/{huge}/status", f"/compliance/exports/{huge}/status", f"/plans/{huge}"):
        assert client.get(url).status_code == 404, url
    resp = client.post(f"/compliance/jobs/{huge}/retry", data={"csrf_token": token})
    assert resp.status_code == 404


def test_depth_scan_counts_only_brackets_outside_strings():
    assert not json_depth_exceeds(b'{"a": "' + b"[" * 500 + b'"}')
    assert not json_depth_exceeds(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    assert json_depth_exceeds(b"[" * (MAX_JSON_DEPTH + 1))
    assert not json_depth_exceeds(b'["\\"", ' + b"[" * 10 + b"]" * 10 + b"]")
