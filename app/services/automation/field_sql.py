"""Segment and event fields as SQL on both databases, read as the Python evaluator reads them.

``condition_sql`` compiles a condition over a mapping of field name -> SQL expression; this
module (with ``payload_sql`` for the JSON payload of an event) builds those expressions where
they are not plain columns, so that a value SQL sees is the value
``condition_values.normalise`` would give Python:

* an id (``id_text``): compared as canonical text, so a condition's id (an integer, a UUID or a
  string, as ``normalise`` reads it) never needs a cast that could fail;
* the UTC calendar date of a timestamp (``utc_date``) and the whole days between two instants
  (``whole_days``), which the two databases spell differently.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from app.models.types import UTCDateTime

# ---- bound values --------------------------------------------------------------------------


class IdText(TypeDecorator):
    """An id compared as text: UUIDs in their canonical hyphenated form, integers in decimal."""

    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else str(value)


class InstantText(TypeDecorator):
    """An instant: ``timestamptz`` on PostgreSQL; on SQLite UTC text to the millisecond, as
    ``strftime('%Y-%m-%d %H:%M:%f', ...)`` writes it (so comparisons are text comparisons)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String())
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        utc = value.astimezone(dt.UTC)
        return f"{utc:%Y-%m-%d %H:%M:%S}.{utc.microsecond // 1000:03d}"


# ---- constructs compiled per dialect --------------------------------------------------------


class Fn(FunctionElement[Any]):
    """A function-like construct whose SQL each dialect writes (``@compiles`` below)."""

    inherit_cache = True

    def _args(self, compiler: Any, **kw: Any) -> list[str]:
        return [compiler.process(clause, **kw) for clause in self.clauses]


class _UuidText(Fn):
    """A UUID column as canonical text (SQLite stores 32 hex digits; PostgreSQL a native uuid)."""

    type = IdText()
    inherit_cache = True


@compiles(_UuidText, "postgresql")
def _uuid_text_pg(element: _UuidText, compiler: Any, **kw: Any) -> str:
    (column,) = element._args(compiler, **kw)
    return f"CAST({column} AS TEXT)"


@compiles(_UuidText, "sqlite")
def _uuid_text_sqlite(element: _UuidText, compiler: Any, **kw: Any) -> str:
    (column,) = element._args(compiler, **kw)
    # Concatenation keeps NULL NULL (printf would make "----" of it).
    parts = " || '-' || ".join(f"substr({column}, {a}, {n})" for a, n in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12)))
    return f"lower({parts})"


class _UtcDate(Fn):
    """The calendar date, in UTC, of an instant."""

    type = sa.Date()
    inherit_cache = True


@compiles(_UtcDate, "postgresql")
def _utc_date_pg(element: _UtcDate, compiler: Any, **kw: Any) -> str:
    (column,) = element._args(compiler, **kw)
    return f"CAST(({column} AT TIME ZONE 'UTC') AS DATE)"


@compiles(_UtcDate, "sqlite")
def _utc_date_sqlite(element: _UtcDate, compiler: Any, **kw: Any) -> str:
    (column,) = element._args(compiler, **kw)
    return f"date({column})"  # stored as naive UTC text


_SHIFT_DAYS = 1_000_000


class _WholeDays(Fn):
    """Whole days from ``since`` to ``until`` (floor, as Python's ``//`` on a timedelta)."""

    type = sa.Integer()
    inherit_cache = True


@compiles(_WholeDays, "postgresql")
def _whole_days_pg(element: _WholeDays, compiler: Any, **kw: Any) -> str:
    since, until = element._args(compiler, **kw)
    return f"CAST(floor(extract(epoch FROM ({until} - {since})) / 86400) AS INTEGER)"


@compiles(_WholeDays, "sqlite")
def _whole_days_sqlite(element: _WholeDays, compiler: Any, **kw: Any) -> str:
    since, until = element._args(compiler, **kw)
    seconds = f"(CAST(strftime('%s', {until}) AS INTEGER) - CAST(strftime('%s', {since}) AS INTEGER))"
    # Integer division truncates towards zero: shift by whole days first so a negative span floors too.
    return f"(({seconds} + {_SHIFT_DAYS} * 86400) / 86400 - {_SHIFT_DAYS})"


# ---- what callers use ------------------------------------------------------------------------


def id_text(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A UUID column compared as canonical text with any id a condition names."""
    return _UuidText(column)


def utc_date(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return _UtcDate(column)


def whole_days(since: sa.ColumnElement[Any], until: dt.datetime) -> sa.ColumnElement[int]:
    """Whole days elapsed from ``since`` (a timestamp column) to the instant ``until``."""
    return _WholeDays(since, sa.literal(until, UTCDateTime()))
