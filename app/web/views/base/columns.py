"""A view's column configuration: explicit columns, never a secret one, labels, the SQL type behind a column.

A column marked ``info={"secret": True}`` (a password hash, a token) may not be shown, edited,
searched, filtered, sorted or exported by any view: configuring one is refused at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm

from app.services.data_access import pk_column


class SecretColumnError(RuntimeError):
    """A view was configured to show, edit, search or export a secret column."""


def is_secret(model: type, column: str) -> bool:
    """True when ``column`` (possibly dotted through relations) ends on a secret column."""
    mapper = sa.inspect(model)
    parts = column.split(".")
    for i, part in enumerate(parts):
        prop = mapper.attrs.get(part)
        if prop is None:
            return False
        if isinstance(prop, orm.RelationshipProperty):
            if i == len(parts) - 1:
                return False
            mapper = prop.mapper
            continue
        return any(getattr(c, "info", {}).get("secret") for c in getattr(prop, "columns", []))
    return False


def column_type(column: Any) -> Any:
    """The SQL type behind a column, looking through TypeDecorators (UTCDateTime is a DateTime)."""
    ctype = column.type
    return getattr(ctype, "impl_instance", None) or (ctype.impl if isinstance(ctype, sa.TypeDecorator) else ctype)


class ColumnsMixin:
    """Start-up checks of a ``CoachdeskModelView``'s columns, and the label of a column."""

    datamodel: Any
    read_only: bool
    search_text_columns: tuple[str, ...]
    filter_columns: tuple[str, ...]
    export_columns: tuple[str, ...] | None

    def _configured_columns(self) -> dict[str, Iterable[str]]:
        return {
            "list_columns": self.list_columns or (),
            "show_columns": self.show_columns or (),
            "add_columns": self.add_columns or (),
            "edit_columns": self.edit_columns or (),
            "search_text_columns": self.search_text_columns,
            "filter_columns": self.filter_columns,
            "export_columns": self.export_columns or (),
            "order_columns": self.order_columns or (),
        }

    def _check_columns(self) -> None:
        model = self.datamodel.obj
        name = type(self).__name__
        for attr in ("list_columns", "show_columns"):
            if not getattr(self, attr):
                raise SecretColumnError(f"{name}.{attr} must be explicit")
        if not self.read_only and not (self.add_columns and self.edit_columns):
            raise SecretColumnError(f"{name}: add_columns and edit_columns must be explicit")
        for attr, columns in self._configured_columns().items():
            for column in columns:
                if is_secret(model, column):
                    raise SecretColumnError(f"{name}.{attr} includes the secret column {column!r}")
        if self.read_only:
            self.add_columns = self.edit_columns = []

    def _harmless_search_column(self) -> list[str]:
        mapper = sa.inspect(self.datamodel.obj)
        for name in (*self.search_text_columns, *(self.list_columns or ())):
            prop = mapper.attrs.get(name)
            if prop is not None and hasattr(prop, "columns") and not isinstance(prop.columns[0].type, sa.Uuid):
                return [name]
        return [pk_column(self.datamodel.obj).key]

    def _label(self, column: str) -> Any:
        return (self.label_columns or {}).get(column) or _l(column.replace("_", " ").capitalize())
