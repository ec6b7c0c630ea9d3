"""The console menu grouped by task: eight dropdowns in one navbar row, whatever each area registered.

Area modules keep registering their views under their own category (``register_area``, ``add_view``);
``regroup_menu`` runs once every view is in and moves each entry to its task group (by item name, else by
the category it came from), adds section headers to the long groups and gives FAB's own security views
plain names. The menu's category names are the group keys, so ``flask roles sync`` grants ``menu_access``
on the groups a role can see.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from flask_appbuilder.menu import MenuItem
from flask_babel import lazy_gettext as _l


class Group(NamedTuple):
    key: str
    label: Any
    icon: str


GROUPS: tuple[Group, ...] = (
    Group("Customers", _l("Customers"), "fa-users"),
    Group("Coaching", _l("Coaching"), "fa-heartbeat"),
    Group("Schedule", _l("Schedule"), "fa-calendar"),
    Group("Billing", _l("Billing"), "fa-credit-card"),
    Group("Engagement", _l("Engagement"), "fa-comments"),
    Group("Insights", _l("Insights"), "fa-bar-chart"),
    Group("Compliance", _l("Compliance"), "fa-shield"),
    Group("Settings", _l("Settings"), "fa-cog"),
)
GROUP_KEYS = tuple(g.key for g in GROUPS)

# Section headers inside a group's dropdown (None: no header).
SECTIONS: dict[str, Any] = {
    "plans": _l("Plans"),
    "catalogue": _l("Catalogue"),
    "messages": _l("Messages"),
    "community": _l("Community"),
    "automation": _l("Automation"),
    "audit": _l("Audit"),
    "retention": _l("Retention"),
    "console": _l("Console accounts"),
    "platform": _l("Platform accounts"),
    "integrations": _l("Integrations"),
}

# Menu item name -> (group, section), in the order shown inside each group.
ITEM_GROUPS: dict[str, tuple[str, str | None]] = {
    "Customer profiles": ("Customers", None),
    "Platform users": ("Customers", None),
    "Coach assignments": ("Customers", None),
    "Assessments": ("Customers", None),
    "Support tickets": ("Customers", None),
    "Program builder": ("Coaching", "plans"),
    "Plan calendar": ("Coaching", "plans"),
    "Programs": ("Coaching", "plans"),
    "Program items": ("Coaching", "plans"),
    "Customer plans": ("Coaching", "plans"),
    "Plan items": ("Coaching", "plans"),
    "Exercises": ("Coaching", "catalogue"),
    "Meals": ("Coaching", "catalogue"),
    "Habits": ("Coaching", "catalogue"),
    "Catalogue grids": ("Coaching", "catalogue"),
    "Calendar": ("Schedule", None),
    "Sessions": ("Schedule", None),
    "Session participants": ("Schedule", None),
    "Coach availability": ("Schedule", None),
    "Waitlist": ("Schedule", None),
    "Subscriptions": ("Billing", None),
    "Invoices": ("Billing", None),
    "Payments": ("Billing", None),
    "Products": ("Billing", None),
    "Promotions": ("Billing", None),
    "Inbox": ("Engagement", "messages"),
    "Threads": ("Engagement", "messages"),
    "Messages": ("Engagement", "messages"),
    "Announcements": ("Engagement", "messages"),
    "Deliveries": ("Engagement", "messages"),
    "Delivered mail": ("Engagement", "messages"),
    "Community posts": ("Engagement", "community"),
    "Reactions": ("Engagement", "community"),
    "Challenges": ("Engagement", "community"),
    "Challenge results": ("Engagement", "community"),
    "Badges": ("Engagement", "community"),
    "Customer badges": ("Engagement", "community"),
    "Automation rules": ("Engagement", "automation"),
    "Rule executions": ("Engagement", "automation"),
    "Overview": ("Insights", None),
    "Charts": ("Insights", None),
    "Progress metrics": ("Insights", None),
    "Engagement events": ("Insights", None),
    "Cohort snapshots": ("Insights", None),
    "Recommendations": ("Insights", None),
    "Data-subject requests": ("Compliance", None),
    "Consents": ("Compliance", None),
    "Jobs": ("Compliance", None),
    "Audit trail": ("Compliance", "audit"),
    "Audit exports": ("Compliance", "audit"),
    "Audit files": ("Compliance", "audit"),
    "Retention and legal holds": ("Compliance", "retention"),
    "Retention policies": ("Compliance", "retention"),
    "List Users": ("Settings", "console"),
    "List Roles": ("Settings", "console"),
    "Base Permissions": ("Settings", "console"),
    "Views/Menus": ("Settings", "console"),
    "Permission on Views/Menus": ("Settings", "console"),
    "Platform roles": ("Settings", "platform"),
    "User roles": ("Settings", "platform"),
    "Sign-in sessions": ("Settings", "platform"),
    "API clients": ("Settings", "integrations"),
    "API access log": ("Settings", "integrations"),
    "Wearable authorizations": ("Settings", "integrations"),
    "Domain events": ("Settings", "integrations"),
}

# A view registered later under its area's own category still lands in a group.
CATEGORY_GROUPS: dict[str, str] = {
    "Customers": "Customers",
    "Identity": "Customers",
    "Training": "Coaching",
    "Scheduling": "Schedule",
    "Commerce": "Billing",
    "Engagement": "Engagement",
    "Automation": "Engagement",
    "Analytics": "Insights",
    "Dashboards": "Insights",
    "Compliance": "Compliance",
    "Security": "Settings",
    "Tools": "Settings",
}

# FAB's security views, by the names its permissions use, under the words an administrator uses.
FAB_LABELS: dict[str, Any] = {
    "List Users": _l("Console users"),
    "List Roles": _l("Console roles"),
    "Base Permissions": _l("Actions"),
    "Views/Menus": _l("Resources"),
    "Permission on Views/Menus": _l("Grants"),
}
# FAB's user groups are not used by the console (roles are granted to accounts directly).
HIDDEN = frozenset({"List Groups"})


def placement(name: str, category: str | None) -> tuple[str, str | None]:
    """The (group, section) of a menu entry: its own line in ITEM_GROUPS, else its category's group."""
    if name in ITEM_GROUPS:
        return ITEM_GROUPS[name]
    return CATEGORY_GROUPS.get(category or "", "Settings"), None


def _entries(menu: Any) -> list[tuple[str | None, MenuItem]]:
    entries = []
    for top in menu.menu:
        if top.childs:
            entries += [(top.name, child) for child in top.childs if child.name != "-"]
        elif top.name != "-":
            entries.append((None, top))
    return entries


def regroup_menu(appbuilder: Any) -> None:
    """Rebuild FAB's menu as the eight task groups (idempotent; run after every view is registered)."""
    order = {name: i for i, name in enumerate(ITEM_GROUPS)}
    placed: dict[str, list[tuple[int, str | None, MenuItem]]] = {key: [] for key in GROUP_KEYS}
    for category, item in _entries(appbuilder.menu):
        if item.name in HIDDEN:
            continue
        if item.name in FAB_LABELS:
            item.label = FAB_LABELS[item.name]
        group, section = placement(item.name, category)
        placed[group].append((order.get(item.name, len(order)), section, item))
    menu = []
    for group in GROUPS:
        items = sorted(placed[group.key], key=lambda entry: entry[0])
        if not items:
            continue
        childs: list[MenuItem] = []
        current: str | None = None
        for _position, section, item in items:
            if section != current:
                # A header opens a section; a plain divider ends one before unsectioned entries.
                childs.append(MenuItem(name="-", label=SECTIONS[section] if section else ""))
            current = section
            childs.append(item)
        menu.append(MenuItem(name=group.key, label=group.label, icon=group.icon, childs=childs))
    appbuilder.menu.menu = menu


def menu_entries(appbuilder: Any) -> list[tuple[str, str]]:
    """(group, item name) of every entry in the menu, headers left out."""
    return [(top.name, child.name) for top in appbuilder.menu.get_list() for child in top.childs if child.name != "-"]
