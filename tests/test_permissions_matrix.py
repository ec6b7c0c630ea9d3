"""Every URL rule of the application, for every role, against the matrix declared in roles.py.

Each endpoint must either be on the short public allow-list below or map to a resource
declared in ``app/policy/roles.py`` (FAB's own security views: Admin only). A view
added without a declared resource, or a route without a permission check, fails here.
Read routes need ``can_read`` on the resource, write routes ``can_write``.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import orm

from app.extensions import db
from app.models.identity import ConsoleUser, PlatformUser
from app.policy.roles import ROLE_GRANTS
from app.web.views.base.autocomplete import REGISTRY
from app.web.views.base.model_view import CoachdeskModelView
from tests.support.apps import make_accounts
from tests.support.routes import (
    NO_SUCH_INT,
    ROLES,
    build_url,
    classify_routes,
    expected_allowed,
)
from tests.support.web import csrf_token, login, session_csrf
from tests.support.world import make_world, pk_of


@pytest.fixture
def clients(sqlite_app: Flask) -> dict[str | None, Any]:
    app = sqlite_app
    make_accounts(app)
    with app.app_context():
        sm = app.appbuilder.sm
        public = sm.find_role("Public") or sm.add_role("Public")
        customer = PlatformUser(email="shopper@example.test", full_name="Shopper", locale="en")
        db.session.add(customer)
        db.session.commit()
        user = sm.add_user("shopper", "Shop", "Per", "shopper@example.test", public, password="shopper-Passw0rd!")
        db.session.get(ConsoleUser, user.id).platform_user_id = customer.id
        db.session.commit()
    result: dict[str | None, Any] = {None: app.test_client()}
    for role in ROLES:
        client = app.test_client()
        login(client, role.lower(), f"{role.lower()}-Passw0rd!")
        result[role] = client
    shopper = app.test_client()
    token = csrf_token(shopper)
    shopper.post("/login/", data={"username": "shopper", "password": "shopper-Passw0rd!", "csrf_token": token})
    result["Customer"] = shopper
    return result


def test_every_route_for_every_role_matches_the_declared_matrix(
    sqlite_app: Flask, clients: dict, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = sqlite_app
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)  # routes that enqueue jobs need a real Redis
    with app.app_context():
        ids = {model: pk_of(obj) for model, obj in make_world("coach@coachdesk.test").items()}
    tokens = {role: session_csrf(app, c) for role, c in clients.items()}
    table, undeclared = classify_routes(app)
    assert not undeclared, "routes outside the declared matrix:\n" + "\n".join(undeclared)
    mismatches: list[str] = []
    checked = 0
    for rule, view, method, permission, resource, public in table:
        endpoint = rule.endpoint
        view_name = endpoint.partition(".")[0]
        methods = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
        if endpoint in ("AuthDBView.logout", "SignOutView.logout"):
            continue  # would sign every client out half-way through the walk
        write_only = "GET" not in methods or (view is not None and method in ("action", "delete"))
        url = build_url(rule, view, ids, write_only)
        for role, client in clients.items():
            if write_only:
                data = {"csrf_token": tokens[role]}
                if method == "action_post" and view is not None:
                    data["action"] = next(iter(view.actions), "none")
                if method == "ajax_update":  # Flask-Admin inline edit; without a key Flask-Admin itself 500s
                    data["list_form_pk"] = NO_SUCH_INT
                resp = client.post(url, data=data)
            else:
                resp = client.get(url)
            checked += 1
            status = resp.status_code
            resp.close()
            where = f"{role or 'anonymous'} {('POST' if write_only else 'GET')} {url} -> {status}"
            if status >= 500:
                mismatches.append(f"server error: {where}")
                continue
            if public:
                continue
            grant_role = role if role in ROLES else None
            allowed = expected_allowed(grant_role, resource, permission, view_name)
            needed = permission
            if permission == "per-action":
                # FAB's action routes check the action's own permission; an unknown name, the list permission.
                name = next(iter(view.actions), "none")
                needed = view.get_action_permission_name(name) if name in view.actions else "can_list"
            if view is not None and permission != "console-role":
                allowed = allowed and needed in view.base_permissions
            if allowed and method == "autocomplete" and isinstance(view, CoachdeskModelView):
                column = url.rstrip("/").rsplit("/", 1)[-1]
                prop = orm.class_mapper(view.datamodel.obj).attrs.get(column)
                if prop is not None:
                    target_resource = app.extensions[REGISTRY][prop.mapper.class_].resource
                    allowed = "can_read" in ROLE_GRANTS[grant_role].get(target_resource, frozenset())
            to_login = status in (301, 302) and "/login" in resp.headers.get("Location", "")
            if allowed and (status in (401, 403) or to_login):
                mismatches.append(f"refused but granted: {where}")
            elif not allowed and role is None and not (to_login or status == 401):
                mismatches.append(f"anonymous not sent to login: {where}")
            elif not allowed and role is not None and status != 403:
                mismatches.append(f"reachable but not granted: {where}")
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:60])
    assert checked > 400 * len(clients) * 0.9


def test_audit_trail_has_no_write_routes_at_all(sqlite_app: Flask) -> None:
    endpoints = {r.endpoint for r in sqlite_app.url_map.iter_rules() if r.endpoint.startswith("AuditLogView.")}
    assert endpoints == {"AuditLogView.list", "AuditLogView.show", "AuditLogView.export", "AuditLogView.autocomplete"}


def test_a_view_added_without_a_permission_entry_fails_the_matrix(tmp_path) -> None:
    from app.models.training import Meal
    from app.web.views.base.datamodel import ScopedSQLAInterface
    from tests.support import databases
    from tests.support.apps import build_app

    class StrayMealView(CoachdeskModelView):
        route_base = "/stray-meals"
        datamodel = ScopedSQLAInterface(Meal)
        list_columns = show_columns = add_columns = edit_columns = ["name"]

    app = build_app(databases.create_sqlite_database(tmp_path))
    _, before = classify_routes(app)
    assert before == []
    with app.test_request_context():
        app.appbuilder.add_view_no_menu(StrayMealView)
    _, after = classify_routes(app)
    assert after and all(line.startswith("StrayMealView.") for line in after)
    assert any("'StrayMealView' is not declared in roles.py" in line for line in after)
