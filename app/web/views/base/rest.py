"""``CoachdeskModelRestApi``: the base of REST resources, with the console's permissions, scope and secrets rule."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_appbuilder import ModelRestApi, expose
from flask_appbuilder.api import get_item_schema, rison, safe
from flask_appbuilder.security.decorators import permission_name, protect

from app.services.data_access import MAX_PAGE_SIZE
from app.web.views.base.columns import SecretColumnError, is_secret
from app.web.views.base.datamodel import DEFAULT_PAGE_SIZE, ScopedSQLAInterface

API_METHOD_PERMISSIONS = {"get": "read", "get_list": "read", "post": "write", "put": "write", "delete": "write"}


class CoachdeskModelRestApi(ModelRestApi):
    """Base for REST resources: read/write permissions, the same row scope, no secrets, UUID-safe routes.

    Exposes nothing unless configured (Superset's rule): list/show/add/edit columns must be explicit
    and may not name a secret column. ``/_info`` is off, because FAB fills it with whole related
    tables, unscoped. The datamodel must be a ``ScopedSQLAInterface``.
    """

    include_route_methods = {"get", "get_list", "post", "put", "delete"}
    method_permission_name = API_METHOD_PERMISSIONS
    page_size = DEFAULT_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE
    allow_browser_login = True

    def __init__(self) -> None:
        if not isinstance(self.datamodel, ScopedSQLAInterface):
            raise SecretColumnError(f"{type(self).__name__}: the datamodel must be a ScopedSQLAInterface")
        model = self.datamodel.obj
        for attr in ("list_columns", "show_columns", "add_columns", "edit_columns"):
            columns = getattr(self, attr, None)
            if not columns:
                raise SecretColumnError(f"{type(self).__name__}.{attr} must be explicit")
            for column in columns:
                if is_secret(model, column):
                    raise SecretColumnError(f"{type(self).__name__}.{attr} includes the secret column {column!r}")
        super().__init__()

    @expose("/<pk>", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    @rison(get_item_schema)
    def get(self, pk: str, **kwargs: Any) -> Response:
        """One item by key (integer or UUID); a key of the wrong shape, or outside the scope, is a 404."""
        return self.get_headless(pk, **kwargs)
