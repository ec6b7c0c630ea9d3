"""Bearer-key authentication for the REST API, and the scope check every operation makes.

No cookie, no CSRF: a request carries ``Authorization: Bearer <key>`` and nothing else counts, so
a browser session cannot be ridden into the API. The key is checked against the database on
every request (``app.services.api_clients.keys``): a revoked key is refused by every process at once.

Once a key is accepted, the request's audit rows are attributed to the client (``api_audit_context``):
actor ``api_client:<id>`` in the row's metadata, with the subject it acted for.
"""

from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _

from app.extensions import db
from app.policy.scope import Actor
from app.services.api_clients.keys import ApiPrincipal, authenticate
from app.services.audit.context import AuditContext
from app.web.api.actor import api_actor, scope_granted
from app.web.api.problems import ApiProblem
from app.web.audit_context import client_address, client_agent

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
        if g.api_principal is not None:
            g.api_audit_context = api_audit_context(g.api_principal)
    return g.api_principal


def api_audit_context(principal: ApiPrincipal) -> AuditContext:
    """Audit rows of an API request name the client as their actor (the users FK stays the system user)."""
    subject = principal.coach_id or principal.customer_id
    extra = {"actor": f"api_client:{principal.client_id}", "api_client": principal.name}
    if subject is not None:
        extra["on_behalf_of"] = str(subject)
    return AuditContext(actor_id=None, ip_address=client_address(), user_agent=client_agent(), extra=extra)


def current_actor() -> Actor:
    """The actor this request's client acts as (see ``app.web.api.actor``); 401 without a valid key."""
    return api_actor(require_principal())


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
    if not scope_granted(principal, scope):
        raise ApiProblem(
            403,
            _(
                "This API client may not use the scope %(scope)s: it does not hold it, or whom it acts for "
                "may not do that.",
                scope=scope,
            ),
            slug="insufficient-scope",
        )
    return principal
