"""One guard for every Flask-Admin view: FAB permissions decide, as on the rest of the console.

Flask-Admin views are open to everyone by default (``is_accessible`` returns
True) and its ``ajax_update`` endpoint does not even look at ``can_edit``, so
the checks live here, in ``_handle_view``, which runs before every exposed
method: reading needs ``can_read`` on the area resource *and* the view's
resource; anything else (any non-GET request, and the create/edit/delete pages
themselves) needs ``can_write`` on both. The ``can_*`` flags follow the same
rule so that the UI never offers what would be refused.
"""

from __future__ import annotations

from typing import Any, ClassVar

from flask import abort, current_app, has_request_context, redirect, request, url_for
from flask_login import current_user

from app.policy.roles import READ, WRITE

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def fab_allows(action: str, resource: str) -> bool:
    """Does the signed-in console user hold ``action`` on ``resource``?

    Cached for the request: Flask-Admin asks every view's ``is_accessible`` to draw its menu.
    """
    if not has_request_context() or not current_user.is_authenticated:
        return False
    req = request._get_current_object()
    cache: dict[tuple[str, str], bool] = req.__dict__.setdefault("_cd_fab_access", {})
    if (action, resource) not in cache:
        cache[(action, resource)] = bool(current_app.appbuilder.sm.has_access(action, resource))
    return cache[(action, resource)]


class FabPermissionMixin:
    """Mix into any Flask-Admin view, before the Flask-Admin base class."""

    #: The FAB resource of the data this view shows (``roles.py``), e.g. "Exercises".
    fab_resource: ClassVar[str | None] = None
    #: The feature resource that opens the area, e.g. "CatalogueGrids".
    fab_area_resource: ClassVar[str | None] = None
    #: Exposed methods that only read, when called with a safe HTTP method.
    read_only_endpoints: ClassVar[frozenset[str]] = frozenset(
        {"index", "index_view", "details_view", "export", "ajax_lookup", "download"}
    )

    def _resources(self) -> list[str]:
        return [r for r in (self.fab_area_resource, self.fab_resource) if r]

    def fab_can_read(self) -> bool:
        resources = self._resources()
        return bool(resources) and all(fab_allows(READ, r) for r in resources)

    def fab_can_write(self) -> bool:
        resources = self._resources()
        return bool(resources) and all(fab_allows(WRITE, r) for r in resources)

    # Flask-Admin hooks -------------------------------------------------------------
    def render(self, template: str, **kwargs: Any) -> Any:
        # Every /admin page links back to the console and can sign out.
        appbuilder = current_app.appbuilder
        kwargs.setdefault("console_url", appbuilder.get_url_for_index)
        kwargs.setdefault("logout_url", appbuilder.get_url_for_logout)
        kwargs.setdefault("appbuilder", appbuilder)  # the console's navbar (task menu, full name) on /admin too
        return super().render(template, **kwargs)  # type: ignore[misc]

    def is_accessible(self) -> bool:
        return self.fab_can_read()

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        if current_user.is_authenticated:
            abort(403)
        sm = current_app.appbuilder.sm
        return redirect(url_for(sm.auth_view.endpoint + ".login", next=request.full_path.rstrip("?")))

    def is_write_request(self, name: str) -> bool:
        return request.method not in SAFE_METHODS or name not in self.read_only_endpoints

    def _handle_view(self, name: str, **kwargs: Any) -> Any:
        if not self.is_accessible():
            return self.inaccessible_callback(name, **kwargs)
        if self.is_write_request(name) and not self.fab_can_write():
            abort(403)
        return None


class FabWritableFlagsMixin(FabPermissionMixin):
    """For model views: create/edit/delete are offered only to those who may write."""

    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return self.fab_can_write()

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return self.fab_can_write()

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return self.fab_can_write()
