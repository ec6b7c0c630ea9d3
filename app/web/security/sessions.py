"""Session lifetime and invalidation (ASVS 7.3.1, 7.3.2, 7.4.1), backed by ``auth_sessions`` rows.

- Every sign-in creates an ``auth_sessions`` row (``app.services.signin.auth_sessions``) and the
  signed session cookie carries its id. Each request checks the row: ended (logout, "end
  session", password change, an Admin), past its absolute expiry (12 h) or idle for longer
  than ``PERMANENT_SESSION_LIFETIME`` (30 min) signs that browser out at once.
- The cookie's own limits stay as a second line: sessions are permanent, so
  ``PERMANENT_SESSION_LIFETIME`` is also the cookie's max age; the login time in the cookie
  enforces ``SESSION_ABSOLUTE_LIFETIME``; the account's ``session_epoch`` (bumped on password
  change) refuses cookies of older sign-ins.
- The row says whether this sign-in passed the second factor; ``mfa_gate`` holds every console
  route until it has, for accounts that use MFA or whose role requires it.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from app.extensions import db
from app.models.identity import AuthSession
from app.services.audit import auth_events
from app.services.signin import auth_sessions
from app.web.audit_context import client_address, client_agent
from app.web.security import mfa_gate

LOGIN_AT = "_cd_login_at"
EPOCH = "_cd_epoch"
SESSION_ID = "_cd_sid"
FLASK_LOGIN_USER_KEY = "_user_id"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def mark_login(user: Any) -> None:
    """At a successful sign-in: stamp the cookie and start its ``auth_sessions`` row (committed)."""
    session[LOGIN_AT] = int(time.time())
    session[EPOCH] = int(getattr(user, "session_epoch", 0) or 0)
    row = auth_sessions.start(
        user,
        ip=client_address(),
        user_agent=client_agent(),
        now=utcnow(),
        absolute=current_app.config["SESSION_ABSOLUTE_LIFETIME"],
    )
    db.session.commit()
    session[SESSION_ID] = row.id
    g.cd_auth_session = row


def current_session_id() -> int | None:
    value = session.get(SESSION_ID)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def session_expired(now: float | None = None, *, lifetime_seconds: float) -> bool:
    """True when the signed-in session is older than ``lifetime_seconds`` (or has no stamp)."""
    started = session.get(LOGIN_AT)
    if not isinstance(started, int | float):
        return True
    age = (time.time() if now is None else now) - started
    return not 0 <= age <= lifetime_seconds


def session_revoked(user: Any) -> bool:
    """True when the account's sessions were ended (password change) after this one began."""
    return session.get(EPOCH) != int(getattr(user, "session_epoch", 0) or 0)


def end_all_sessions(user: Any, *, keep_current: bool = False) -> int:
    """End every sign-in session of the account (caller commits): the epoch and the rows.

    ``keep_current`` spares this browser's row (one's own password change). Returns the new epoch.
    """
    user.session_epoch = int(user.session_epoch or 0) + 1
    keep = current_session_id() if keep_current else None
    auth_sessions.end_all(user.id, auth_sessions.PASSWORD_CHANGED, utcnow(), except_id=keep)
    return user.session_epoch


def keep_current_session(user: Any) -> None:
    """After ``end_all_sessions`` on one's own account (password change), stay signed in here."""
    session[EPOCH] = int(user.session_epoch or 0)


def end_current_session(reason: str = auth_sessions.LOGOUT) -> None:
    """Sign-out: end this browser's row (caller commits) and forget it."""
    sid = session.pop(SESSION_ID, None)
    row = db.session.get(AuthSession, sid) if isinstance(sid, int) else None
    if row is not None:
        auth_sessions.end(row, reason, utcnow())


def _sign_out(reason: str, sm: Any) -> Any:
    user_id = session.get(FLASK_LOGIN_USER_KEY)
    logout_user()
    for key in (LOGIN_AT, EPOCH, SESSION_ID):
        session.pop(key, None)
    g.pop("cd_auth_session", None)
    auth_events.record_auth_event(
        auth_events.SESSION_EXPIRED,
        ip=client_address(),
        user_agent=client_agent(),
        detail={"user_id": user_id, "reason": reason},
    )
    flash(_("Your session has expired. Please sign in again."), "info")
    login = sm.auth_view.endpoint + ".login"
    if request.method in ("GET", "HEAD") and request.endpoint != login:
        return redirect(url_for(login, next=request.full_path.rstrip("?")))
    return redirect(url_for(login))


def is_static_endpoint(endpoint: str | None) -> bool:
    """The app's or a blueprint's static files: public, and no reason to touch the session."""
    return bool(endpoint) and (endpoint == "static" or endpoint.endswith(".static"))


def install_session_limits(app: Flask, sm: Any) -> None:
    lifetime = app.config["SESSION_ABSOLUTE_LIFETIME"].total_seconds()
    idle = app.config["PERMANENT_SESSION_LIFETIME"]

    @app.before_request
    def _session_limits() -> Any:
        if FLASK_LOGIN_USER_KEY not in session or is_static_endpoint(request.endpoint):
            return None  # static files are public; skip the account lookup for them
        if session_expired(lifetime_seconds=lifetime):
            return _sign_out("absolute_lifetime", sm)
        if not current_user.is_authenticated:
            return None
        if session_revoked(current_user):
            return _sign_out("revoked", sm)
        now = utcnow()
        result = auth_sessions.check(current_session_id(), current_user.id, now=now, idle=idle)
        if result.row is None:
            db.session.rollback()
            return _sign_out(result.reason or "revoked", sm)
        g.cd_auth_session = result.row
        if auth_sessions.touch(result.row, now):
            db.session.commit()
        return mfa_gate.hold(current_user, result.row)
