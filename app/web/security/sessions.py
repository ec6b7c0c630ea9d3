"""Session lifetime and invalidation (ASVS 7.3.1, 7.3.2, 7.4.1).

- Idle timeout: Flask's own. Sessions are permanent and ``PERMANENT_SESSION_LIFETIME``
  (30 min) is the signed cookie's max age, refreshed on every request.
- Absolute timeout: the login time is stored in the session; once
  ``SESSION_ABSOLUTE_LIFETIME`` (12 h) has passed the user is signed out, however active.
- Logout everywhere: the session also carries the account's ``session_epoch``, which
  logout and password changes bump. Sessions are client-side signed cookies, so
  without this a copied cookie would stay valid after logout until it expired.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from app.services.audit import auth_events

LOGIN_AT = "_cd_login_at"
EPOCH = "_cd_epoch"
FLASK_LOGIN_USER_KEY = "_user_id"


def mark_login(user: Any) -> None:
    """Stamp the session at a successful sign-in: when, and which session epoch."""
    session[LOGIN_AT] = int(time.time())
    session[EPOCH] = int(getattr(user, "session_epoch", 0) or 0)


def session_expired(now: float | None = None, *, lifetime_seconds: float) -> bool:
    """True when the signed-in session is older than ``lifetime_seconds`` (or has no stamp)."""
    started = session.get(LOGIN_AT)
    if not isinstance(started, int | float):
        return True
    age = (time.time() if now is None else now) - started
    return not 0 <= age <= lifetime_seconds


def session_revoked(user: Any) -> bool:
    """True when the account's sessions were ended (logout, password change) after this one began."""
    return session.get(EPOCH) != int(getattr(user, "session_epoch", 0) or 0)


def end_all_sessions(user: Any) -> int:
    """Bump the account's session epoch (caller commits); returns the new value."""
    user.session_epoch = int(user.session_epoch or 0) + 1
    return user.session_epoch


def keep_current_session(user: Any) -> None:
    """After ``end_all_sessions`` on one's own account (password change), stay signed in here."""
    session[EPOCH] = int(user.session_epoch or 0)


def install_session_limits(app: Flask, sm: Any) -> None:
    lifetime = app.config["SESSION_ABSOLUTE_LIFETIME"].total_seconds()

    @app.before_request
    def _session_limits() -> Any:
        if FLASK_LOGIN_USER_KEY not in session or (request.endpoint or "").endswith("static"):
            return None  # static files are public; skip the account lookup for them
        if session_expired(lifetime_seconds=lifetime):
            reason = "absolute_lifetime"
        elif current_user.is_authenticated and session_revoked(current_user):
            reason = "revoked"
        else:
            return None
        user_id = session.get(FLASK_LOGIN_USER_KEY)
        logout_user()
        session.pop(LOGIN_AT, None)
        session.pop(EPOCH, None)
        auth_events.record_auth_event(
            auth_events.SESSION_EXPIRED,
            ip=request.remote_addr,
            user_agent=request.user_agent.string,
            detail={"user_id": user_id, "reason": reason},
        )
        flash(_("Your session has expired. Please sign in again."), "info")
        login = sm.auth_view.endpoint + ".login"
        if request.method in ("GET", "HEAD") and request.endpoint != login:
            return redirect(url_for(login, next=request.full_path.rstrip("?")))
        return redirect(url_for(login))
