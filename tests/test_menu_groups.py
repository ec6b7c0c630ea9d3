"""The menu by task: every entry in one of the eight groups, in order, and FAB's internals under plain names."""

from __future__ import annotations

import re

from flask import Flask

from app.web.views.menu_groups import FAB_LABELS, GROUP_KEYS, HIDDEN, ITEM_GROUPS, menu_entries
from tests.support.apps import make_accounts
from tests.support.web import login

FAB_INTERNALS = (
    "Base Permissions",
    "Views/Menus",
    "Permission on Views/Menus",
    "List Groups",
    "List Users",
    "List Roles",
    "unused for OID auth",
    "OID",
    "LDAP",
)


def test_every_menu_entry_sits_in_one_of_the_eight_groups_in_order(sqlite_app: Flask) -> None:
    appbuilder = sqlite_app.appbuilder
    with sqlite_app.app_context():
        entries = menu_entries(appbuilder)
        tops = [item.name for item in appbuilder.menu.get_list()]
    assert tops == list(GROUP_KEYS)  # every group has entries, in the order of the task list
    names = [name for _group, name in entries]
    assert len(names) == len(set(names)), "an entry in two groups"
    for group, name in entries:
        expected = ITEM_GROUPS.get(name)
        assert expected is None or expected[0] == group, (name, group)
    # The seed areas' entries are all placed by name (a fallback by category is for views added later).
    assert {"Inbox", "Customer profiles", "Invoices", "Overview", "Audit trail", "List Users"} <= set(names)
    assert not HIDDEN & set(names)


def test_admin_sees_the_groups_and_plain_names_never_fab_internals(sqlite_app: Flask) -> None:
    accounts = make_accounts(sqlite_app)
    client = sqlite_app.test_client()
    login(client, "admin", accounts["Admin"].password)
    home = client.get("/").get_data(as_text=True)
    groups = re.findall(r'<li class="dropdown cd-menu-group" data-group="([^"]+)"', home)
    assert groups == list(GROUP_KEYS)
    navbar = home[home.index('class="navbar') : home.index("navbar-right")]
    for label in ("Console users", "Console roles", "Resources", "Grants"):
        assert f"{label}</a>" in navbar
    assert 'class="dropdown-header">Integrations<' in navbar
    for word in FAB_INTERNALS:
        assert word not in navbar, word
    # The pages themselves: list titles and the new-user form speak the console's words.
    users = client.get("/users/list/").get_data(as_text=True)
    assert "Console users" in users and "List Users" not in users
    form = client.get("/users/add").get_data(as_text=True)
    assert 'name="username"' in form
    for word in ("OID", "LDAP", "Groups", 'name="groups"'):
        assert word not in form, word
    grants = client.get("/permissionviews/list/").get_data(as_text=True)
    # (Resource names in its filters are data: FAB's own menu entries keep their names there.)
    assert "List Permissions on Views/Menus" not in grants and str(FAB_LABELS["Permission on Views/Menus"]) in grants


def test_a_coach_sees_only_the_groups_it_can_use(sqlite_app: Flask) -> None:
    accounts = make_accounts(sqlite_app)
    client = sqlite_app.test_client()
    login(client, "coach", accounts["Coach"].password)
    home = client.get("/").get_data(as_text=True)
    groups = re.findall(r'data-group="([^"]+)"', home)
    assert "Coaching" in groups and "Settings" not in groups
    assert groups == [g for g in GROUP_KEYS if g in groups]
    # A section header shows only above entries the coach can open.
    coaching = home[home.index('data-group="Coaching"') :]
    coaching = coaching[: coaching.index("</ul>")]
    assert 'class="dropdown-header">Plans<' in coaching
    opened = client.get(re.search(r'href="([^"]+)"><i class="fa fa-fw fa-th"', coaching).group(1))
    assert opened.status_code == 200 and "Program" in opened.get_data(as_text=True)
