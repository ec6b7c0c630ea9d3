"""What the route tests know about the routes: who may call each one, and a URL to call it with."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask
from sqlalchemy import orm
from werkzeug.routing import IntegerConverter

from app.policy.roles import ALL_RESOURCES, ROLE_GRANTS
from app.services.data_access import pk_column
from app.web.views.base.model_view import CoachdeskModelView

FAB_SECURITY_VIEWS = {
    "UserDBModelView",
    "RoleModelView",
    "UserGroupModelView",
    "PermissionModelView",
    "ViewMenuModelView",
    "PermissionViewModelView",
    "ResetPasswordView",
    "MenuApi",
}


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
    "coachdesk_plotly.plotly_js",  # plotly.js (vendored cartesian bundle): a static asset
    "coachdesk_plotly.plotly_locale_js",  # plotly.js locale files (es, de): static assets
    "ScheduleFeedView.feed",  # a coach's iCal feed at a secret-token address (calendar apps poll it signed out)
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
        # The REST API ignores the console session (Bearer keys and scopes; tests/test_api_*.py check it).
        api = view_name == "api_v1"
        if api or endpoint in PUBLIC_ENDPOINTS or (view_name in admin_views and method == "static"):
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
