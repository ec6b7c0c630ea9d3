"""RFC 9457 problem details: the one error shape of the REST API.

Every refusal under ``/api/v1/`` (401, 403, 404, 405, 409, 412, 413, 415, 422, 428, 429, 500) is
``application/problem+json`` with ``type``, ``title``, ``status`` and, where it helps, ``detail``
and ``errors`` (field -> messages). ``type`` is a stable URI per kind of problem, documented in the
OpenAPI document, so a client can branch on it without parsing text.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://coachdesk.example/problems/"

# status -> (type slug, default title)
_KINDS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    412: ("precondition-failed", "Precondition failed"),
    413: ("too-large", "Request too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation", "Invalid input"),
    428: ("precondition-required", "Precondition required"),
    429: ("rate-limited", "Too many requests"),
    500: ("server-error", "Server error"),
}


class ApiProblem(Exception):
    """Raised anywhere in an API view; rendered as a problem response."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        slug: str | None = None,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or "")
        self.status = status
        self.detail = detail
        self.slug = slug
        self.errors = errors
        self.headers = headers or {}


def _title(status: int) -> str:
    titles = {
        400: _("Bad request"),
        401: _("Authentication required"),
        403: _("Not allowed"),
        404: _("Not found"),
        405: _("Method not allowed"),
        409: _("Conflict"),
        412: _("Precondition failed"),
        413: _("Request too large"),
        415: _("Unsupported media type"),
        422: _("Invalid input"),
        428: _("Precondition required"),
        429: _("Too many requests"),
        500: _("Server error"),
    }
    return titles.get(status) or _("Error")


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    slug: str | None = None,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    kind = slug or _KINDS.get(status, ("error", ""))[0]
    body: dict[str, Any] = {"type": TYPE_BASE + kind, "title": _title(status), "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_problem(error: ApiProblem) -> Response:
    return problem_response(error.status, error.detail, slug=error.slug, errors=error.errors, headers=error.headers)


def from_http_exception(error: HTTPException) -> Response:
    """A werkzeug error (routing, method, size, the input guard) as a problem."""
    status = error.code or 500
    detail = None
    if status < 500 and error.description and error.description != type(error).description:
        detail = str(error.description)
    headers = {}
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    if error.response is not None and error.response.headers.get("Retry-After"):
        headers["Retry-After"] = error.response.headers["Retry-After"]
    return problem_response(status, detail, headers=headers)
