"""Declared operations: each API route is registered together with its OpenAPI description.

``operation(...)`` puts a view on the API blueprint and records what the OpenAPI document says about
it (summary, scope, parameters, request and response schemas, the problems it may answer), so the
document cannot drift from the routes: an undeclared route cannot exist.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint

from app.web.api.auth import require_principal, require_scope

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
_PARAM_SCHEMAS = {
    "uuid": {"type": "string", "format": "uuid"},
    "int": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    None: {"type": "string"},
    "string": {"type": "string"},
}


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    tag: str
    scope: str | None
    description: str = ""
    parameters: list[dict[str, Any]] = field(default_factory=list)
    request_schema: Any = None
    responses: dict[int, tuple[str, Any]] = field(default_factory=dict)
    problems: tuple[int, ...] = ()
    response_headers: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", self.rule)

    def path_parameters(self) -> list[dict[str, Any]]:
        return [
            {"name": name, "in": "path", "required": True, "schema": dict(_PARAM_SCHEMAS.get(kind, {"type": "string"}))}
            for kind, name in _CONVERTER.findall(self.rule)
        ]


OPERATIONS: list[Operation] = []


def operation(
    bp: Blueprint,
    rule: str,
    method: str,
    *,
    summary: str,
    tag: str,
    scope: str | None,
    description: str = "",
    parameters: list[dict[str, Any]] | None = None,
    request_schema: Any = None,
    responses: dict[int, tuple[str, Any]] | None = None,
    problems: tuple[int, ...] = (),
    endpoint: str | None = None,
    response_headers: dict[int, dict[str, Any]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``view`` at ``rule`` for ``method``; it runs only for a client holding ``scope``.

    ``scope=None`` still needs a valid key. ``responses`` maps a status to (description, schema);
    ``problems`` lists the error statuses the operation itself may answer (401, 404, 405, 429 and
    500 are added for every operation). ``endpoint`` (default ``<module>_<function>``) is also the
    operationId; ``response_headers`` documents headers per status (``{200: {"ETag": {...}}}``).
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        name = endpoint or f"{view.__module__.rsplit('.', 1)[-1]}_{view.__name__}"

        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if scope is None:
                require_principal()
            else:
                require_scope(scope)
            return view(*args, **kwargs)

        bp.add_url_rule(rule, endpoint=name, view_func=guarded, methods=[method])
        OPERATIONS.append(
            Operation(
                rule=rule,
                method=method.lower(),
                endpoint=name,
                summary=summary,
                tag=tag,
                scope=scope,
                description=description,
                parameters=list(parameters or []),
                request_schema=request_schema,
                responses=dict(responses or {}),
                problems=problems,
                response_headers=dict(response_headers or {}),
            )
        )
        return guarded

    return decorator
