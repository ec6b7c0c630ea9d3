"""Whether a request wants JSON rather than an HTML page: error pages, the MFA gate and step-up all ask."""

from __future__ import annotations

from flask import request

JSON_PREFIXES = ("/planbuilder/api/", "/api/")


def wants_json() -> bool:
    """True for the JSON endpoints and for clients that prefer JSON to HTML."""
    if request.path.startswith(JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
