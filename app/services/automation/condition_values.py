"""The values a condition compares: field kinds, payload look-up, and one Python type per kind.

A condition value (from the editor's JSON) and a payload value (from an event) are both brought
to one type per kind before they are compared, so ``"42"`` and ``42`` name the same id,
``"2024-05-01"`` and ``date(2024, 5, 1)`` the same day, and an aware datetime in any zone the
same instant. A payload value that cannot be read as its field's kind counts as missing
(``MISSING``), exactly like an absent key or ``None``: that is the one notion of "no value" both
the Python evaluator and the SQL compiler follow (SQL's NULL).

Payload look-up walks dotted paths through mappings only (``payload["a"]["b"]``): never an
attribute (types are checked with ``type()``, which reads none), never a call, so a condition
cannot reach into an object.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
import re
import uuid
from collections.abc import Mapping
from typing import Any, Final, Literal

Kind = Literal["enum", "number", "integer", "date", "datetime", "id", "boolean", "text", "list"]
KINDS: Final[tuple[str, ...]] = ("enum", "number", "integer", "date", "datetime", "id", "boolean", "text", "list")

# A field path: dotted lower-case names, none starting with "_" (so no "__class__", "a.__dict__").
FIELD_PATH = re.compile(r"^[a-z][a-z0-9_]{0,49}(\.[a-z][a-z0-9_]{0,49}){0,4}$")

_INTEGER_TEXT = re.compile(r"-?[0-9]{1,30}")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _is(value: Any, kinds: type | tuple[type, ...]) -> bool:
    """``isinstance`` by the value's real type only: ``isinstance`` would also read an object's
    ``__class__`` attribute, and a payload object's attributes are never touched."""
    return issubclass(type(value), kinds)


class _Missing:
    """The one "no value": an absent key, ``None``, or a value not of the field's kind."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only: what SQLite's ``lower()`` does, so ``contains`` agrees on both paths."""
    return text.translate(_ASCII_LOWER)


def lookup(payload: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path``, walking mappings by key only; ``MISSING`` if any step is not there."""
    value: Any = payload
    for part in path.split("."):
        if not _is(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return MISSING if value is None else value


def _number(raw: Any) -> decimal.Decimal | None:
    if _is(raw, bool):
        return None
    if _is(raw, int):
        return decimal.Decimal(raw)
    if _is(raw, float):
        return decimal.Decimal(repr(raw)) if math.isfinite(raw) else None
    if _is(raw, decimal.Decimal):
        return raw if raw.is_finite() else None
    return None


def _integer(raw: Any) -> int | None:
    if _is(raw, bool):
        return None
    if _is(raw, int):
        return raw
    number = _number(raw)
    if number is not None and number == number.to_integral_value():
        return int(number)
    return None


def _date(raw: Any) -> dt.date | None:
    if _is(raw, dt.datetime):
        return None
    if _is(raw, dt.date):
        return raw
    if _is(raw, str) and len(raw) == 10:
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            return None
    return None


def _datetime(raw: Any, *, naive_is_utc: bool) -> dt.datetime | None:
    if _is(raw, str):
        try:
            raw = dt.datetime.fromisoformat(raw)
        except ValueError:
            return None
    if not _is(raw, dt.datetime):
        return None
    if raw.tzinfo is None:
        if not naive_is_utc:
            return None
        raw = raw.replace(tzinfo=dt.UTC)
    return raw.astimezone(dt.UTC)


def _identifier(raw: Any) -> int | uuid.UUID | str | None:
    if _is(raw, bool):
        return None
    if _is(raw, (int, uuid.UUID)):
        return raw
    if _is(raw, str) and raw.strip():
        text = raw.strip()
        if text.isascii() and text.isdigit():
            return int(text)
        try:
            return uuid.UUID(text)
        except ValueError:
            return text
    return None


def _enum(raw: Any) -> str | None:
    if _is(raw, enum.Enum):
        raw = raw.value
    return raw if _is(raw, str) else None


def _list(raw: Any) -> tuple[str, ...] | None:
    if not _is(raw, (list, tuple)):
        return None
    return tuple(_list_item(item) for item in raw if _list_item(item) is not None)  # type: ignore[misc]


def _list_item(raw: Any) -> str | None:
    raw = _enum(raw) if _is(raw, enum.Enum) else raw
    if _is(raw, bool):
        return None
    if _is(raw, (str, int, uuid.UUID)):
        return str(raw)
    return None


def normalise(kind: str, raw: Any, *, from_payload: bool = True) -> Any:
    """``raw`` as the kind's Python type, or ``MISSING`` when it is not one.

    Payload values are read leniently (numeric text for numbers, naive datetimes as UTC);
    condition values strictly (a number must be a JSON number, a datetime must carry its offset).
    """
    if raw is None or raw is MISSING:
        return MISSING
    result: Any
    if kind == "number":
        result = _number(raw)
        if result is None and from_payload and _is(raw, str):
            try:
                result = _number(decimal.Decimal(raw.strip()))
            except decimal.InvalidOperation:
                result = None
    elif kind == "integer":
        result = _integer(raw)
        if result is None and from_payload and _is(raw, str) and _INTEGER_TEXT.fullmatch(raw.strip()):
            result = int(raw.strip())
    elif kind == "date":
        result = _date(raw)
    elif kind == "datetime":
        result = _datetime(raw, naive_is_utc=from_payload)
    elif kind == "id":
        result = _identifier(raw)
    elif kind == "enum":
        result = _enum(raw)
    elif kind == "boolean":
        result = raw if _is(raw, bool) else None
    elif kind == "text":
        result = raw if _is(raw, str) else None
    elif kind == "list":
        result = _list(raw) if from_payload else _list_item(raw)
    else:
        raise ValueError(f"unknown field kind {kind!r}")
    return MISSING if result is None else result


def display(value: Any) -> str:
    """A normalised value as short plain text (numbers without trailing zeros, ISO dates)."""
    if value is MISSING:
        return "—"
    if _is(value, decimal.Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if _is(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if _is(value, tuple):
        return "[" + ", ".join(display(item) for item in value) + "]"
    return str(value)
