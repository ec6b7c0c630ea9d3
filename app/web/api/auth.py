"""Bearer-key authentication for the REST API, and the scope check every operation makes.

No cookie, no CSRF: a request carries ``Authorization: Bearer <key>`` and nothing else counts, so
a browser session cannot be ridden into the API. The key is checked against the database on
every request (``app.services.api_clients.keys``): a revoked key is refused by every process at once.
"""

from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _

from app.extensions import db
from app.services.api_clients.keys import ApiPrincipal, authenticate
from app.web.api.problems import ApiProblem

_CHALLENGE = 'Bearer realm="coachdesk"'


def _bearer_key() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def current_principal() -> ApiPrincipal | None:
    """The authenticated client of this request (checked once per request), or None."""
    if "api_principal" not in g:
        key = _bearer_key()
        g.api_principal = authenticate(db.session, key) if key else None
    return g.api_principal


def require_principal() -> ApiPrincipal:
    principal = current_principal()
    if principal is None:
        if _bearer_key() is None:
            raise ApiProblem(
                401, _("Send an API key as 'Authorization: Bearer <key>'."), headers={"WWW-Authenticate": _CHALLENGE}
            )
        raise ApiProblem(
            401,
            _("The API key is not valid: unknown, revoked, suspended or expired."),
            slug="invalid-key",
            headers={"WWW-Authenticate": _CHALLENGE + ', error="invalid_token"'},
        )
    return principal


def require_scope(scope: str) -> ApiPrincipal:
    principal = require_principal()
    if not principal.allows(scope):
        raise ApiProblem(403, _("This API client lacks the scope %(scope)s.", scope=scope), slug="insufficient-scope")
    return principal
