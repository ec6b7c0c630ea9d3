"""The API's one blueprint, ``/api/v1``: no cookies, no CSRF, problem details for every error."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from app.web.api.problems import ApiProblem, from_http_exception, from_problem

API_PREFIX = "/api/v1"
SWAGGER_UI_DIR = "vendor/swagger-ui-5.35.0"  # swagger-ui-dist from npm: bundle, css, LICENSE

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


@api_bp.get("/docs")
def docs() -> Any:
    """Swagger UI over the document, from local files; its init script is a static file (no inline script)."""
    return render_template("api/docs.html", swagger_dir=SWAGGER_UI_DIR, spec_url=url_for("api_v1.openapi_document"))


def is_api_request() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")
