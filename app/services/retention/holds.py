"""Legal holds: a user under hold keeps every row that names them, whatever the retention policy.

The exclusion is part of the one statement that selects or changes a batch (``held_clause``),
so no row of a held user is ever read for deletion.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy import exists, select

from app.extensions import db
from app.models.identity import PlatformUser
from app.services.audit import chain as audit
from app.services.retention.policies import RetentionEntity, RetentionError


def held_clause(spec: RetentionEntity, table: sa.Table) -> Any:
    """Rows of users under legal hold are excluded in the same query that selects a batch."""
    if not spec.holders:
        return sa.true()
    users = PlatformUser.__table__
    return ~exists(select(1).where(users.c.legal_hold.is_(True), users.c.id.in_([table.c[h] for h in spec.holders])))


def set_legal_hold(user_id: Any, held: bool, reason: str = "") -> PlatformUser:
    """Put a user under legal hold (or release them). Audited as an update plus an explicit event."""
    try:
        uid = uuid.UUID(str(user_id))
    except ValueError:
        raise RetentionError(_("%(value)s is not a user id", value=repr(user_id))) from None
    user = db.session.get(PlatformUser, uid)
    if user is None:
        raise RetentionError(_("no user %(id)s", id=uid))
    user.legal_hold = held
    db.session.flush()
    audit.record("legal_hold.set" if held else "legal_hold.release", "users", uid, {"reason": reason[:200]})
    db.session.commit()
    return user


def held_users(limit: int = 200) -> list[PlatformUser]:
    return list(db.session.scalars(select(PlatformUser).where(PlatformUser.legal_hold.is_(True)).limit(limit)))
