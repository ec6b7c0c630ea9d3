"""The API's one blueprint, ``/api/v1``: no cookies, no CSRF, problem details for every error."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import HTTPException

from app.web.api.problems import ApiProblem, from_http_exception, from_problem

API_PREFIX = "/api/v1"

api_bp = Blueprint("api_v1", __name__, url_prefix=API_PREFIX)


@api_bp.errorhandler(ApiProblem)
def _problem(error: ApiProblem) -> Any:
    return from_problem(error)


@api_bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Any:
    return from_http_exception(error)


@api_bp.get("/openapi.json")
def openapi_document() -> Any:
    """The OpenAPI 3.1 document (public: it describes, it grants nothing)."""
    from app.web.api.spec import build_spec

    return jsonify(build_spec(request.host_url.rstrip("/") + API_PREFIX))


def is_api_request() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")
