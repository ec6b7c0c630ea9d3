"""Hold a signed-in session at the second factor until it is passed.

After the password, an account with MFA must pass ``/mfa/verify`` (a TOTP or recovery code);
an account without MFA whose roles are in ``MFA_REQUIRED_ROLES`` must first enrol at
``/mfa/setup``. Until then every console route redirects there (back to the page asked for
afterwards); JSON clients get 401. Signing out, static files, the language switch and the MFA
pages themselves stay open.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, redirect, request, url_for
from flask_babel import gettext as _

from app.services.signin import mfa
from app.web.negotiation import wants_json
from app.web.step_up import SETUP_ENDPOINT, VERIFY_ENDPOINT, safe_next

OPEN_ENDPOINTS = frozenset(
    {
        "static",
        "appbuilder.static",
        "AuthDBView.logout",
        "SignOutView.logout",
        "LanguageSwitchView.index",
        "LocaleView.index",
        "coachdesk_plotly.plotly_js",
    }
)
MFA_VIEW = "MfaView."


def pending_step(user: Any, row: Any) -> str | None:
    """The MFA page this session must pass first, or None."""
    if row is None or row.mfa_verified:
        return None
    if mfa.is_enrolled(user):
        return VERIFY_ENDPOINT
    if mfa.mfa_required(user, current_app.config.get("MFA_REQUIRED_ROLES") or ()):
        return SETUP_ENDPOINT
    return None


def hold(user: Any, row: Any) -> Any:
    """The redirect (or 401) for a request this session may not make yet; None to let it through."""
    endpoint = request.endpoint or ""
    if endpoint in OPEN_ENDPOINTS or endpoint.startswith(MFA_VIEW) or endpoint.endswith(".static"):
        return None
    target = pending_step(user, row)
    if target is None:
        return None
    if wants_json():
        response = jsonify({"error": _("Finish signing in with your second factor."), "status": 401})
        response.status_code = 401
        return response
    back = safe_next(request.full_path.rstrip("?")) if request.method in ("GET", "HEAD") else None
    return redirect(url_for(target, next=back) if back and back != "/" else url_for(target))
