"""JSON request bodies: one reader, so every write answers bad input the same way, never with a 500.

``json_body(schema)`` returns the loaded dict or raises an ``ApiProblem``:

* 415 when the body is not ``application/json`` (or ``application/*+json``);
* 413 over ``max_bytes`` (64 KiB unless the operation says otherwise);
* 400 for bytes that are not UTF-8 JSON, ``NaN``/``Infinity``, non-finite numbers, or integers
  too long to parse (the input guard already refused NUL bytes and absurd nesting);
* 422 with ``errors`` (field -> messages) from the marshmallow schema, unknown fields included.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import request
from flask_babel import gettext as _
from marshmallow import RAISE, Schema, ValidationError

from app.web.api.problems import ApiProblem

MAX_BODY_BYTES = 64 * 1024


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_json(*, max_bytes: int = MAX_BODY_BYTES) -> Any:
    """The parsed JSON document of the request (any shape), checked for type, size and syntax."""
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not (mimetype.startswith("application/") and mimetype.endswith("+json")):
        raise ApiProblem(415, _("Send the body as JSON, with 'Content-Type: application/json'."))
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiProblem(413, _("The body is larger than %(limit)s bytes.", limit=max_bytes))
    raw = request.get_data(cache=True)
    if len(raw) > max_bytes:
        raise ApiProblem(413, _("The body is larger than %(limit)s bytes.", limit=max_bytes))
    try:
        return json.loads(raw.decode("utf-8"), parse_float=_finite, parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiProblem(400, _("The body is not valid JSON."), slug="malformed-json") from None


def validation_errors(error: ValidationError) -> dict[str, Any]:
    messages = error.messages
    return messages if isinstance(messages, dict) else {"_schema": messages}


def json_body(schema: Schema | type[Schema], *, partial: bool = False, max_bytes: int = MAX_BODY_BYTES) -> Any:
    """The body loaded through ``schema`` (unknown fields refused); 415/413/400/422 problems otherwise."""
    document = read_json(max_bytes=max_bytes)
    loader = schema() if isinstance(schema, type) else schema
    try:
        return loader.load(document, partial=partial, unknown=RAISE)
    except ValidationError as error:
        raise ApiProblem(422, _("The body failed validation."), errors=validation_errors(error)) from None
    except (OverflowError, ValueError):  # a date or number beyond what Python represents
        raise ApiProblem(422, _("A value in the body is out of range.")) from None
