"""Entries in the console's own (FAB) menu that lead to /admin.

Small FAB views rather than plain links, so the menu item carries the same
permission as the area it opens (``CatalogueGrids``, ``AuditExports``) and
``flask roles sync`` grants its ``menu_access`` to exactly the roles that may
go there.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import lazy_gettext as _l

MENU_CATEGORY = "Tools"
# FAB's menu translates labels when it renders (``_(item.label)``), so plain strings
# go to add_view; these marks put them in the message catalogue.
MENU_LABELS = (_l("Tools"), _l("Catalogue grids"), _l("Audit files"))


class CatalogueGridsLink(BaseView):
    route_base = "/catalogue-grids"
    default_view = "index"
    class_permission_name = "CatalogueGrids"
    method_permission_name = {"index": "read"}

    @expose("/")
    @has_access
    def index(self) -> Any:
        return redirect(url_for("admin_home.index"))


class AuditFilesLink(BaseView):
    route_base = "/audit-files"
    default_view = "index"
    class_permission_name = "AuditExports"
    method_permission_name = {"index": "read"}

    @expose("/")
    @has_access
    def index(self) -> Any:
        return redirect(url_for("admin_exports.index_view"))


def register(appbuilder: Any) -> None:
    appbuilder.add_view(
        CatalogueGridsLink,
        "Catalogue grids",
        icon="fa-table",
        category=MENU_CATEGORY,
    )
    appbuilder.add_view(
        AuditFilesLink,
        "Audit files",
        icon="fa-folder-open",
        category=MENU_CATEGORY,
    )
