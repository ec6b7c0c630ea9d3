"""API clients: the lifecycle service, ``flask api-clients`` and the console pages, each checked by
calling ``/api/v1/me`` with the key they issued (real SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import AuditLog
from app.models.automation import APIClient, ClientStatus
from app.models.identity import RoleCode
from app.services.api_clients import lifecycle
from tests.support.plan_support import make_user
from tests.support.web import csrf_token, login

KEY_RE = re.compile(r"cdk_[0-9a-f]{10}_[A-Za-z0-9_-]{20,}")


def me(app: Flask, key: str) -> int:
    return app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code


def clients_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(APIClient))


def create(app: Flask, **kwargs) -> lifecycle.IssuedClientKey:
    kwargs.setdefault("name", "crm")
    kwargs.setdefault("scopes", "customers:read plans:read")
    with app.app_context():
        issued = lifecycle.create(db.session, **kwargs)
        db.session.commit()
        db.session.refresh(issued.client)
        return issued


# ---- the service


def test_create_returns_the_key_once_and_it_works(app):
    issued = create(app, rate_limit=120)
    assert KEY_RE.fullmatch(issued.key)
    with app.app_context():
        row = db.session.get(APIClient, issued.client.id)
        assert issued.key not in (row.api_key_hash, row.key_prefix) and row.key_prefix in issued.key
        assert row.scopes == "customers:read plans:read" and row.rate_limit == 120
        actions = db.session.scalars(sa.select(AuditLog.action).where(AuditLog.resource_type == "api_clients")).all()
        assert "api_client.created" in actions
        trail = " ".join(str(m) for m in db.session.scalars(sa.select(AuditLog.metadata_json)))
        assert row.api_key_hash not in trail and issued.key not in trail
    resp = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {issued.key}"})
    assert resp.status_code == 200
    assert resp.json["name"] == "crm" and resp.json["scopes"] == ["customers:read", "plans:read"]


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"scopes": "customers:read nope:write"}, "scopes"),
        ({"scopes": ""}, "scopes"),
        ({"scopes": "customers:read", "rate_limit": 0}, "rate_limit"),
        ({"scopes": "customers:read", "rate_limit": 10**9}, "rate_limit"),
        ({"name": "  "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "bad\x00name"}, "name"),
        ({"expires_at": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)}, "expires_at"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_created(app, kwargs, field):
    with app.app_context():
        with pytest.raises(lifecycle.ClientRefused) as refused:
            lifecycle.create(db.session, **{"name": "crm", "scopes": "customers:read", **kwargs})
        db.session.rollback()
        assert refused.value.field == field and str(refused.value)
        assert clients_count() == 0


def test_a_duplicate_name_is_refused(app):
    create(app)
    with app.app_context(), pytest.raises(lifecycle.ClientRefused, match="already exists"):
        lifecycle.create(db.session, name="crm", scopes="customers:read")


def test_subjects_must_hold_their_role_and_a_coach_only_gets_coach_scopes(app):
    with app.app_context():
        coach = make_user("Coach Client", RoleCode.COACH)
        customer = make_user("Customer Client", RoleCode.CUSTOMER)
        db.session.commit()
        for kwargs, message in [
            ({"coach": customer}, "not a coach"),
            ({"customer": coach}, "not a customer"),
            ({"coach": coach, "customer": customer}, "not both"),
            ({"coach": coach, "scopes": "customers:read tickets:read"}, "tickets:read"),
            ({"coach": coach, "scopes": "customers:write"}, "customers:write"),
        ]:
            with pytest.raises(lifecycle.ClientRefused, match=message):
                lifecycle.create(db.session, **{"name": "c", "scopes": "customers:read", **kwargs})
            db.session.rollback()
        assert "tickets:read" not in lifecycle.coach_scopes() and "plans:write" in lifecycle.coach_scopes()
        ok = lifecycle.create(db.session, name="coach-app", scopes="customers:read plans:write", coach=coach)
        mine = lifecycle.create(db.session, name="my-app", scopes="tickets:write", customer=customer)
        db.session.commit()
        coach_id, customer_id = coach.id, customer.id
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {ok.key}"}).json["coach_id"] == str(
        coach_id
    )
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {mine.key}"}).json[
        "customer_id"
    ] == str(customer_id)


def test_rotation_keeps_the_old_key_for_the_overlap_then_refuses_it(app):
    first = create(app)
    with app.app_context():
        client = db.session.get(APIClient, first.client.id)
        second = lifecycle.rotate(db.session, client, dt.timedelta(hours=2))
        db.session.commit()
    assert me(app, first.key) == 200 and me(app, second.key) == 200
    with app.app_context():  # the window closes (set in the database, no sleeping)
        client = db.session.get(APIClient, first.client.id)
        client.previous_key_expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        db.session.commit()
    assert me(app, first.key) == 401 and me(app, second.key) == 200
    with app.app_context():  # overlap 0: the current key stops at once
        third = lifecycle.rotate(db.session, db.session.get(APIClient, first.client.id), dt.timedelta(0))
        db.session.commit()
        with pytest.raises(lifecycle.ClientRefused):
            lifecycle.rotate(db.session, db.session.get(APIClient, first.client.id), dt.timedelta(days=31))
    assert me(app, second.key) == 401 and me(app, third.key) == 200


def test_suspend_reactivate_revoke_and_expiry(app):
    issued = create(app)
    with app.app_context():
        client = db.session.get(APIClient, issued.client.id)
        assert lifecycle.suspend(db.session, client) and not lifecycle.suspend(db.session, client)
        db.session.commit()
    assert me(app, issued.key) == 401
    with app.app_context():
        assert lifecycle.reactivate(db.session, db.session.get(APIClient, issued.client.id))
        db.session.commit()
    assert me(app, issued.key) == 200
    with app.app_context():
        client = db.session.get(APIClient, issued.client.id)
        client.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        db.session.commit()
    assert me(app, issued.key) == 401
    with app.app_context():
        client = db.session.get(APIClient, issued.client.id)
        client.expires_at = None
        assert lifecycle.revoke(db.session, client)
        db.session.commit()
        for step in (lifecycle.reactivate, lifecycle.suspend, lifecycle.rotate):
            with pytest.raises(lifecycle.ClientRefused, match="revoked"):
                step(db.session, db.session.get(APIClient, issued.client.id))
        assert db.session.get(APIClient, issued.client.id).revoked_at is not None
    assert me(app, issued.key) == 401


# ---- flask api-clients


def run(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=["api-clients", *args])


def test_cli_create_prints_the_key_once_and_nothing_else_secret(app):
    with app.app_context():
        coach = make_user("Cli Coach", RoleCode.COACH)
        db.session.commit()
        email = coach.email
    result = run(app, "create", "--name", "partner", "--scopes", "customers:read,plans:read", "--coach", email)
    assert result.exit_code == 0, result.output
    keys = KEY_RE.findall(result.output)
    assert len(keys) == 1 and keys[0] in result.output.splitlines()
    assert me(app, keys[0]) == 200
    listing = run(app, "list")
    with app.app_context():
        row = db.session.scalar(sa.select(APIClient))
        assert row.api_key_hash not in listing.output and keys[0] not in listing.output
        assert row.key_prefix in listing.output and email in listing.output

    rotated = run(app, "rotate", "partner", "--overlap", "0")
    new_key = KEY_RE.findall(rotated.output)
    assert rotated.exit_code == 0 and len(new_key) == 1
    assert me(app, keys[0]) == 401 and me(app, new_key[0]) == 200
    assert run(app, "suspend", "partner").exit_code == 0 and me(app, new_key[0]) == 401
    assert run(app, "reactivate", "partner").exit_code == 0 and me(app, new_key[0]) == 200
    assert run(app, "revoke", "partner").exit_code == 0 and me(app, new_key[0]) == 401
    for args in (("suspend", "partner"), ("rotate", "partner"), ("reactivate", "partner")):
        result = run(app, *args)
        assert result.exit_code == 1 and "revoked" in result.output and not KEY_RE.search(result.output)


@pytest.mark.parametrize(
    "args",
    [
        ("--scopes", "customers:read"),  # no name
        ("--name", "x"),  # no scopes
        ("--name", "x", "--scopes", "nope"),
        ("--name", "x", "--scopes", "customers:read", "--rate-limit", "0"),
        ("--name", "x", "--scopes", "customers:read", "--rate-limit", "lots"),
        ("--name", "x", "--scopes", "customers:read", "--expires", "someday"),
        ("--name", "x", "--scopes", "customers:read", "--expires", "2001-01-01"),
        ("--name", "x", "--scopes", "customers:read", "--coach", "nobody@example.com"),
        ("--name", "x", "--scopes", "customers:read", "--coach", "a@b.c", "--customer", "d@e.f"),
    ],
)
def test_cli_bad_input_says_why_and_creates_nothing(app, args):
    result = run(app, "create", *args)
    assert result.exit_code != 0 and "Traceback" not in result.output and "Error" in result.output
    assert not KEY_RE.search(result.output)
    with app.app_context():
        assert clients_count() == 0
    assert run(app, "rotate", "missing").exit_code == 1
    assert run(app, "rotate", "missing", "--overlap", "-1").exit_code == 2


# ---- the console


def new_client_form(token: str, **fields) -> dict:
    form = {"csrf_token": token, "name": "console-app", "scopes": ["customers:read"], "rate_limit": "30"}
    form.update(fields)
    return form


def session_text(app: Flask, client) -> str:
    cookie = client.get_cookie("session")
    return str(app.session_interface.get_signing_serializer(app).loads(cookie.value)) if cookie else ""


def test_console_create_shows_the_key_once_on_an_uncached_page(app, accounts):
    web = app.test_client()
    login(web, accounts["Admin"].username, accounts["Admin"].password)
    token = csrf_token(web, "/api-clients/add")
    resp = web.post("/api-clients/add", data=new_client_form(token, expires=""))
    assert resp.status_code == 200 and "no-store" in resp.headers["Cache-Control"]
    keys = KEY_RE.findall(resp.get_data(as_text=True))
    assert len(set(keys)) == 1
    key = keys[0]
    assert me(app, key) == 200
    assert key not in session_text(app, web)  # no flash carrying the key
    with app.app_context():
        row = db.session.scalar(sa.select(APIClient))
        pk, key_hash = row.id, row.api_key_hash
    pages = ["/api-clients/list/", f"/api-clients/show/{pk}", f"/api-clients/traffic/{pk}", "/api-access-logs/list/"]
    for url in pages:
        page = web.get(url)
        text = page.get_data(as_text=True)
        assert page.status_code == 200, url
        assert key not in text and key_hash not in text, url
    assert web.get(f"/api-clients/edit/{pk}").status_code == 404  # no free-form edit of key columns

    token = csrf_token(web, f"/api-clients/show/{pk}")
    rotated = web.post(f"/api-clients/rotate/{pk}", data={"csrf_token": token, "overlap": "1.5"})
    assert rotated.status_code == 200 and "no-store" in rotated.headers["Cache-Control"]
    new_key = KEY_RE.findall(rotated.get_data(as_text=True))[0]
    assert new_key != key and me(app, key) == 200 and me(app, new_key) == 200
    assert web.post(f"/api-clients/suspend/{pk}", data={"csrf_token": token}).status_code == 302
    assert me(app, new_key) == 401
    assert web.post(f"/api-clients/reactivate/{pk}", data={"csrf_token": token}).status_code == 302
    assert me(app, new_key) == 200
    assert web.post(f"/api-clients/revoke/{pk}", data={"csrf_token": token}).status_code == 302
    assert me(app, new_key) == 401 and me(app, key) == 401
    again = web.post(f"/api-clients/rotate/{pk}", data={"csrf_token": token, "overlap": "1"}, follow_redirects=True)
    assert "revoked" in again.get_data(as_text=True) and not KEY_RE.search(again.get_data(as_text=True))


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"name": ""}, "This field is required"),
        ({"scopes": []}, "at least one scope"),
        ({"scopes": ["customers:read", "root:all"]}, "not a valid choice"),
        ({"rate_limit": "0"}, "Number must be between"),
        ({"rate_limit": "many"}, "Not a valid integer"),
        ({"expires": "2001-01-01"}, "future"),
        ({"expires": "not-a-date"}, "Not a valid date"),
        ({"coach": "00000000-0000-0000-0000-000000000000"}, "Not a valid choice"),
        ({"customer": "nobody@example.com"}, "No platform user"),
        ({"name": "x" * 101}, "Field cannot be longer"),
    ],
)
def test_console_create_refuses_bad_input_with_a_message(app, accounts, fields, message):
    web = app.test_client()
    login(web, accounts["Admin"].username, accounts["Admin"].password)
    token = csrf_token(web, "/api-clients/add")
    resp = web.post("/api-clients/add", data=new_client_form(token, **fields))
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    assert not KEY_RE.search(resp.get_data(as_text=True))
    with app.app_context():
        assert clients_count() == 0


def test_console_actions_need_csrf_and_the_write_permission(app, accounts):
    issued = create(app)
    pk = issued.client.id
    admin = app.test_client()
    login(admin, accounts["Admin"].username, accounts["Admin"].password)
    for action in ("rotate", "suspend", "revoke", "reactivate"):
        assert admin.post(f"/api-clients/{action}/{pk}", data={"overlap": "1"}).status_code == 400
    assert admin.post("/api-clients/add", data=new_client_form("")).status_code == 400
    token = csrf_token(admin, "/api-clients/add")
    assert admin.post("/api-clients/rotate/99999999", data={"csrf_token": token}).status_code == 404
    compliance = app.test_client()
    login(compliance, accounts["Compliance"].username, accounts["Compliance"].password)
    assert compliance.get(f"/api-clients/show/{pk}").status_code == 200
    token = csrf_token(compliance, f"/api-clients/show/{pk}")
    for action in ("rotate", "suspend", "revoke"):
        assert compliance.post(f"/api-clients/{action}/{pk}", data={"csrf_token": token}).status_code in (302, 403)
    assert compliance.get("/api-clients/add").status_code in (302, 403)
    coach = app.test_client()
    login(coach, accounts["Coach"].username, accounts["Coach"].password)
    assert coach.get(f"/api-clients/traffic/{pk}").status_code in (302, 403)
    assert me(app, issued.key) == 200
    with app.app_context():
        row = db.session.get(APIClient, pk)
        assert row.status == ClientStatus.ACTIVE and row.previous_key_prefix is None
