"""One permission query per request instead of one per check.

A list page asks FAB's ``has_access`` a dozen times or more (route, add/edit/delete
buttons, actions, export link, related tabs); stock FAB runs a four-table join for
each. This mixin loads the roles' (permission, resource) pairs once per request.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from flask_appbuilder.security.sqla.models import assoc_permissionview_role


class PermissionCacheMixin:
    def exist_permission_on_roles(self, view_name: str, permission_name: str, role_ids: list[int]) -> bool:
        if not has_request_context():
            return super().exist_permission_on_roles(view_name, permission_name, role_ids)  # type: ignore[misc]
        cache: dict[frozenset[int], set[tuple[str, str]]] = g.__dict__.setdefault("cd_permission_cache", {})
        key = frozenset(role_ids)
        if key not in cache:
            cache[key] = self._role_permission_pairs(role_ids)
        return (permission_name, view_name) in cache[key]

    def _role_permission_pairs(self, role_ids: list[int]) -> set[tuple[str, str]]:
        sm: Any = self
        pv, perm, view = sm.permissionview_model, sm.permission_model, sm.viewmenu_model
        rows = (
            sm.session.query(perm.name, view.name)
            .select_from(pv)
            .join(assoc_permissionview_role, pv.id == assoc_permissionview_role.c.permission_view_id)
            .join(perm, pv.permission_id == perm.id)
            .join(view, pv.view_menu_id == view.id)
            .filter(assoc_permissionview_role.c.role_id.in_(role_ids))
            .all()
        )
        return {(p, v) for p, v in rows}
