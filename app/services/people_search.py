"""Typeahead search: one LIKE escape and one "name or email contains" query for every picker.

The plan builder's customer picker and the roster's "add a customer" differ only in whom they may
offer (``criteria``); the matching, ordering and the shape of a result are the same.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.identity import PlatformUser

MAX_QUERY = 100


def contains_pattern(value: str) -> str:
    """A LIKE pattern (escape ``\\``) matching text that contains ``value`` literally (``%`` and ``_`` included)."""
    escaped = value[:MAX_QUERY].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def users_matching(db: Session, criteria: Any, q: str, *, limit: int) -> list[dict[str, str]]:
    """Up to ``limit`` platform users meeting ``criteria`` whose name or email contains ``q``, by name."""
    stmt = sa.select(PlatformUser.id, PlatformUser.full_name, PlatformUser.email).where(criteria)
    q = (q or "").strip()[:MAX_QUERY]
    if q:
        like = contains_pattern(q)
        stmt = stmt.where(
            sa.or_(PlatformUser.full_name.ilike(like, escape="\\"), PlatformUser.email.ilike(like, escape="\\"))
        )
    rows = db.execute(stmt.order_by(PlatformUser.full_name, PlatformUser.id).limit(limit))
    return [{"id": str(uid), "text": f"{name} <{email}>" if name else email} for uid, name, email in rows]
