"""Login, failed-login and logout events, written to the audit trail.

The hooks that call these (FAB's login views / flask-login signals) belong to the
security hardening; these functions only record. Each commits its own row.
"""

from __future__ import annotations

from typing import Any

from app.services import audit

MAX_USERNAME = 100


def _actor(user: Any) -> Any:
    return getattr(user, "platform_user_id", None)


def record_login(user: Any) -> None:
    audit.record("auth.login", "ab_user", getattr(user, "id", None), {}, actor_id=_actor(user), commit=True)


def record_login_failed(username: str) -> None:
    # The attempted name is what an investigator needs; it is cut short and never a password.
    name = (username or "")[:MAX_USERNAME]
    audit.record("auth.login_failed", "ab_user", None, {"username": name}, commit=True)


def record_logout(user: Any) -> None:
    audit.record("auth.logout", "ab_user", getattr(user, "id", None), {}, actor_id=_actor(user), commit=True)
