"""``/export/``: the current filtered, sorted, scoped list streamed as CSV; secret columns can never be in it.

The file is for machines and spreadsheets: enum values stay their stored codes (``ONE_ON_ONE``, not
"One-on-one"), references their ids, timestamps ISO-8601 UTC whatever the viewer's zone (the headers
say "(UTC)"). The list page's export link says so in its title ("CSV for machines: ..."); pages for people
show labels and names (``display.display_value``).
The ``csv_export.export_started`` signal lets the audit trail record who exported what.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import Response, current_app, g, request
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy import orm

from app.services import csv_export
from app.web.views.base.columns import column_type
from app.web.views.base.display import export_value


def _unproxy(obj: Any) -> Any:
    """FAB's ``g.user`` is the ``current_user`` proxy; receivers may keep it past the request."""
    getter = getattr(obj, "_get_current_object", None)
    return getter() if getter is not None else obj


class ExportMixin:
    """The export route and the arguments of the list page's export link."""

    datamodel: Any
    export_columns: tuple[str, ...] | None

    def _requested_sort(self) -> tuple[str, str]:
        """The list's sort from the URL when the view offers that column, else ``("", "")``."""
        name = type(self).__name__
        if request.args.get(f"_oc_{name}") in (self.order_columns or []):
            return request.args[f"_oc_{name}"], "asc" if request.args.get(f"_od_{name}") == "asc" else "desc"
        return "", ""

    def _export_args(self) -> dict[str, str]:
        """The search, filters and a valid sort of the current list, for the export link."""
        name = type(self).__name__
        args = {k: v for k, v in request.args.items() if k == "q" or k.startswith("f_")}
        order_column, order_direction = self._requested_sort()
        if order_column:
            args[f"_oc_{name}"], args[f"_od_{name}"] = order_column, order_direction
        return args

    @expose("/export/")
    @has_access
    def export(self) -> Any:
        """The current filtered, sorted, scoped list as CSV, streamed."""
        columns = list(self.export_columns or self.list_columns)
        criteria = self.list_criteria(warn=False)
        order_column, order_direction = self._requested_sort()
        if not order_column and self.base_order:
            order_column, order_direction = self.base_order
        csv_export.export_started.send(
            current_app._get_current_object(),
            resource=self.class_permission_name,
            user=_unproxy(g.user),
            columns=columns,
            filters={k: v for k, v in request.args.items()},
        )
        rows = self.datamodel.iter_rows(criteria, order_column, order_direction, self.eager_paths())
        header = [self._export_header(c) for c in columns]
        body = csv_export.stream_csv(
            header,
            rows,
            lambda row: [export_value(row, c) for c in columns],
            numeric=csv_export.numeric_columns(self.datamodel.obj, columns),
        )
        filename = f"{self.class_permission_name.lower()}-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.csv"
        return Response(
            body,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
        )

    def is_datetime_column(self, column: str) -> bool:
        """True for a timestamp column (possibly dotted through many-to-one relations)."""
        mapper = sa.inspect(self.datamodel.obj)
        *relations, last = column.split(".")
        for part in relations:
            prop = mapper.attrs.get(part)
            if not isinstance(prop, orm.RelationshipProperty):
                return False
            mapper = prop.mapper
        prop = mapper.attrs.get(last)
        return bool(getattr(prop, "columns", None)) and isinstance(column_type(prop.columns[0]), sa.DateTime)

    def _export_header(self, column: str) -> str:
        label = str(self.label_columns.get(column, column))
        # Machine-readable files keep ISO-8601 UTC; the header says so.
        return _("%(label)s (UTC)", label=label) if self.is_datetime_column(column) else label
