"""The REST API framework (``app.web.api``): keys, scopes, paging, filters, ETags, bodies, problems, audit."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from marshmallow import Schema, fields

from app.extensions import db
from app.models.automation import ClientStatus
from app.models.compliance import AuditLog
from app.models.identity import PlatformUser, RoleCode
from app.web.api.problems import PROBLEM_JSON
from app.web.api.resource import CoachdeskModelRestApi
from app.web.views.base.columns import SecretColumnError
from tests.support.api_support import bearer, make_api_client
from tests.support.plan_support import make_customer, make_user

BASE = "/api/v1"


def assert_problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == PROBLEM_JSON
    body = resp.get_json()
    assert body["status"] == status and body["type"].startswith("https://") and body["title"]
    return body


@pytest.fixture
def world(app):
    """A coach with two customers, a third customer of nobody, and a partner key with customer scopes."""
    with app.app_context():
        coach = make_user("Coach A", RoleCode.COACH)
        db.session.commit()
        mine = [make_customer(f"Mine {i}", coach_id=coach.id) for i in range(2)]
        other = make_customer("Other")
        _id, partner = make_api_client("customers:read customers:write")
        return {"coach": coach.id, "mine": mine, "other": other, "partner": partner}


def test_keys_missing_invalid_and_revoked_are_401_with_a_challenge(app, world) -> None:
    client = app.test_client()
    body = assert_problem(client.get(f"{BASE}/customers"), 401)
    assert "Bearer" in body["detail"]
    resp = client.get(f"{BASE}/customers", headers=bearer("cdk_0123456789_nope"))
    assert_problem(resp, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    with app.app_context():
        for status in (ClientStatus.SUSPENDED, ClientStatus.REVOKED):
            _id, key = make_api_client("customers:read", status=status)
            resp = client.get(f"{BASE}/customers", headers=bearer(key))
            assert_problem(resp, 401)
            assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
    assert "Set-Cookie" not in resp.headers


def test_scopes_and_the_role_matrix_bound_what_a_client_calls(app, world) -> None:
    client = app.test_client()
    with app.app_context():
        _id, plans_only = make_api_client("plans:read")
        # A coach may not write customers in the console, so a coach's client may not either.
        _id, coach_key = make_api_client("customers:read customers:write", coach_id=world["coach"])
    me = client.get(f"{BASE}/me", headers=bearer(coach_key)).get_json()
    assert me["scopes"] == ["customers:read", "customers:write"] and me["usable_scopes"] == ["customers:read"]
    assert_problem(client.get(f"{BASE}/customers", headers=bearer(plans_only)), 403)
    assert client.get(f"{BASE}/customers", headers=bearer(coach_key)).status_code == 200
    resp = client.patch(
        f"{BASE}/customers/{world['mine'][0]}", json={"full_name": "X"}, headers=bearer(coach_key, **{"If-Match": "*"})
    )
    assert_problem(resp, 403)


def test_pagination_walks_every_row_once(app, world) -> None:
    client = app.test_client()
    with app.app_context():
        extra = [make_customer(f"Extra {i}") for i in range(5)]
    expected = {str(i) for i in [*world["mine"], world["other"], *extra]}
    seen: list[str] = []
    url = f"{BASE}/customers?limit=2"
    while True:
        page = client.get(url, headers=bearer(world["partner"])).get_json()
        assert len(page["data"]) <= 2
        seen += [row["id"] for row in page["data"]]
        if page["next_cursor"] is None:
            break
        url = f"{BASE}/customers?limit=2&cursor={page['next_cursor']}"
    assert sorted(seen) == sorted(expected)
    for bad in ("limit=0", "limit=201", "limit=x", "cursor=garbage", "cursor=" + "A" * 600):
        body = assert_problem(client.get(f"{BASE}/customers?{bad}", headers=bearer(world["partner"])), 422)
        assert body["errors"]


def test_filters_are_typed_and_unknown_parameters_refused(app, world) -> None:
    client = app.test_client()
    key = bearer(world["partner"])
    with app.app_context():
        email = db.session.get(PlatformUser, world["other"]).email
    rows = client.get(f"{BASE}/customers?email={email}", headers=key).get_json()["data"]
    assert [r["id"] for r in rows] == [str(world["other"])]
    assert client.get(f"{BASE}/customers?status=SUSPENDED", headers=key).get_json()["data"] == []
    body = assert_problem(client.get(f"{BASE}/customers?status=NOPE", headers=key), 422)
    assert "status" in body["errors"]
    body = assert_problem(client.get(f"{BASE}/customers?emial=x", headers=key), 422)
    assert "emial" in body["errors"]
    body = assert_problem(client.get(f"{BASE}/customers?updated_since=99999-01-01T00:00:00", headers=key), 422)
    assert "updated_since" in body["errors"]
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert client.get(f"{BASE}/customers?updated_since={future}", headers=key).get_json()["data"] == []


def test_etag_and_if_match_guard_updates(app, world) -> None:
    client = app.test_client()
    url = f"{BASE}/customers/{world['mine'][0]}"
    key = world["partner"]
    resp = client.get(url, headers=bearer(key))
    etag = resp.headers["ETag"]
    assert_problem(client.patch(url, json={"full_name": "New"}, headers=bearer(key)), 428)
    assert_problem(client.patch(url, json={"full_name": "New"}, headers=bearer(key, **{"If-Match": '"stale"'})), 412)
    resp = client.patch(
        url, json={"full_name": "New", "timezone": "Europe/Berlin"}, headers=bearer(key, **{"If-Match": etag})
    )
    assert resp.status_code == 200
    assert resp.get_json()["full_name"] == "New" and resp.get_json()["timezone"] == "Europe/Berlin"
    assert resp.headers["ETag"] != etag
    # The old tag is stale now: a second writer that read before the change is refused.
    assert_problem(client.patch(url, json={"full_name": "Lost"}, headers=bearer(key, **{"If-Match": etag})), 412)
    with app.app_context():
        assert db.session.get(PlatformUser, world["mine"][0]).full_name == "New"


def test_bad_bodies_are_refused_cleanly_and_change_nothing(app, world) -> None:
    client = app.test_client()
    url = f"{BASE}/customers/{world['mine'][0]}"
    key = world["partner"]
    etag = client.get(url, headers=bearer(key)).headers["ETag"]
    headers = bearer(key, **{"If-Match": etag})
    assert_problem(client.patch(url, data="full_name=x", headers=headers), 415)
    assert_problem(client.patch(url, data="{", content_type="application/json", headers=headers), 400)
    assert_problem(client.patch(url, data='{"full_name": NaN}', content_type="application/json", headers=headers), 400)
    huge_int = '{"full_name": ' + "9" * 5000 + "}"
    assert_problem(client.patch(url, data=huge_int, content_type="application/json", headers=headers), 400)
    assert_problem(
        client.patch(url, data='{"full_name": 1e999}', content_type="application/json", headers=headers), 400
    )
    assert_problem(client.patch(url, json={"full_name": "x" * 70_000}, headers=headers), 413)
    assert_problem(client.patch(url, json={"full_name": "a\u0000b"}, headers=headers), 400)
    body = assert_problem(client.patch(url, json={"date_of_birth": "99999-01-01", "nope": 1}, headers=headers), 422)
    assert set(body["errors"]) == {"date_of_birth", "nope"}
    body = assert_problem(client.patch(url, json={"timezone": "Mars/Base"}, headers=headers), 422)
    assert "timezone" in body["errors"]
    assert_problem(client.patch(url, json=[1, 2], headers=headers), 422)
    with app.app_context():
        assert db.session.get(PlatformUser, world["mine"][0]).full_name == "Mine 0"


def test_wrong_ids_nul_bytes_and_routing_errors_are_problems(app, world) -> None:
    client = app.test_client()
    key = bearer(world["partner"])
    assert_problem(client.get(f"{BASE}/customers/{uuid.uuid4()}", headers=key), 404)
    assert_problem(client.get(f"{BASE}/customers/not-a-uuid", headers=key), 404)
    assert_problem(client.get(f"{BASE}/customers/{'9' * 40}", headers=key), 404)
    with app.app_context():
        _id, plans_key = make_api_client("plans:read plans:write")
    for huge in (2**31, 2**63 - 1, 2**63, 10**30):
        assert_problem(client.get(f"{BASE}/plan-items/{huge}", headers=bearer(plans_key)), 404)
        assert_problem(client.post(f"{BASE}/plan-items/{huge}/skip", headers=bearer(plans_key)), 404)
    body = assert_problem(client.get(f"{BASE}/plan-items?plan_id={2**40}", headers=bearer(plans_key)), 422)
    assert "plan_id" in body["errors"]
    assert_problem(client.get(f"{BASE}/customers?email=a%00b", headers=key), 400)
    assert_problem(client.get(f"{BASE}/nowhere", headers=key), 404)
    resp = client.delete(f"{BASE}/customers", headers=key)
    assert_problem(resp, 405)
    assert "GET" in resp.headers["Allow"]


def test_api_writes_are_audited_with_the_client_as_actor(app, world) -> None:
    client = app.test_client()
    with app.app_context():
        client_id, key = make_api_client("customers:read customers:write", name="audited-app")
    url = f"{BASE}/customers/{world['mine'][1]}"
    etag = client.get(url, headers=bearer(key)).headers["ETag"]
    assert client.patch(url, json={"phone": "+34 600"}, headers=bearer(key, **{"If-Match": etag})).status_code == 200
    with app.app_context():
        row = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.resource_type == "users").order_by(AuditLog.id.desc())
        ).first()
        assert row.metadata_json["actor"] == f"api_client:{client_id}"
        assert row.metadata_json["api_client"] == "audited-app"


def test_the_base_class_refuses_secret_columns() -> None:
    class LeakySchema(Schema):
        id = fields.UUID()
        password_hash = fields.String()

    with pytest.raises(SecretColumnError, match="password_hash"):

        class Leaky(CoachdeskModelRestApi):  # noqa: F841
            model = PlatformUser
            schema = LeakySchema
            name, path, tag = "leaky", "/leaky", "Leaky"
            read_scope = "customers:read"

    class Renamed(Schema):
        secret = fields.String(attribute="password_hash")

    with pytest.raises(SecretColumnError):

        class Sneaky(CoachdeskModelRestApi):  # noqa: F841
            model = PlatformUser
            schema = Renamed
            name, path, tag = "sneaky", "/sneaky", "Sneaky"
            read_scope = "customers:read"


def test_openapi_document_lists_every_operation_with_its_problems(app) -> None:
    doc = app.test_client().get(f"{BASE}/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"][0]["url"].endswith("/api/v1")
    listing = doc["paths"]["/customers"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"limit", "cursor", "status", "email", "updated_since"} <= names
    assert {"200", "400", "401", "403", "422", "429"} <= set(listing["responses"])
    update = doc["paths"]["/customers/{key}"]["patch"]
    assert {"412", "415", "422", "428"} <= set(update["responses"])
    assert any(p["name"] == "If-Match" and p["in"] == "header" for p in update["parameters"])
    assert "ETag" in doc["paths"]["/customers/{key}"]["get"]["responses"]["200"]["headers"]


def test_a_console_session_grants_nothing_on_the_api(app, world, accounts) -> None:
    """Every operation ignores the console's cookie: an Admin signed in to the console is a stranger here."""
    from app.web.api.registry import OPERATIONS
    from tests.support.web import login, session_csrf

    admin = app.test_client()
    login(admin, accounts["Admin"].username, accounts["Admin"].password)
    token = session_csrf(app, admin)
    for op in OPERATIONS:
        url = BASE + op.rule.replace("<uuid:key>", str(world["mine"][0])).replace("<int:key>", "1")
        resp = admin.open(url, method=op.method.upper(), json={}, headers={"X-CSRFToken": token, "If-Match": "*"})
        body = assert_problem(resp, 401)
        assert "Bearer" in resp.headers["WWW-Authenticate"], (op.method, url, body)
        assert "Set-Cookie" not in resp.headers
