"""Response security headers: a nonce-based Content-Security-Policy, HSTS in production, no framing.

Every page's inline ``<script>`` carries the per-request nonce (``csp_nonce()`` in templates;
FAB's ``baselib.get_nonce`` and Flask-Admin's ``admin_csp_nonce_attribute`` call it), so an
injected script without it never runs. Inline event handlers (``onclick=``) are not allowed
at all: the console's handlers live in app/static/coachdesk/*.js.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, g, has_request_context, request

# style-src keeps 'unsafe-inline': FAB, Flask-Admin (select2, x-editable) and plotly set
# inline styles and style attributes throughout; styles cannot run script.
# img-src and font-src allow data: for plotly's and FAB's embedded icons and fonts.
CSP_TEMPLATE = (
    "default-src 'self'; "
    "script-src 'self' 'nonce-{nonce}'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "font-src 'self' data:; "
    "object-src 'none'; "
    "base-uri 'self'; "
    "form-action 'self'; "
    "frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
# Flask-Admin's x-editable (the /admin grids' inline edits) parses its option lists with
# new Function(); without 'unsafe-eval' select fields would fetch their options as a URL.
# Only Flask-Admin's blueprints (endpoints prefixed admin_) get it; inline scripts still need the nonce.
ADMIN_SCRIPT_EXTRA = " 'unsafe-eval'"


def csp_nonce() -> str:
    """This request's nonce, made on first use (an empty string outside a request)."""
    if not has_request_context():
        return ""
    nonce = g.get("_cd_csp_nonce")
    if nonce is None:
        nonce = g._cd_csp_nonce = secrets.token_urlsafe(18)
    return nonce


def content_security_policy() -> str:
    policy = CSP_TEMPLATE.format(nonce=csp_nonce())
    if (request.blueprint or "").startswith("admin_"):
        policy = policy.replace("'nonce-", ADMIN_SCRIPT_EXTRA.strip() + " 'nonce-", 1)
    return policy


def install(app: Flask) -> None:
    """Expose ``csp_nonce`` to templates (FAB's and Flask-Admin's too) and set the headers on every response."""
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    # Flask-Admin asks its Admin object for a nonce generator on every render.
    for admin in app.extensions.get("admin", []):
        admin.csp_nonce_generator = csp_nonce

    @app.after_request
    def _security_headers(response: Any) -> Any:
        headers = response.headers
        headers["Content-Security-Policy"] = content_security_policy()
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers["X-Frame-Options"] = "DENY"
        headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("HSTS_ENABLED"):
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
