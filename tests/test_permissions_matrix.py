"""Every URL rule of the application, for every role, against the matrix declared in roles.py.

Each endpoint must either be on the short public allow-list below or map to a resource
declared in ``app/policy/roles.py`` (FAB's own security views: Admin only). A view
added without a declared resource, or a route without a permission check, fails here.
Read routes need ``can_read`` on the resource, write routes ``can_write``.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import orm
from werkzeug.routing import IntegerConverter

from app.extensions import db
from app.models.identity import ConsoleUser, PlatformUser
from app.policy.roles import ALL_RESOURCES, ROLE_GRANTS
from app.services.data_access import pk_column
from app.web.views.base.autocomplete import REGISTRY
from app.web.views.base.model_view import CoachdeskModelView
from tests.support.apps import make_accounts
from tests.support.routes import FAB_SECURITY_VIEWS
from tests.support.web import csrf_token, login, session_csrf
from tests.support.world import make_world, pk_of

PUBLIC_ENDPOINTS = {
    "static",
    "appbuilder.static",
    "AuthDBView.login",
    "AuthDBView.logout",
    "SignOutView.logout",  # POST /logout/ (app/web/security/post_only.py)
    "LocaleView.index",
    "LanguageSwitchView.index",  # POST /lang/<locale>
    "UtilView.back",
    "HomeView.index",
    "SecurityApi.login",
    "SecurityApi.refresh",
    "coachdesk_plotly.plotly_js",  # plotly.js served from the installed package: a static asset
}
# Pages open to every console role (each link on them is checked again per entity).
CONSOLE_ROLE_ENDPOINTS = {"ChartsIndexView.index", "ChartsIndexView.unknown"}
# FAB's own account/role/permission views: resources FAB names after the class; Admin only.
# (One's own profile, details and password are FAB's views too, but on the AccountSettings
# resource every role holds, so the matrix checks them like any declared resource.)
ROLES = ("Admin", "Support", "Coach", "Manager", "Compliance")
NO_SUCH_INT = "987654321"


def required_permission(view: Any, method: str) -> str | None:
    """The FAB permission a route checks, or None when it checks none."""
    func = getattr(view, method, None)
    if func is None:
        return None
    if hasattr(func, "_permission_name"):
        mapped = (view.method_permission_name or {}).get(method)
        name = mapped or func._permission_name
        return name if name.startswith("can_") else "can_" + name
    if method in ("action", "action_post") and isinstance(view, CoachdeskModelView):
        return "can_write"  # checked inside the route, per action
    if type(view).__name__ in FAB_SECURITY_VIEWS and method in ("action", "action_post"):
        return "per-action"  # FAB checks the action's own permission inside the route
    return None


ADMIN_READ_ENDPOINTS = {"index", "index_view", "details_view", "export", "ajax_lookup", "download"}


def admin_permission(view_name: str, method: str, http_methods: set[str], resources: tuple[str, ...]) -> str:
    """What a Flask-Admin (/admin) route needs, per app/web/admin/guard.py: read to look, write on all to change."""
    if len(resources) > 1 and method == "index" and view_name.endswith("home"):
        return "admin-any-read"
    if "GET" in http_methods and method in ADMIN_READ_ENDPOINTS:
        return "admin-read"
    return "admin-write"


def expected_allowed(role: str | None, resource: Any, permission: str, view_name: str) -> bool:
    if permission == "console-role":
        return role in ROLE_GRANTS
    if role is None:
        return False
    if permission == "admin-never":
        return False
    if permission.startswith("admin-"):
        grants = ROLE_GRANTS.get(role, {})
        if permission == "admin-any-read":
            return any("can_read" in grants.get(r, ()) for r in resource)
        needed = "can_read" if permission == "admin-read" else "can_write"
        return all(needed in grants.get(r, ()) for r in resource)
    if view_name in FAB_SECURITY_VIEWS:
        return role == "Admin"
    return permission in ROLE_GRANTS.get(role, {}).get(resource, frozenset())


def build_url(rule: Any, view: Any, ids: dict[type, str], write_only: bool) -> str:
    values: dict[str, str] = {}
    for arg in rule.arguments:
        if arg == "pk":
            model = getattr(getattr(view, "datamodel", None), "obj", None)
            if isinstance(view, CoachdeskModelView) and (write_only or model not in ids):
                is_uuid = "Uuid" in type(pk_column(model).type).__name__
                values[arg] = str(uuid.uuid4()) if is_uuid else NO_SUCH_INT
            elif isinstance(view, CoachdeskModelView):
                values[arg] = ids[model]
            else:
                values[arg] = NO_SUCH_INT if write_only else "1"
        elif arg == "column":
            mapper = orm.class_mapper(view.datamodel.obj) if isinstance(view, CoachdeskModelView) else None
            relations = [
                c
                for c in (*getattr(view, "filter_columns", ()), *(getattr(view, "add_columns", None) or []))
                if mapper is not None and isinstance(mapper.attrs.get(c), orm.RelationshipProperty)
            ]
            values[arg] = relations[0] if relations else "none"
        elif arg == "name":
            values[arg] = next(iter(getattr(view, "actions", {}) or {}), "none")
        elif arg == "filename":
            values[arg] = "coachdesk/coachdesk.css" if rule.endpoint == "static" else "no-such-file.txt"
        elif isinstance(rule._converters.get(arg), IntegerConverter):
            values[arg] = NO_SUCH_INT
        else:
            values[arg] = "x"
    url = rule.rule
    for key, value in values.items():
        url = url.replace(f"<{key}>", value)
        for conv in ("string", "int", "path"):
            url = url.replace(f"<{conv}:{key}>", value)
    return url


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


def classify_routes(app: Flask) -> tuple[list[tuple], list[str]]:
    """(rule, view, method, permission, resource, public) per rule, and every rule outside the matrix."""
    from app.web.admin import admin_view_resources

    views = {type(v).__name__: v for v in app.appbuilder.baseviews}
    from flask_admin.contrib.fileadmin import BaseFileAdmin

    admin_views = admin_view_resources(app)
    admin_objs = {v.endpoint: v for a in app.extensions.get("admin", []) for v in a._views}
    table: list[tuple] = []
    undeclared: list[str] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        endpoint = rule.endpoint
        view_name, _, method = endpoint.partition(".")
        view = views.get(view_name)
        if endpoint in PUBLIC_ENDPOINTS or (view_name in admin_views and method == "static"):
            table.append((rule, view, method, None, None, True))
            continue
        if endpoint in CONSOLE_ROLE_ENDPOINTS:
            table.append((rule, view, method, "console-role", None, False))
            continue
        if view_name in admin_views:
            resources = admin_views[view_name]
            if not resources or any(r not in ALL_RESOURCES for r in resources):
                undeclared.append(f"{endpoint}: /admin view guarded by undeclared resources {resources!r}")
            else:
                http = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
                needed = admin_permission(view_name, method, http, resources)
                if needed == "admin-write" and isinstance(admin_objs.get(view_name), BaseFileAdmin):
                    needed = "admin-never"  # the export/archive browsers are read-only for every role
                table.append((rule, None, method, needed, resources, False))
            continue
        if view is None:
            undeclared.append(f"{endpoint}: no view and not on the public allow-list")
            continue
        permission = required_permission(view, method)
        resource = view.class_permission_name
        if permission is None:
            undeclared.append(f"{endpoint}: no permission check and not on the public allow-list")
        elif resource not in ALL_RESOURCES and view_name not in FAB_SECURITY_VIEWS:
            undeclared.append(f"{endpoint}: resource {resource!r} is not declared in roles.py")
        elif permission not in view.base_permissions and view_name not in FAB_SECURITY_VIEWS:
            undeclared.append(f"{endpoint}: {permission} is not among the view's permissions")
        else:
            table.append((rule, view, method, permission, resource, False))
    return table, undeclared


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
