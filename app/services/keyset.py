"""Keyset ("seek") paging: the next page starts where the last one ended, at any depth, for the cost of one page.

OFFSET paging reads and throws away every row it skips. At ten million events a deep
page, or a coach's page whose rows lie sparse in the time index, walks hundreds of
thousands of index entries. A cursor holds the sort value and primary key of the row a
page ends (or starts) at; the next page is ``WHERE (sort, pk) < (value, key) ORDER BY
sort DESC, pk DESC LIMIT n``, which the ``(sort, pk)`` index answers directly.

Cursors travel in URLs, so they are opaque (URL-safe base64 of JSON) and decoded
against the column's type: a tampered or stale cursor is a ``CursorError``, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import enum
import json
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

MAX_CURSOR_LENGTH = 512


class CursorError(ValueError):
    """The cursor in the URL cannot be used (edited, truncated, or from another sort)."""


@dataclass(frozen=True)
class Cursor:
    """A point in a list's order: rows ``forward`` of it (the next page) or before it (the previous one)."""

    forward: bool
    value: Any
    key: Any


@dataclass(frozen=True)
class Seek:
    """What a keyset page adds to its query: the condition, the order, and whether to reverse the rows read."""

    where: Any
    order_by: list[Any]
    reverse: bool


def sort_column(model: type, order_column: str) -> Any | None:
    """The column a keyset page seeks on; None for the key alone. LookupError: a dotted, nullable or
    computed sort, which pages by offset only."""
    if not order_column:
        return None
    if "." in order_column:
        raise LookupError(order_column)
    attr = getattr(model, order_column, None)
    prop = getattr(attr, "property", None)
    columns = getattr(prop, "columns", None)
    if not columns or len(columns) != 1 or not isinstance(columns[0], sa.Column) or columns[0].nullable:
        raise LookupError(order_column)
    return attr


def keyable(model: type, order_column: str) -> bool:
    try:
        sort_column(model, order_column)
    except LookupError:
        return False
    return True


def encode(cursor: Cursor) -> str:
    payload = [1 if cursor.forward else 0, _plain(cursor.value), _plain(cursor.key)]
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(text: str, column: Any, pk: Any) -> Cursor:
    """``encode``'s inverse, checked against the sort column's and the primary key's types."""
    stale = CursorError(_l("This page link is not valid any more; showing the first page."))
    if not text or len(text) > MAX_CURSOR_LENGTH:
        raise stale
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        forward, value, key = json.loads(raw)
        if column is None:  # ordered by the key alone: the cursor holds no sort value
            if value is not None:
                raise ValueError("a sort value for a list ordered by its key")
            return Cursor(bool(forward), None, _typed(key, pk))
        return Cursor(bool(forward), _typed(value, column), _typed(key, pk))
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError, decimal.InvalidOperation):
        raise stale from None


def seek(column: Any | None, pk: Any, descending: bool, cursor: Cursor | None) -> Seek:
    """The condition and order of one keyset page; ``column`` None means the list is ordered by its key alone."""
    keys = [column, pk] if column is not None else [pk]
    # Reading backwards (the previous page) flips the order; the rows are reversed afterwards.
    backwards = cursor is not None and not cursor.forward
    read_descending = descending != backwards
    order_by = [k.desc() if read_descending else k.asc() for k in keys]
    if cursor is None:
        return Seek(sa.true(), order_by, False)
    bound = [cursor.value, cursor.key] if column is not None else [cursor.key]
    points = [sa.literal(v, type_=k.type) for v, k in zip(bound, keys, strict=True)]
    row, point = (sa.tuple_(*keys), sa.tuple_(*points)) if len(keys) > 1 else (keys[0], points[0])
    where = row < point if read_descending else row > point
    return Seek(where, order_by, backwards)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    return value


def _typed(value: Any, column: Any) -> Any:
    """``value`` as the Python type of ``column`` (ValueError/TypeError when it cannot be)."""
    expr = getattr(column, "expression", column)
    kind = expr.type
    while isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl_instance
    if value is None:
        raise ValueError("a cursor value is never null")
    if isinstance(kind, sa.Enum) and kind.enum_class is not None:
        return kind.enum_class[str(value)]
    try:
        python_type = kind.python_type
    except NotImplementedError:
        python_type = str
    if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
        return python_type[str(value)]
    if python_type is dt.datetime:
        parsed = dt.datetime.fromisoformat(str(value))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if python_type is dt.date:
        return dt.date.fromisoformat(str(value))
    if python_type is bool:
        if not isinstance(value, bool):
            raise TypeError("not a boolean")
        return value
    if python_type is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise TypeError("not a whole number")
        return int(value)
    if python_type in (uuid.UUID, decimal.Decimal, float):
        return python_type(str(value))
    if python_type is str:
        if not isinstance(value, str):
            raise TypeError("not text")
        return value
    raise TypeError(f"no keyset paging on {python_type.__name__} columns")
