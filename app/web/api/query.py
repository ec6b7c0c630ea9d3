"""Query strings of list operations: typed filters, ``limit`` and ``cursor``, nothing else.

A resource declares its filters (``Filter``: a marshmallow field that parses the value and the
criteria it adds). ``query_schema`` turns them, with ``limit`` (1..200, default 50) and ``cursor``,
into one marshmallow schema: it documents the OpenAPI query parameters and parses the request, so
the document and the parser cannot disagree. A value of the wrong type is a 422 problem with
``errors``; an unknown parameter is refused (422) so a typo never silently returns everything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import request
from flask_babel import gettext as _
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from app.web.api.bodies import validation_errors
from app.web.api.problems import ApiProblem

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR = 512


@dataclass(frozen=True)
class Filter:
    """One query parameter of a list: ``field`` parses it, ``criteria(value)`` is its WHERE clause."""

    field: fields.Field
    criteria: Callable[[Any], Any]


def equals(column: Any, field: fields.Field) -> Filter:
    return Filter(field, lambda value: column == value)


def at_least(column: Any, field: fields.Field) -> Filter:
    return Filter(field, lambda value: column >= value)


def before(column: Any, field: fields.Field) -> Filter:
    return Filter(field, lambda value: column < value)


def query_schema(name: str, filters: Mapping[str, Filter], *, paged: bool = True) -> type[Schema]:
    """The schema of a list's query string; its class name (``name``) names it in the document."""
    declared: dict[str, fields.Field] = {key: f.field for key, f in filters.items()}
    if paged:
        declared["limit"] = fields.Integer(
            load_default=DEFAULT_LIMIT,
            validate=validate.Range(1, MAX_LIMIT),
            metadata={"description": "Rows per page (1-200)."},
        )
        declared["cursor"] = fields.String(
            validate=validate.Length(1, MAX_CURSOR),
            metadata={"description": "The `next_cursor` of the previous page; opaque."},
        )
    schema = Schema.from_dict(declared, name=name)
    schema.Meta.unknown = RAISE  # type: ignore[attr-defined]
    return schema


def parse_query(schema: type[Schema]) -> dict[str, Any]:
    """The request's query string through ``schema``; 422 with ``errors`` for a bad or unknown parameter."""
    try:
        return schema().load(request.args.to_dict(), unknown=RAISE)
    except ValidationError as error:
        raise ApiProblem(422, _("A query parameter is not valid."), errors=validation_errors(error)) from None
    except (OverflowError, ValueError):
        raise ApiProblem(422, _("A query parameter is out of range.")) from None


def query_parameters(schema: type[Schema]) -> list[dict[str, Any]]:
    """The OpenAPI parameter entry apispec expands into one query parameter per field."""
    return [{"in": "query", "schema": schema}]
