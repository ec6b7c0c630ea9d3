"""The REST base class: UUID keys on both databases, the same row scope, read/write permissions, no secrets."""

from __future__ import annotations

import uuid

import pytest

from app.models.identity import PlatformUser
from app.web.views.base.columns import SecretColumnError
from app.web.views.base.datamodel import ScopedSQLAInterface
from app.web.views.base.rest import CoachdeskModelRestApi
from tests.support import databases
from tests.support.apps import build_app, make_accounts
from tests.support.web import login, session_csrf
from tests.support.world import make_world, pk_of


class PlatformUserApi(CoachdeskModelRestApi):
    resource_name = "test-platform-users"
    datamodel = ScopedSQLAInterface(PlatformUser)
    class_permission_name = "Users"
    list_columns = show_columns = ["id", "full_name", "email", "status"]
    add_columns = edit_columns = ["full_name", "email"]


@pytest.fixture(params=["sqlite", "postgresql"])
def api_app(request, tmp_path):
    sqlite = request.param == "sqlite"
    url = databases.create_sqlite_database(tmp_path) if sqlite else databases.create_pg_database()
    app = build_app(url)
    with app.test_request_context():
        app.appbuilder.add_api(PlatformUserApi)
    make_accounts(app)
    yield app
    if request.param == "postgresql":
        from app.extensions import db

        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        databases.drop_pg_database(url)


def test_rest_base_class_scopes_and_accepts_uuid_keys(api_app) -> None:
    app = api_app
    with app.app_context():
        customer_a = pk_of(make_world("coach@coachdesk.test", tag="a")[PlatformUser])
        customer_b = pk_of(make_world(None, tag="b")[PlatformUser])
        from app.extensions import db

        db.session.get(PlatformUser, uuid.UUID(customer_a)).password_hash = "scrypt:api-secret-hash"
        db.session.commit()
    base = "/api/v1/test-platform-users"
    admin = app.test_client()
    login(admin, "admin", "admin-Passw0rd!")
    resp = admin.get(f"{base}/{customer_a}")
    assert resp.status_code == 200
    assert resp.get_json()["result"]["full_name"] == "Customer A"
    assert "api-secret-hash" not in resp.get_data(as_text=True)
    assert admin.get(f"{base}/not-a-uuid").status_code == 404
    assert admin.get(f"{base}/{uuid.uuid4()}").status_code == 404
    listing = admin.get(f"{base}/").get_json()
    assert listing["count"] >= 2 and "password_hash" not in str(listing)
    assert admin.get(f"{base}/_info").status_code == 404

    coach = app.test_client()
    login(coach, "coach", "coach-Passw0rd!")
    assert coach.get(f"{base}/{customer_a}").status_code == 200
    assert coach.get(f"{base}/{customer_b}").status_code == 404
    names = {row["full_name"] for row in coach.get(f"{base}/").get_json()["result"]}
    assert "Customer A" in names and "Customer B" not in names

    compliance = app.test_client()
    login(compliance, "compliance", "compliance-Passw0rd!")
    assert compliance.get(f"{base}/{customer_b}").status_code == 200
    token = session_csrf(app, compliance)
    resp = compliance.put(f"{base}/{customer_b}", json={"full_name": "Changed"}, headers={"X-CSRFToken": token})
    assert resp.status_code == 403
    assert app.test_client().get(f"{base}/{customer_a}").status_code == 401


def test_rest_base_class_refuses_secret_columns(sqlite_app) -> None:
    class Leaky(CoachdeskModelRestApi):
        resource_name = "leaky"
        datamodel = ScopedSQLAInterface(PlatformUser)
        class_permission_name = "Users"
        list_columns = show_columns = add_columns = edit_columns = ["full_name", "password_hash"]

    with sqlite_app.test_request_context(), pytest.raises(SecretColumnError, match="password_hash"):
        Leaky()
