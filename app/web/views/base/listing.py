"""The list page: one scoped query per page (eager loading, counts, keyset or offset paging) and its widget.

FAB's own ``_flt_`` URL filters are not read: they reach every column (secrets included) and
build relation dropdowns from whole tables; the search and filters are ``FilterMixin``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from flask import flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.urltools import get_order_args, get_page_args, get_page_size_args
from flask_appbuilder.widgets import ListWidget
from flask_babel import gettext as _
from sqlalchemy import orm

from app.services import keyset
from app.services.data_access import pk_column
from app.web.views.base.display import display_value
from app.web.views.base.filters import SEARCH_MAX_LENGTH
from app.web.views.base.record_links import chart_url


class CoachdeskListWidget(ListWidget):
    template = "coachdesk/widgets/list.html"


class ListMixin:
    """``/list/`` and the list widget FAB's related views reuse."""

    datamodel: Any
    list_eager: tuple[str, ...] | None
    money_columns: dict[str, str]
    truncate_columns: dict[str, int]

    def eager_paths(self) -> tuple[str, ...]:
        if self.list_eager is not None:
            return self.list_eager
        mapper = sa.inspect(self.datamodel.obj)
        return tuple(
            c for c in self.list_columns if isinstance(mapper.attrs.get(c.split(".")[0]), orm.RelationshipProperty)
        )

    def _get_list_widget(
        self,
        filters: Any,
        actions: Any = None,
        order_column: str = "",
        order_direction: str = "",
        page: Any = None,
        page_size: Any = None,
        widgets: Any = None,
        criteria: Sequence[Any] = (),
        columns: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        widgets = widgets or {}
        columns = list(columns or self.list_columns)
        actions = actions or self.actions
        page, page_size = self._clamp_paging(page, page_size)
        if order_column not in (self.order_columns or []):
            order_column, order_direction = "", ""
        if not order_column and self.base_order:
            order_column, order_direction = self.base_order
        if order_direction not in ("asc", "desc"):
            order_direction = "desc"
        joined_filters = filters.get_joined_filters(self._base_filters)
        cursor, can_seek = self._read_cursor(order_column)
        seek = None
        if can_seek:
            model = self.datamodel.obj
            column = keyset.sort_column(model, order_column)
            seek = keyset.seek(column, pk_column(model), order_direction == "desc", cursor)
        offset_page = cursor is None
        count, rows = self.datamodel.query(
            joined_filters,
            order_column,
            order_direction,
            page=page,
            page_size=page_size,
            criteria=criteria,
            eager=self.eager_paths(),
            seek=seek if can_seek and not offset_page else None,
        )
        more = False
        if can_seek and not offset_page:
            more = len(rows) > page_size
            rows = rows[:page_size]
            if seek.reverse:
                rows.reverse()
        elif can_seek:
            more = len(rows) == page_size and (count.estimated or count > (page + 1) * page_size)
        links = self._keyset_links(rows, order_column, cursor, more, page) if can_seek else {}
        pks = [str(pk) for pk in self.datamodel.get_keys(rows)]
        values = [{c: self._cell(row, c) for c in columns} for row in rows]
        widgets["list"] = self.list_widget(
            label_columns=self.label_columns,
            include_columns=columns,
            value_columns=values,
            order_columns=self.order_columns,
            formatters_columns={},
            page=page,
            page_size=page_size,
            count=count,
            pks=pks,
            actions=actions,
            keyset_prev=links.get("prev"),
            keyset_next=links.get("next"),
            keyset_active=not offset_page,
            filters=filters,
            modelview_name=type(self).__name__,
            **kwargs,
        )
        return widgets

    def _cell(self, row: Any, column: str) -> str:
        text = display_value(row, column, self.money_columns)
        limit = self.truncate_columns.get(column)
        return text[:limit] + "…" if limit and len(text) > limit else text

    def chosen_columns(self) -> list[str]:
        """The columns ``cols`` picks (the column chooser, a saved view), in the list's own order.

        Repeated (``cols=a&cols=b``, the chooser's checkboxes) or joined (``cols=a,b``, a saved view);
        absent, or naming a column the list does not have, all columns show."""
        picked = [name for value in request.args.getlist("cols") for name in value.split(",") if name]
        if not picked:
            return list(self.list_columns)
        unknown = [name for name in picked if name not in self.list_columns]
        if unknown:
            flash(_("This list has no column %(name)s; all its columns are shown.", name=unknown[0][:50]), "warning")
            return list(self.list_columns)
        return [c for c in self.list_columns if c in picked]

    def _list(self, **kwargs: Any) -> dict[str, Any]:
        name = type(self).__name__
        order_column, order_direction = get_order_args().get(name, ("", ""))
        widgets = self._get_list_widget(
            filters=self.datamodel.get_filters(),
            order_column=order_column,
            order_direction=order_direction,
            page=get_page_args().get(name),
            page_size=get_page_size_args().get(name),
            criteria=self.list_criteria(),
            columns=self.chosen_columns(),
            all_columns=list(self.list_columns),
            **kwargs,
        )
        self.update_redirect()
        return widgets

    @expose("/list/")
    @has_access
    def list(self) -> Any:
        picked = request.args.getlist("cols")
        if len(picked) > 1:  # the column chooser's checkboxes: one joined value, which the sort and page links keep
            args = request.args.copy()
            args.setlist("cols", [",".join(picked)])
            return redirect(url_for(request.endpoint, **(request.view_args or {}), **args.to_dict(flat=False)))
        widgets = self._list(chart_url=chart_url(self, request.args))
        if getattr(g, "cd_page_clamped", False):
            flash(
                _(
                    "Page numbers stop at %(rows)s rows: use Next to go further, or narrow the search.",
                    rows=f"{self.max_offset():,}",
                ),
                "info",
            )
        return self.render_template(
            self.list_template,
            title=self.list_title,
            widgets=widgets,
            filter_specs=self.filter_specs(),
            search_term=request.args.get("q", "")[:SEARCH_MAX_LENGTH],
            has_search=bool(self.search_text_columns),
            view_name=type(self).__name__,
            export_args=self._export_args(),
        )
