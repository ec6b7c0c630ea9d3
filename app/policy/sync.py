"""Make FAB's roles and permissions in the database match ``roles.py`` exactly.

Run by ``flask roles sync`` at deploy time (never on process start: several
workers syncing at once race and duplicate rows, see FAB#625).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from app.policy.roles import ALL_RESOURCES, CONSOLE_ROLES, READ, ROLE_GRANTS, WRITE

MENU_ACCESS = "menu_access"


@dataclass
class SyncReport:
    created_roles: list[str] = field(default_factory=list)
    granted: int = 0
    revoked: int = 0


def _menu_items(appbuilder: Any) -> list[tuple[str | None, str, str | None]]:
    """(category, item name, resource of the item's view) for every menu entry."""
    entries: list[tuple[str | None, str, str | None]] = []
    for top in appbuilder.menu.get_list():
        items = [(top.name, child) for child in top.childs if child.name != "-"] or [(None, top)]
        for category, item in items:
            view = item.baseview
            resource = getattr(view, "class_permission_name", None) if view is not None else None
            entries.append((category, item.name, resource))
    return entries


def sync_roles(appbuilder: Any) -> SyncReport:
    """Create the console roles and set each one's permissions to exactly what roles.py grants."""
    sm = appbuilder.sm
    report = SyncReport()
    for role_name in CONSOLE_ROLES:
        if sm.find_role(role_name) is None:
            sm.add_role(role_name)
            report.created_roles.append(role_name)
    # Create every permission-view the registered views declare. FAB then tries to drop
    # the read/write pairs a read-only view does not use, which other views of the same
    # resource still need; it refuses, with a warning per pair. That is expected here.
    fab_log = logging.getLogger("flask_appbuilder.security.sqla.manager")
    level = fab_log.level
    fab_log.setLevel(logging.ERROR)
    try:
        appbuilder.add_permissions(update_perms=True)
    finally:
        fab_log.setLevel(level)
    for resource in ALL_RESOURCES:
        for action in (READ, WRITE):
            sm.add_permission_view_menu(action, resource)

    menu = _menu_items(appbuilder)
    for role_name in CONSOLE_ROLES:
        role = sm.find_role(role_name)
        grants = ROLE_GRANTS[role_name]
        wanted: set[tuple[str, str]] = {(a, r) for r, actions in grants.items() for a in actions}
        visible_categories = set()
        for category, item, resource in menu:
            if role_name == "Admin" or (resource and READ in grants.get(resource, ())):
                wanted.add((MENU_ACCESS, item))
                if category:
                    visible_categories.add(category)
        wanted |= {(MENU_ACCESS, c) for c in visible_categories}
        if role_name == "Admin":
            # Admin also keeps FAB's own security views (users, roles, permissions).
            wanted |= {
                (pv.permission.name, pv.view_menu.name)
                for pv in sm.session.query(sm.permissionview_model).all()
                if pv.view_menu.name not in ALL_RESOURCES
            }
        current = {(pv.permission.name, pv.view_menu.name): pv for pv in role.permissions}
        for action, resource in sorted(wanted - current.keys()):
            pv = sm.add_permission_view_menu(action, resource)
            sm.add_permission_role(role, pv)
            report.granted += 1
        for key in sorted(current.keys() - wanted):
            sm.del_permission_role(role, current[key])
            report.revoked += 1
    return report
