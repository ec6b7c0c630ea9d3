"""The REST API for client apps and partners (issue 15), at ``/api/v1``.

``blueprint`` holds the blueprint and its error handlers; ``auth`` the Bearer key and scope checks;
``registry`` declares each operation with its OpenAPI description; ``spec`` builds the document;
``problems`` is the RFC 9457 error shape. ``resource.CoachdeskModelRestApi`` is the base of model
resources (row scope, paging, filters, ETags), built from ``actor`` (principal -> Actor), ``query``,
``paging``, ``bodies`` and ``etag``. Resource modules register their operations on import.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, has_request_context, request

from app.extensions import csrf
from app.web.api.traffic import install_traffic  # request ids, rate limits, access log


def _cookieless_api(app: Flask) -> None:
    """No ``Set-Cookie`` on API responses, even when a browser sends the console's cookie along
    (Flask would refresh a permanent session on every request): the API has no session to keep.

    Nor on static files whose request left the session as it was: a page's scripts, styles and
    favicon each re-sent the whole cookie, and one still in flight after sign-out set it again."""
    from app.web.api.blueprint import is_api_request
    from app.web.security.sessions import is_static_endpoint

    base = type(app.session_interface)

    class ApiAwareSessionInterface(base):  # type: ignore[misc,valid-type]
        def should_set_cookie(self, app: Flask, session: Any) -> bool:
            if has_request_context() and is_api_request():
                return False
            if has_request_context() and not session.modified and is_static_endpoint(request.endpoint):
                return False
            return super().should_set_cookie(app, session)

    app.session_interface = ApiAwareSessionInterface()


def install_api(app: Flask) -> None:
    """Register the API blueprint (once per app) with every resource module imported."""
    from app.web.api import (  # noqa: F401  (register their operations)
        billing,
        customers,
        me,
        messages,
        metrics,
        plans,
        sessions,
        tickets,
    )
    from app.web.api.blueprint import api_bp

    csrf.exempt(api_bp)
    app.register_blueprint(api_bp)
    install_traffic(app)
    _cookieless_api(app)
