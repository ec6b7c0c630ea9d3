"""Cursor pagination for API lists: keyset paging (``app.services.keyset``) behind an opaque cursor.

``page(stmt, model, limit=..., cursor=..., order_column=..., descending=...)`` returns the rows and the
``next_cursor`` (None on the last page). The order is ``(order_column, primary key)``, so a walk
visits every row exactly once however deep it goes; a tampered or stale cursor is a 422 problem.
The list envelope every list answers is ``{"data": [...], "next_cursor": str | null}``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from marshmallow import Schema, fields

from app.extensions import db
from app.services import keyset
from app.web.api.problems import ApiProblem


def primary_key(model: type) -> Any:
    (column,) = sa.inspect(model).primary_key
    return getattr(model, column.key)


def page(
    stmt: sa.Select,
    model: type,
    *,
    limit: int,
    cursor: str | None = None,
    order_column: str | None = None,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    pk = primary_key(model)
    column = keyset.sort_column(model, order_column) if order_column else None
    point = None
    if cursor:
        try:
            point = keyset.decode(cursor, column, pk)
        except keyset.CursorError:
            point = None
        if point is None or not point.forward:
            raise ApiProblem(422, _("The cursor is not valid."), errors={"cursor": [_("Not a cursor of this list.")]})
    seek = keyset.seek(column, pk, descending, point)
    rows = list(db.session.scalars(stmt.where(seek.where).order_by(*seek.order_by).limit(limit + 1)).unique())
    more = len(rows) > limit
    rows = rows[:limit]
    if not more or not rows:
        return rows, None
    last = rows[-1]
    value = getattr(last, column.key) if column is not None else None
    return rows, keyset.encode(keyset.Cursor(True, value, getattr(last, pk.key)))


def envelope_schema(name: str, item: type[Schema]) -> type[Schema]:
    """``{"data": [item], "next_cursor": str | null}`` as a named schema for the document."""
    return Schema.from_dict(
        {
            "data": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(
                required=True, allow_none=True, metadata={"description": "Pass as `cursor` for the next page."}
            ),
        },
        name=name,
    )
