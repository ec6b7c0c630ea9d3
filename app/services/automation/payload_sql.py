"""A domain event's JSON payload fields as SQL, with the Python evaluator's reading of each value.

A payload value of the wrong kind (text where a number belongs, ``null``, a malformed date) is
*missing* to Python (``condition_values.normalise``), so it must be NULL to SQL. Each field is
therefore two expressions of one construct:

* its **presence** (``IS NOT NULL`` of the field): the JSON type is the field's kind, and for
  dates, instants, whole numbers and ids the text has their shape (PostgreSQL ``jsonb_typeof``
  and a regular expression; SQLite ``json_type``); always true or false, never NULL;
* its **value**, compared with the condition's: the bare text where comparing it cannot fail
  (texts, codes, ids, and ISO dates, which sort as text), a guarded cast where it could
  (numbers, instants, booleans).

``condition_sql`` guards every comparison with ``field IS NOT NULL AND ...`` and asks
``IS [NOT] NULL`` for ``exists``: the presence answers both (through the field type's
comparator), so a leaf costs one presence test and one comparison, and the bare value is never
compared without its presence. These columns are made for ``compile_node``; compared bare
elsewhere, a value of the wrong JSON type could pass for one of the right type.

Payloads are checked against the event catalogue's schema when they are emitted, so ids are
JSON integers or canonical UUID text, dates ``YYYY-MM-DD`` and instants ISO 8601 with an offset:
on those both paths agree exactly, and on odd hand-written payloads they agree on what is
missing (the dry-run tests hold them together).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

from app.services.automation.condition_tree import Field
from app.services.automation.field_sql import Fn, IdText, InstantText

_DATE_RE = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_INSTANT_RE = "^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}"
_WHOLE_RE = "^-?[0-9]+(\\.0+)?$"
_INTEGER_RE = "^-?[0-9]+$"


class _Presence(TypeDecorator.Comparator):
    """``IS NULL`` / ``IS NOT NULL`` of a payload field, answered by its presence test."""

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        asks_null = len(other) == 1 and (other[0] is None or isinstance(other[0], sa.Null))
        if op in (operators.is_, operators.is_not) and asks_null and isinstance(self.expr, _Value):
            present = _PRESENTS[self.expr.kind](*self.expr.clauses)
            return present if op is operators.is_not else sa.not_(present)
        return super().operate(op, *other, **kwargs)


class _Text(TypeDecorator):
    impl = sa.String
    cache_ok = True
    comparator_factory = _Presence


class _Number(TypeDecorator):
    impl = sa.Numeric
    cache_ok = True
    comparator_factory = _Presence


class _DateText(TypeDecorator):
    """A date compared as its ISO text (the presence test made sure the payload's has that shape)."""

    impl = sa.String
    cache_ok = True
    comparator_factory = _Presence

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return value.isoformat() if isinstance(value, dt.date) else value


class _Instant(InstantText):
    cache_ok = True
    comparator_factory = _Presence


class _Boolean(TypeDecorator):
    impl = sa.Boolean
    cache_ok = True
    comparator_factory = _Presence


class _Id(IdText):
    cache_ok = True
    comparator_factory = _Presence


_TYPES: dict[str, Any] = {
    "text": _Text(),
    "enum": _Text(),
    "number": _Number(),
    "integer": _Number(),
    "date": _DateText(),
    "datetime": _Instant(),
    "boolean": _Boolean(),
    "id": _Id(),
}


class _Value(Fn):
    """A payload field's value (``kind``: a condition field kind; ``clauses``: payload, key)."""

    inherit_cache = True
    kind = "text"


class _Present(Fn):
    """A payload field's presence test (true or false, never NULL)."""

    type = sa.Boolean()
    inherit_cache = True
    kind = "text"


def _kind_class(base: type[Fn], kind: str) -> type[Fn]:
    attrs: dict[str, Any] = {"inherit_cache": True, "kind": kind}
    if base is _Value:
        attrs["type"] = _TYPES[kind]
    return type(f"{base.__name__}_{kind}", (base,), attrs)


# One class per kind, so the kind is part of the statement cache key (a class, not an attribute).
_VALUES = {kind: _kind_class(_Value, kind) for kind in _TYPES}
_PRESENTS = {kind: _kind_class(_Present, kind) for kind in _TYPES}


def _pg_parts(element: Fn, compiler: Any, **kw: Any) -> tuple[str, str, str]:
    payload, key = (compiler.process(clause, **kw) for clause in element.clauses)
    node = f"({payload} -> {key})"
    return node, f"({payload} ->> {key})", f"jsonb_typeof({node})"


def _pg_present(element: _Present, compiler: Any, **kw: Any) -> str:
    node, text, typ = _pg_parts(element, compiler, **kw)
    tests = {
        "number": f"{typ} = 'number'",
        "integer": f"{typ} = 'number' AND {text} ~ '{_WHOLE_RE}'",
        "date": f"{typ} = 'string' AND {text} ~ '{_DATE_RE}'",
        "datetime": f"{typ} = 'string' AND {text} ~ '{_INSTANT_RE}'",
        "boolean": f"{typ} = 'boolean'",
        "id": f"({typ} = 'string' AND {text} <> '') OR ({typ} = 'number' AND {text} ~ '{_INTEGER_RE}')",
    }
    return f"coalesce({tests.get(element.kind, f'{typ} = ' + repr('string'))}, false)"


def _pg_value(element: _Value, compiler: Any, **kw: Any) -> str:
    node, text, typ = _pg_parts(element, compiler, **kw)
    if element.kind in ("number", "integer"):
        return f"(CASE WHEN {typ} = 'number' THEN CAST({node} AS NUMERIC) END)"
    if element.kind == "boolean":
        return f"(CASE WHEN {typ} = 'boolean' THEN CAST({node} AS BOOLEAN) END)"
    if element.kind == "datetime":
        return (
            f"(CASE WHEN {typ} = 'string' THEN CASE WHEN {text} ~ '{_INSTANT_RE}' "
            f"THEN CAST({text} AS TIMESTAMP WITH TIME ZONE) END END)"
        )
    if element.kind == "date":
        return f'({text} COLLATE "C")'  # ISO dates sort as text, byte by byte
    return text  # text, enum, id: comparing text cannot fail


def _sqlite_parts(element: Fn, compiler: Any, **kw: Any) -> tuple[str, str]:
    payload, key = (compiler.process(clause, **kw) for clause in element.clauses)
    path = f"('$.' || {key})"
    return f"json_type({payload}, {path})", f"json_extract({payload}, {path})"


def _sqlite_present(element: _Present, compiler: Any, **kw: Any) -> str:
    typ, value = _sqlite_parts(element, compiler, **kw)
    tests = {
        "number": f"{typ} IN ('integer', 'real')",
        "integer": f"({typ} = 'integer' OR ({typ} = 'real' AND {value} = CAST({value} AS INTEGER)))",
        "date": f"({typ} = 'text' AND length({value}) = 10 AND date({value}) = {value})",
        "datetime": f"({typ} = 'text' AND strftime('%Y-%m-%d %H:%M:%f', {value}) IS NOT NULL)",
        "boolean": f"{typ} IN ('true', 'false')",
        "id": f"(({typ} = 'text' AND {value} <> '') OR {typ} = 'integer')",
    }
    return f"coalesce({tests.get(element.kind, f'{typ} = ' + repr('text'))}, 0)"


def _sqlite_value(element: _Value, compiler: Any, **kw: Any) -> str:
    typ, value = _sqlite_parts(element, compiler, **kw)
    if element.kind == "datetime":
        return f"strftime('%Y-%m-%d %H:%M:%f', {value})"  # UTC text to the millisecond, as InstantText binds
    if element.kind == "id":
        return f"CAST({value} AS TEXT)"
    return value


for _cls in _VALUES.values():
    compiles(_cls, "postgresql")(_pg_value)
    compiles(_cls, "sqlite")(_sqlite_value)
for _cls in _PRESENTS.values():
    compiles(_cls, "postgresql")(_pg_present)
    compiles(_cls, "sqlite")(_sqlite_present)


def payload_field(payload: sa.ColumnElement[Any], field: Field) -> sa.ColumnElement[Any] | None:
    """``field`` of a JSON ``payload`` column for ``compile_node`` (None: not expressible, e.g. a list)."""
    construct = _VALUES.get(field.kind)
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
