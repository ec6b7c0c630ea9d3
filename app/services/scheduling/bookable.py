"""Which customers a person may book into sessions, searched by name or email (the roster's "add a customer").

The same rule the booking engine applies when it books (``rules.check_customer``): platform users with
the CUSTOMER role; a coach only the customers assigned to them, staff with roster write any customer.
Offering exactly those keeps the picker from proposing someone the booking would refuse.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole
from app.policy.roles import WRITE, allowed
from app.policy.scope import Actor, coach_customers, is_unrestricted

MAX_RESULTS = 50


def _like(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def bookable_customers(db: Session, actor: Actor, q: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Up to ``limit`` customers the actor may book whose name or email contains ``q`` (empty: the first ones)."""
    if not any(allowed(role, "SessionParticipants", WRITE) for role in actor.roles):
        return []
    limit = max(1, min(int(limit), MAX_RESULTS))
    is_customer = sa.exists().where(
        UserRole.user_id == PlatformUser.id,
        UserRole.role_id == PlatformRole.id,
        PlatformRole.code == RoleCode.CUSTOMER,
    )
    stmt = sa.select(PlatformUser.id, PlatformUser.full_name, PlatformUser.email).where(is_customer)
    if not is_unrestricted(actor):
        if actor.user_id is None:
            return []
        stmt = stmt.where(PlatformUser.id.in_(coach_customers(actor.user_id)))
    q = (q or "").strip()[:100]
    if q:
        like = _like(q)
        stmt = stmt.where(
            sa.or_(PlatformUser.full_name.ilike(like, escape="\\"), PlatformUser.email.ilike(like, escape="\\"))
        )
    rows = db.execute(stmt.order_by(PlatformUser.full_name, PlatformUser.id).limit(limit))
    return [{"id": str(uid), "text": f"{name} <{email}>" if name else email} for uid, name, email in rows]
