"""Step-up: sensitive console actions ask for a fresh second factor, and safe ``next`` addresses.

``requires_recent_mfa`` goes under ``@has_access`` (permission first): the wrapped route runs
only when this sign-in session passed a TOTP or recovery-code check within
``MFA_STEP_UP_MAX_AGE``. Otherwise the person is sent to ``/mfa/verify`` (or to ``/mfa/setup``
when the account has no second factor yet) and comes back to the page they were on; a JSON
client gets 403 with a reason. The session row (``g.cd_auth_session``) is put there by the
session check in ``app.web.security.sessions`` on every signed-in request.

Kept outside ``app.web.security`` so the console views can use it without an import cycle.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, g, jsonify, redirect, request, url_for
from flask_babel import gettext as _

from app.services.signin import auth_sessions, mfa
from app.web.negotiation import wants_json

SETUP_ENDPOINT = "MfaView.setup"
VERIFY_ENDPOINT = "MfaView.verify"
MAX_NEXT = 2000


def safe_next(value: Any) -> str | None:
    """A relative path on this site (``/x?y``), else None: no scheme, host, ``//`` or backslash tricks."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NEXT:
        return None
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def here() -> str:
    """Where to come back to after a check: this page for a GET, the page the form was on for a POST."""
    if request.method in ("GET", "HEAD"):
        return safe_next(request.full_path.rstrip("?")) or "/"
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return "/"
    path = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return safe_next(path) or "/"


def current_session() -> Any:
    return g.get("cd_auth_session")


def recent_mfa(now: dt.datetime | None = None) -> bool:
    """Did this sign-in session pass a second-factor check within ``MFA_STEP_UP_MAX_AGE``?"""
    now = now or dt.datetime.now(dt.UTC)
    age = auth_sessions.mfa_age(current_session(), now)
    return age is not None and dt.timedelta(0) <= age <= current_app.config["MFA_STEP_UP_MAX_AGE"]


def challenge() -> Any:
    """The response that asks for a fresh check (None when the last one is recent enough)."""
    if recent_mfa():
        return None
    enrolled = mfa.is_enrolled(g.user)
    message = (
        _("Confirm it is you: enter a code from your authenticator app, then repeat the action.")
        if enrolled
        else _("This action needs two-step sign-in. Set it up first, then repeat the action.")
    )
    if wants_json():
        response = jsonify({"error": message, "status": 403, "reason": "mfa_step_up_required"})
        response.status_code = 403
        return response
    flash(message, "warning")
    return redirect(url_for(VERIFY_ENDPOINT if enrolled else SETUP_ENDPOINT, next=here()))


def requires_recent_mfa(when: Callable[..., bool] | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a view method; ``when(**route_kwargs)`` limits the check to the risky cases of a route."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if when is None or when(*args, **kwargs):
                response = challenge()
                if response is not None:
                    return response
            return func(self, *args, **kwargs)

        return wrapper

    return decorate
