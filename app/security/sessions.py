"""Session lifetime (ASVS 7.3.1/7.3.2): an idle timeout and an absolute one.

The idle timeout is Flask's own: sessions are permanent and
``PERMANENT_SESSION_LIFETIME`` (30 min) is the signed cookie's max age,
refreshed on every request. The absolute timeout is ours: the login time is
stored in the session and a ``before_request`` hook signs the user out once
``SESSION_ABSOLUTE_LIFETIME`` (12 h) has passed, however active they were.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import logout_user

from app.services import auth_events

LOGIN_AT = "_cd_login_at"
FLASK_LOGIN_USER_KEY = "_user_id"


def mark_login() -> None:
    """Stamp the session with the time of a successful sign-in."""
    session[LOGIN_AT] = int(time.time())


def session_expired(now: float | None = None, *, lifetime_seconds: float) -> bool:
    """True when the signed-in session is older than ``lifetime_seconds`` (or has no stamp)."""
    started = session.get(LOGIN_AT)
    if not isinstance(started, int | float):
        return True
    age = (time.time() if now is None else now) - started
    return not 0 <= age <= lifetime_seconds


def install_session_limits(app: Flask, sm: Any) -> None:
    lifetime = app.config["SESSION_ABSOLUTE_LIFETIME"].total_seconds()

    @app.before_request
    def _absolute_session_lifetime() -> Any:
        if FLASK_LOGIN_USER_KEY not in session or not session_expired(lifetime_seconds=lifetime):
            return None
        user_id = session.get(FLASK_LOGIN_USER_KEY)
        logout_user()
        session.pop(LOGIN_AT, None)
        auth_events.record_auth_event(
            auth_events.SESSION_EXPIRED,
            ip=request.remote_addr,
            user_agent=request.user_agent.string,
            detail={"user_id": user_id, "reason": "absolute_lifetime"},
        )
        flash(_("Your session has expired. Please sign in again."), "info")
        login = url_for(sm.auth_view.endpoint + ".login")
        if request.method in ("GET", "HEAD") and request.endpoint != sm.auth_view.endpoint + ".login":
            login = url_for(sm.auth_view.endpoint + ".login", next=request.full_path.rstrip("?"))
        return redirect(login)
