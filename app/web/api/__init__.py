"""The REST API for client apps and partners (issue 15), at ``/api/v1``.

``blueprint`` holds the blueprint and its error handlers; ``auth`` the Bearer key and scope checks;
``registry`` declares each operation with its OpenAPI description; ``spec`` builds the document;
``problems`` is the RFC 9457 error shape. ``resource.CoachdeskModelRestApi`` is the base of model
resources (row scope, paging, filters, ETags), built from ``actor`` (principal -> Actor), ``query``,
``paging``, ``bodies`` and ``etag``. Resource modules register their operations on import.
"""

from __future__ import annotations

from flask import Flask

from app.extensions import csrf


def install_api(app: Flask) -> None:
    """Register the API blueprint (once per app) with every resource module imported."""
    from app.web.api import customers, me, plans, sessions  # noqa: F401  (register their operations)
    from app.web.api.blueprint import api_bp

    csrf.exempt(api_bp)
    app.register_blueprint(api_bp)
