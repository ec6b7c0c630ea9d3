"""Saved list views: save the list's current query under a name, open it, list and delete one's own.

``/saved-views/`` lists the person's views; each console list carries a "Saved views" menu and a
save form (``saved_views/_controls.html``, included by the list widget). Saving needs ``SavedViews``
write and read access to the list; opening checks the saved query again against the list as it is
now and hands the list its query (the list checks its own permission and row scope, as always).
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from app.extensions import db
from app.services import saved_views as service
from app.web.views.base.model_view import CoachdeskModelView


def list_params(view_name: str) -> service.ListParams | None:
    """The list parameters of a console list the person may read, by its view's class name."""
    for view in current_app.appbuilder.baseviews:
        if type(view).__name__ == view_name and isinstance(view, CoachdeskModelView):
            if not current_app.appbuilder.sm.has_access("can_read", view.class_permission_name):
                return None
            return service.ListParams(
                endpoint=f"{view_name}.list",
                view_name=view_name,
                filters=tuple(view.filter_columns or ()),
                order_columns=tuple(view.order_columns or ()),
                list_columns=tuple(view.list_columns or ()),
                searchable=bool(view.search_text_columns),
            )
    return None


def saved_views_for(view_name: str) -> dict[str, Any] | None:
    """What the list's controls show: the person's views of this list, and whether they may save."""
    sm = current_app.appbuilder.sm
    user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False) or not sm.has_access("can_read", "SavedViews"):
        return None
    return {
        "views": service.list_for(db.session, user.id, f"{view_name}.list"),
        "can_save": sm.has_access("can_write", "SavedViews"),
        "query": request.query_string.decode("utf-8", "replace"),
    }


class SavedViewsView(BaseView):
    route_base = "/saved-views"
    default_view = "index"
    class_permission_name = "SavedViews"
    method_permission_name = {"index": "read", "open": "read", "save": "write", "delete": "write"}

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self._index()

    def _index(self, error: str | None = None, status: int = 200) -> Any:
        views = service.list_for(db.session, g.user.id)
        titles = {
            f"{type(v).__name__}.list": str(getattr(v, "list_title", "") or type(v).__name__)
            for v in current_app.appbuilder.baseviews
            if isinstance(v, CoachdeskModelView)
        }
        return self.render_template("saved_views/index.html", views=views, titles=titles, error=error), status

    @expose("/save", methods=["POST"])
    @has_access
    def save(self) -> Any:
        view_name = request.form.get("view", "")
        params = list_params(view_name)
        if params is None:
            abort(404)
        query = request.form.get("query", "")
        try:
            saved = service.save(db.session, g.user.id, params, request.form.get("name", ""), query)
        except service.SavedViewError as exc:
            db.session.rollback()
            return self._index(str(exc), 400)
        db.session.commit()
        flash(_("View \u201c%(name)s\u201d saved.", name=saved.name), "info")
        return redirect(_list_url(saved.endpoint, saved.query))

    @expose("/<int:view_id>/open")
    @has_access
    def open(self, view_id: int) -> Any:
        saved = service.get_own(db.session, g.user.id, view_id)
        if saved is None:
            abort(404)
        params = list_params(saved.endpoint.rsplit(".", 1)[0])
        if params is None:
            abort(404)
        try:
            query = service.clean_query(params, saved.query)
        except service.SavedViewError as exc:
            flash(_("The saved view no longer fits this list: %(problem)s", problem=str(exc)), "warning")
            return redirect(_list_url(saved.endpoint, ""))
        return redirect(_list_url(saved.endpoint, query))

    @expose("/<int:view_id>/delete", methods=["POST"])
    @has_access
    def delete(self, view_id: int) -> Any:
        if not service.delete(db.session, g.user.id, view_id):
            abort(404)
        db.session.commit()
        flash(_("View deleted."), "info")
        return redirect(url_for(".index"))


def _list_url(endpoint: str, query: str) -> str:
    base = url_for(endpoint)
    return f"{base}?{query}" if query else base


def register(appbuilder: Any) -> None:
    appbuilder.add_view_no_menu(SavedViewsView)
    current_app.add_template_global(saved_views_for, "saved_views_for")
