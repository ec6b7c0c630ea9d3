"""Login hardening wired into an app: settings FAB reads at start, then the hooks on requests.

``configure`` runs before the security manager exists (FAB reads these settings in its
constructor); ``install`` runs after, when the manager's views are registered. Both are
called from ``create_app``'s install sequence, never from the manager's constructor.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from app.policy import passwords
from app.web.security import login_limits, mfa_views, sessions


def configure(app: Flask) -> None:
    """Password hashing, password policy, limiter storage and trusted proxy headers."""
    config = app.config
    # An unknown username must cost as much as a wrong password (ASVS 6.3.8).
    method = config.get("FAB_PASSWORD_HASH_METHOD", "scrypt")
    fake = config.get("AUTH_DB_FAKE_PASSWORD_HASH_CHECK")
    if not fake or passwords.hash_method_of(fake) != method:
        config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"] = passwords.fake_password_hash(method)
    config.setdefault("FAB_PASSWORD_COMPLEXITY_VALIDATOR", passwords.check_password_policy)
    login_limits.configure_storage(config)
    login_limits.trust_proxy_headers(app)


def install(app: Flask, sm: Any) -> None:
    """Sign-in session rows, absolute lifetime and session epoch, and the second factor, on every request."""
    mfa_views.install_guard(app)
    sessions.install_session_limits(app, sm)
