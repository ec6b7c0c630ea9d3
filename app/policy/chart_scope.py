"""Row scope for charts and dashboards, from the one scope layer (``app.policy.scope``).

Entity charts start from ``scoped_select``; dashboard reports, which aggregate rollup
tables rather than entity rows, bound themselves by the coach whose customers they may
show (``scoped_coach_id``). No rule matched means no rows.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from app.policy.roles import COACH
from app.policy.scope import UNRESTRICTED_ROLES, role_names, scoped_select


def scoped_coach_id(user: Any) -> uuid.UUID | None:
    """The platform user id whose customers bound this viewer, or None when unrestricted.

    Raises ``PermissionError`` for an account with no role that grants any rows.
    """
    roles = role_names(user)
    if roles & UNRESTRICTED_ROLES:
        return None
    platform_id = getattr(user, "platform_user_id", None)
    if COACH in roles and platform_id is not None:
        return platform_id
    raise PermissionError("no row scope rule matches this account")


def base_select(model: type, user: Any) -> sa.Select:
    """``select(model)`` restricted to what ``user`` may see."""
    return scoped_select(model, user)
