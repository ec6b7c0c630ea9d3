"""Flask-Admin at ``/admin``: catalogue bulk grids and read-only audit file browsers.

``register_admin(app)`` builds a fresh ``Admin`` and fresh views for each app
(a view instance owns its blueprint, and each test process builds several
apps). Endpoints are all prefixed ``admin_`` in lower case, so they cannot clash
with FAB's blueprints, which are named after view classes.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.policy.roles import READ
from app.web.admin import console_links
from app.web.admin.files import AUDIT_FILES_RESOURCE, AuditFileBrowser
from app.web.admin.grids import CATALOGUE_AREA, GRIDS
from app.web.admin.guard import FabPermissionMixin, fab_allows

ENDPOINT_PREFIX = "admin_"
URL = "/admin"


class AdminHome(FabPermissionMixin, AdminIndexView):
    """The /admin index: open to whoever may use at least one area, lists what they can reach."""

    def fab_can_read(self) -> bool:
        return fab_allows(READ, CATALOGUE_AREA) or fab_allows(READ, AUDIT_FILES_RESOURCE)

    def fab_can_write(self) -> bool:
        return False

    @expose()
    def index(self) -> Any:
        reachable = [
            {"name": view.name, "url": view.get_url(f"{view.endpoint}.index_view")}
            for view in self.admin._views
            if view is not self and view.is_accessible()
        ]
        return self.render("admin/coachdesk_index.html", reachable_views=reachable)


def register_admin(app: Flask) -> Admin:
    """Mount Flask-Admin on ``app`` under /admin with every view guarded by FAB permissions."""
    admin = Admin(
        app,
        name=app.config.get("APP_NAME", "Coachdesk"),
        url=URL,
        endpoint=ENDPOINT_PREFIX + "home",
        index_view=AdminHome(name=_l("Overview"), endpoint=ENDPOINT_PREFIX + "home", url=URL),
        theme=Bootstrap4Theme(
            base_template="admin/coachdesk_master.html",
            swatch=app.config.get("FLASK_ADMIN_SWATCH", "default"),
            fluid=True,
        ),
    )
    for view_cls, model, suffix, label in GRIDS:
        admin.add_view(view_cls(model, db, name=label, endpoint=ENDPOINT_PREFIX + suffix, url=f"{URL}/{suffix}"))
    for config_key, suffix, label in (
        ("EXPORTS_DIR", "exports", _l("Audit exports")),
        ("ARCHIVE_DIR", "archive", _l("Archive")),
    ):
        admin.add_view(
            AuditFileBrowser(config_key, name=label, endpoint=ENDPOINT_PREFIX + suffix, url=f"{URL}/{suffix}")
        )
    with app.app_context():
        console_links.register(app.appbuilder)
    return admin


def admin_view_resources(app: Flask) -> dict[str, tuple[str, ...]]:
    """Blueprint name -> the FAB resources whose ``can_read`` opens it (``can_write`` on all of them to change data).

    For permission-matrix tests; the index opens with either area resource, and the file browsers never write.
    """
    result: dict[str, tuple[str, ...]] = {}
    for admin in app.extensions.get("admin", []):
        for view in admin._views:
            if isinstance(view, AdminHome):
                result[view.endpoint] = (CATALOGUE_AREA, AUDIT_FILES_RESOURCE)  # either one
            else:
                result[view.endpoint] = tuple(view._resources())
    return result


__all__ = ["register_admin", "admin_view_resources", "FabPermissionMixin"]
