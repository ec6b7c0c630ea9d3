"""The OpenAPI 3.1 document, generated from the declared operations and their marshmallow schemas."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from app.services.api_clients.scopes import SCOPES
from app.web.api.problems import PROBLEM_JSON, TYPE_BASE
from app.web.api.registry import OPERATIONS, Operation

API_VERSION = "1.0.0"
ALWAYS = (400, 401, 404, 405, 429, 500)
_DESCRIPTIONS = {
    400: "Malformed request (bad JSON, NUL bytes, a parameter of the wrong type).",
    401: "Missing or invalid API key.",
    403: "The client lacks the scope, or whom it acts for may not do this.",
    404: "No such resource, or not visible to this client.",
    405: "Method not allowed on this path.",
    409: "Conflict with the current state.",
    412: "If-Match does not match the current ETag.",
    413: "The request body is too large.",
    415: "The body must be application/json.",
    422: "The input failed validation; `errors` maps fields to messages.",
    428: "This update needs an If-Match header.",
    429: "Rate limit exceeded; see Retry-After.",
    500: "Unexpected server error.",
}

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri", "examples": [TYPE_BASE + "not-found"]},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {"type": "object"},
    },
}


# Sent with every answer of an operation (app.web.api.traffic): the client's budget and the request id.
_INT = {"type": "integer", "minimum": 0}
COMMON_HEADERS: dict[str, Any] = {
    "RateLimit-Limit": {"description": "Requests allowed per minute for this client.", "schema": _INT},
    "RateLimit-Remaining": {"description": "Requests left in the current window.", "schema": _INT},
    "RateLimit-Reset": {"description": "Seconds until the window frees a request.", "schema": _INT},
    "X-Request-ID": {
        "description": "The request's id (yours, when you send a sane X-Request-ID), also in the access log.",
        "schema": {"type": "string", "maxLength": 36},
    },
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": _INT}}


def _headers(status: int, own: dict[str, Any] | None = None) -> dict[str, Any]:
    headers = {**COMMON_HEADERS, **(own or {})}
    return {**headers, **RETRY_AFTER} if status == 429 else headers


def _operation_doc(op: Operation, spec: APISpec) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": op.endpoint,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": op.path_parameters() + op.parameters,
        "responses": {},
    }
    if op.description or op.scope:
        scope_note = f"Requires the scope `{op.scope}`." if op.scope else "Requires a valid API key."
        doc["description"] = (op.description + "\n\n" + scope_note).strip()
    if op.request_schema is not None:
        doc["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.request_schema}}}
    for status, (description, schema) in sorted(op.responses.items()):
        entry: dict[str, Any] = {"description": description}
        if schema is not None:
            entry["content"] = {"application/json": {"schema": schema}}
        entry["headers"] = _headers(status, op.response_headers.get(status))
        doc["responses"][str(status)] = entry
    scoped = (403,) if op.scope else ()
    for status in sorted(set(op.problems) | set(ALWAYS) | set(scoped)):
        doc["responses"][str(status)] = {
            "description": _DESCRIPTIONS.get(status, "Error."),
            "headers": _headers(status),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    doc["security"] = [{"bearerAuth": []}]
    return doc


def build_spec(server_url: str = "/") -> dict[str, Any]:
    spec = APISpec(
        title="Coachdesk API",
        version=API_VERSION,
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Client apps and partners: customers, plans, metrics, timetable and bookings, "
            "tickets and messages. Authenticate with an API client's key as a Bearer token. Scopes: "
            + ", ".join(f"`{name}`" for name in sorted(SCOPES))
            + ". Errors are RFC 9457 problem details."
        },
        servers=[{"url": server_url}],
    )
    spec.components.schema("Problem", PROBLEM_SCHEMA)
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    by_path: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        by_path.setdefault(op.path, {})[op.method] = _operation_doc(op, spec)
    for path, operations in by_path.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
