"""/admin in the console's layout: the task menu, the person's full name, the console's "Logout", translated paging."""

from __future__ import annotations

import re

from flask import Flask

from app.extensions import db
from app.web.views.menu_groups import GROUP_KEYS
from tests.support.apps import make_accounts
from tests.support.web import login


def test_admin_pages_share_the_console_navbar_in_the_readers_language(sqlite_app: Flask) -> None:
    accounts = make_accounts(sqlite_app)
    with sqlite_app.app_context():
        user = sqlite_app.appbuilder.sm.find_user(username="admin")
        full_name = user.get_full_name()
        db.session.remove()
    assert full_name != "admin"
    client = sqlite_app.test_client()
    login(client, "admin", accounts["Admin"].password)
    for url in ("/admin/", "/admin/exercises/"):
        page = client.get(url, headers={"Accept-Language": "de"}).get_data(as_text=True)
        assert re.findall(r'<li class="nav-item dropdown cd-menu-group" data-group="([^"]+)"', page) == list(GROUP_KEYS)
        user_menu = page[page.index("cd-admin-user") :]
        assert f"</i> {full_name}</a>" in user_menu
        assert "Abmelden" in user_menu and "Sign out" not in page
        assert "coachdesk/admin_layout.css" in page and "coachdesk/favicon.svg" in page
    grid = client.get("/admin/exercises/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert re.search(r"50 elementos\s*</a>", grid) and "50 items" not in grid
    # A link in the console's menu opens the console page it names.
    link = re.search(r'<a class="dropdown-item" href="([^"]+)"><i class="fa fa-fw fa-bicycle"', grid)
    assert link, "Exercises in the Coaching menu"
    opened = client.get(link.group(1), headers={"Accept-Language": "en"})
    assert opened.status_code == 200 and "Exercises" in opened.get_data(as_text=True)
