"""Refuse input no page can use, before any view sees it: a clear 400 (or 404), never a 500.

* A NUL byte in the path, the query string, a form field or a JSON body: PostgreSQL cannot
  store one in text, and no person types one.
* JSON nested deeper than ``MAX_JSON_DEPTH``: Python's parser would recurse until it fails.
* A whole number in a URL beyond a 64-bit key (``<int:id>`` routes): no row can have it,
  and the database would overflow comparing it, so the route answers 404.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, ValidationError

MAX_JSON_DEPTH = 64
MAX_KEY = 2**63 - 1


class KeyConverter(IntegerConverter):
    """``<int:...>`` limited to the range of a 64-bit primary key."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_KEY:
            raise ValidationError()
        return number


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when brackets outside strings nest deeper than ``limit`` (a linear scan, no parsing)."""
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _has_nul(values: Any) -> bool:
    return any("\x00" in value for value in values)


def refuse_unusable_input() -> None:
    """``before_request``: 400 for NUL bytes anywhere a user can type, and for absurdly deep JSON."""
    if "\x00" in request.path or _has_nul(request.args.values()) or _has_nul(request.args.keys()):
        raise BadRequest(_("The request contains a NUL character, which no field accepts."))
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.is_json:
            body = request.get_data(cache=True)
            if b"\x00" in body or b"\\u0000" in body.lower():
                raise BadRequest(_("The request contains a NUL character, which no field accepts."))
            if json_depth_exceeds(body):
                raise BadRequest(_("The JSON document is nested too deeply."))
        elif _has_nul(request.form.values()) or _has_nul(request.form.keys()):
            raise BadRequest(_("The request contains a NUL character, which no field accepts."))


def install(app: Flask) -> None:
    """Before any view is registered: the bounded key converter, then the request check."""
    app.url_map.converters["int"] = KeyConverter
    app.before_request(refuse_unusable_input)
