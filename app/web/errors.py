"""Error pages: 400, 403, 404, 405 and 500 inside the console layout, translated, with a way back.

JSON clients (the builder API, /api/, anything that asks for JSON first) get ``{"error": ...}``
instead, like the builder API's own refusals. A 500 never shows a traceback: the page says
only that something went wrong, and the exception goes to the log.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db
from app.web.api.blueprint import is_api_request
from app.web.api.problems import from_http_exception
from app.web.negotiation import wants_json

log = logging.getLogger(__name__)

TITLES = {
    400: _l("Bad request"),
    403: _l("Access denied"),
    404: _l("Page not found"),
    405: _l("Not allowed here"),
    500: _l("Something went wrong"),
}
EXPLANATIONS = {
    400: _l("The request could not be understood. Check what you entered and try again."),
    403: _l("Your role does not allow you to open this page."),
    404: _l("There is no page at this address. It may have moved, or the link may be wrong."),
    405: _l("This address cannot be used this way. Use the buttons and menus of the console."),
    500: _l("The console could not complete this request. It has been logged; please try again later."),
}


def _detail(error: HTTPException) -> str | None:
    """A 400's own description (ours, e.g. the input guard's), never a default or a 5xx's text."""
    if error.code != 400 or not error.description or error.description == type(error).description:
        return None
    return str(error.description)


def render_error(error: HTTPException) -> Any:
    if is_api_request():  # the REST API answers every error as RFC 9457 problem details
        return from_http_exception(error)
    code = error.code or 500
    title, explanation = TITLES[code], EXPLANATIONS[code]
    detail = _detail(error)
    if wants_json():
        response = jsonify({"error": detail or str(title), "status": code})
        response.status_code = code
    else:
        response = current_app.make_response((_render_page(code, title, explanation, detail), code))
    if code == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _render_page(code: int, title: Any, explanation: Any, detail: str | None) -> str:
    context = {"code": code, "title": title, "explanation": explanation, "detail": detail}
    if not hasattr(g, "user"):  # refused before FAB's own before_request set it (app.web.input_guard)
        g.user = current_user
    try:
        return render_template("errors/error.html", appbuilder=current_app.appbuilder, **context)
    except Exception:  # the layout itself failed (a broken database, say): a bare page, still no traceback
        log.exception("error page layout failed for %s", code)
        return render_template("errors/bare.html", **context)


def _server_error(error: InternalServerError) -> Any:
    original = getattr(error, "original_exception", None)
    if original is not None:
        log.error("unhandled exception on %s %s", request.method, request.path, exc_info=original)
    with contextlib.suppress(Exception):  # the page below renders even if this fails
        db.session.rollback()  # the failed transaction would break the layout's own queries
    return render_error(error)


def install(app: Flask) -> None:
    for code in (400, 403, 404, 405):
        app.register_error_handler(code, render_error)
    app.register_error_handler(InternalServerError, _server_error)
