"""``CoachdeskModelView``: FAB's ``ModelView`` assembled from this package's mixins.

Each mixin holds one concern (list, filters, paging, records, actions, autocomplete, export,
forms, columns, hardening); this class holds the configuration every entity view declares and
the start-up work that turns it into FAB's settings.
"""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask_appbuilder import ModelView
from flask_appbuilder.hooks import before_request

from app.policy.roles import READ_WRITE_METHOD_MAP
from app.services.data_access import pk_column
from app.web.views.base.actions import ActionsMixin
from app.web.views.base.autocomplete import AutocompleteMixin, register_model_view
from app.web.views.base.columns import ColumnsMixin
from app.web.views.base.datamodel import DEFAULT_PAGE_SIZE
from app.web.views.base.export import ExportMixin
from app.web.views.base.filters import FilterMixin
from app.web.views.base.forms import TEXT_MAX_LENGTH, FormFieldsMixin
from app.web.views.base.hardening import HardenedViewMixin, refuse_bad_paging
from app.web.views.base.listing import CoachdeskListWidget, ListMixin
from app.web.views.base.paging import KeysetPagingMixin
from app.web.views.base.records import RecordMixin

# FAB prefixes "can_" itself, so the map it wants says "read"/"write".
METHOD_PERMISSIONS: dict[str, str] = {k: v.removeprefix("can_") for k, v in READ_WRITE_METHOD_MAP.items()}

# Endpoints that load a row to change it (the edit form's GET too): they read in the write scope.
_WRITE_ENDPOINTS = ("edit", "delete", "action", "action_post")


class CoachdeskModelView(
    ListMixin,
    FilterMixin,
    KeysetPagingMixin,
    RecordMixin,
    ActionsMixin,
    AutocompleteMixin,
    ExportMixin,
    FormFieldsMixin,
    ColumnsMixin,
    HardenedViewMixin,
    ModelView,
):
    """Base for every entity view; subclasses declare columns, filters and actions only."""

    list_template = "coachdesk/model/list.html"
    show_template = "coachdesk/model/show.html"
    edit_template = "coachdesk/model/edit.html"
    list_widget = CoachdeskListWidget
    page_size = DEFAULT_PAGE_SIZE

    #: Columns the search box looks in (plain text columns of this model).
    search_text_columns: tuple[str, ...] = ()
    #: Columns offered as typed filters (enum, bool, date, datetime, number, relation, text).
    filter_columns: tuple[str, ...] = ()
    #: Relations (dotted) joined into the list query; defaults to the relations in list_columns.
    list_eager: tuple[str, ...] | None = None
    #: money column -> its currency column
    money_columns: dict[str, str] = {}
    #: Columns in the CSV export (defaults to list_columns).
    export_columns: tuple[str, ...] | None = None
    #: No add/edit/delete/action routes at all (e.g. the audit trail).
    read_only = False
    #: Long text shown shortened in lists: column -> characters.
    truncate_columns: dict[str, int] = {}
    #: Per-column max length for unbounded text columns.
    text_max_length = TEXT_MAX_LENGTH

    def __init__(self, **kwargs: Any) -> None:
        self.method_permission_name = {**METHOD_PERMISSIONS, **self._action_permissions()}
        if self.read_only:
            excluded = {"add", "edit", "delete", "action", "action_post"}
            self.exclude_route_methods = set(self.exclude_route_methods or ()) | excluded
        if self.base_order is None:
            self.base_order = (pk_column(self.datamodel.obj).key, "desc")
        # Unused (see _list) but FAB builds a search form from it: one plain column, never a UUID or secret.
        self.search_columns = self._harmless_search_column()
        self._check_columns()
        self._install_form_fields()
        super().__init__(**kwargs)
        register_model_view(self.datamodel.obj, self.class_permission_name, tuple(self.search_text_columns or ()))

    @before_request
    def _prepare_request(self) -> None:
        """Before any route, and before its permission check: malformed paging is a 400; pick the scope."""
        refuse_bad_paging()
        endpoint = (request.endpoint or "").rsplit(".", 1)[-1]
        g.cd_write_scope = request.method == "POST" or endpoint in _WRITE_ENDPOINTS
