"""Condition fields as SQL on both databases, with the Python evaluator's reading of each value.

``condition_sql`` compiles a condition over a mapping of field name -> SQL expression; this
module builds those expressions where they are not plain columns, so that a value SQL sees is
the value ``condition_values.normalise`` would give Python, and a value Python calls missing is
NULL in SQL:

* a payload field of a domain event (``payload_field``): JSON extraction per kind, guarded by
  the JSON type so a value of the wrong kind is NULL instead of a cast error (PostgreSQL
  ``jsonb_typeof`` + ``->>`` and a cast to numeric/date/timestamptz/boolean; SQLite
  ``json_type`` + ``json_extract``, instants compared as UTC text to the millisecond);
* an id (``id_text``): compared as canonical text, so a condition's id (an integer, a UUID or a
  string, as ``normalise`` reads it) never needs a cast that could fail;
* the UTC calendar date of a timestamp (``utc_date``) and the whole days between two instants
  (``whole_days``), which the two databases spell differently.

Payloads are checked against the event catalogue's schema when they are emitted, so ids are
JSON integers or canonical UUID text, dates ``YYYY-MM-DD`` and instants ISO 8601 with an offset:
on those, both paths agree exactly (the dry-run tests hold them together).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from app.models.types import UTCDateTime
from app.services.automation.condition_tree import Field

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


class _Fn(FunctionElement[Any]):
    inherit_cache = True

    def _args(self, compiler: Any, **kw: Any) -> list[str]:
        return [compiler.process(clause, **kw) for clause in self.clauses]


class _JsonField(_Fn):
    """``payload``'s top-level ``key`` read as one condition kind (see the subclasses)."""

    inherit_cache = True


class _JsonText(_JsonField):
    type = sa.String()
    inherit_cache = True


class _JsonNumber(_JsonField):
    type = sa.Numeric()
    inherit_cache = True


class _JsonInteger(_JsonField):
    type = sa.Numeric()
    inherit_cache = True


class _JsonDate(_JsonField):
    type = sa.Date()
    inherit_cache = True


class _JsonInstant(_JsonField):
    type = InstantText()
    inherit_cache = True


class _JsonBoolean(_JsonField):
    type = sa.Boolean()
    inherit_cache = True


class _JsonId(_JsonField):
    type = IdText()
    inherit_cache = True


_DATE_RE = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_INSTANT_RE = "^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}"


def _pg_json(element: _JsonField, compiler: Any, **kw: Any) -> str:
    payload, key = element._args(compiler, **kw)
    node, text = f"({payload} -> {key})", f"({payload} ->> {key})"
    typ = f"jsonb_typeof({node})"
    if isinstance(element, _JsonNumber):
        return f"(CASE WHEN {typ} = 'number' THEN CAST({text} AS NUMERIC) END)"
    if isinstance(element, _JsonInteger):
        number = f"CAST({text} AS NUMERIC)"
        return f"(CASE WHEN {typ} = 'number' THEN CASE WHEN {number} = trunc({number}) THEN {number} END END)"
    if isinstance(element, _JsonDate):
        return f"(CASE WHEN {typ} = 'string' THEN CASE WHEN {text} ~ '{_DATE_RE}' THEN CAST({text} AS DATE) END END)"
    if isinstance(element, _JsonInstant):
        return (
            f"(CASE WHEN {typ} = 'string' THEN CASE WHEN {text} ~ '{_INSTANT_RE}' "
            f"THEN CAST({text} AS TIMESTAMP WITH TIME ZONE) END END)"
        )
    if isinstance(element, _JsonBoolean):
        return f"(CASE WHEN {typ} = 'boolean' THEN CAST({text} AS BOOLEAN) END)"
    if isinstance(element, _JsonId):
        return (
            f"(CASE WHEN {typ} = 'string' AND {text} <> '' THEN {text} "
            f"WHEN {typ} = 'number' AND {text} ~ '^-?[0-9]+$' THEN {text} END)"
        )
    return f"(CASE WHEN {typ} = 'string' THEN {text} END)"


def _sqlite_json(element: _JsonField, compiler: Any, **kw: Any) -> str:
    payload, key = element._args(compiler, **kw)
    path = f"('$.' || {key})"
    typ, value = f"json_type({payload}, {path})", f"json_extract({payload}, {path})"
    if isinstance(element, _JsonNumber):
        return f"(CASE WHEN {typ} IN ('integer', 'real') THEN {value} END)"
    if isinstance(element, _JsonInteger):
        return (
            f"(CASE WHEN {typ} = 'integer' THEN {value} "
            f"WHEN {typ} = 'real' AND {value} = CAST({value} AS INTEGER) THEN CAST({value} AS INTEGER) END)"
        )
    if isinstance(element, _JsonDate):
        return f"(CASE WHEN {typ} = 'text' AND length({value}) = 10 AND date({value}) = {value} THEN {value} END)"
    if isinstance(element, _JsonInstant):
        return f"(CASE WHEN {typ} = 'text' THEN strftime('%Y-%m-%d %H:%M:%f', {value}) END)"
    if isinstance(element, _JsonBoolean):
        return f"(CASE WHEN {typ} IN ('true', 'false') THEN {value} END)"
    if isinstance(element, _JsonId):
        return (
            f"(CASE WHEN {typ} = 'text' AND {value} <> '' THEN {value} "
            f"WHEN {typ} = 'integer' THEN CAST({value} AS TEXT) END)"
        )
    return f"(CASE WHEN {typ} = 'text' THEN {value} END)"


for _cls in (_JsonText, _JsonNumber, _JsonInteger, _JsonDate, _JsonInstant, _JsonBoolean, _JsonId):
    compiles(_cls, "postgresql")(_pg_json)
    compiles(_cls, "sqlite")(_sqlite_json)


class _UuidText(_Fn):
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


class _UtcDate(_Fn):
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


class _WholeDays(_Fn):
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

_BY_KIND: dict[str, type[_JsonField]] = {
    "number": _JsonNumber,
    "integer": _JsonInteger,
    "date": _JsonDate,
    "datetime": _JsonInstant,
    "boolean": _JsonBoolean,
    "id": _JsonId,
    "enum": _JsonText,
    "text": _JsonText,
}


def payload_field(payload: sa.ColumnElement[Any], field: Field) -> sa.ColumnElement[Any] | None:
    """``field`` of a JSON ``payload`` column as its kind's SQL value (None: not expressible, e.g. a list)."""
    construct = _BY_KIND.get(field.kind)
    if construct is None or "." in field.name:
        return None
    return construct(payload, sa.literal(field.name, sa.String()))


def payload_columns(
    payload: sa.ColumnElement[Any], fields: Mapping[str, Field], **columns: sa.ColumnElement[Any]
) -> dict[str, sa.ColumnElement[Any]]:
    """Field name -> SQL for every field of ``fields`` read from ``payload``; ``columns`` override by name."""
    out: dict[str, sa.ColumnElement[Any]] = {}
    for name, field in fields.items():
        if name in columns:
            out[name] = columns[name]
            continue
        expression = payload_field(payload, field)
        if expression is not None:
            out[name] = expression
    return out


def id_text(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A UUID column compared as canonical text with any id a condition names."""
    return _UuidText(column)


def utc_date(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return _UtcDate(column)


def whole_days(since: sa.ColumnElement[Any], until: dt.datetime) -> sa.ColumnElement[int]:
    """Whole days elapsed from ``since`` (a timestamp column) to the instant ``until``."""
    return _WholeDays(since, sa.literal(until, UTCDateTime()))
