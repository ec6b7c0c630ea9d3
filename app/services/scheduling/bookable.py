"""Which customers a person may book into sessions, searched by name or email (the roster's "add a customer").

The same rule the booking engine applies when it books (``rules.check_customer``): platform users with
the CUSTOMER role; a coach only the customers assigned to them, staff with roster write any customer.
Offering exactly those keeps the picker from proposing someone the booking would refuse.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.identity import PlatformUser
from app.policy.scope import Actor, coach_customers, is_unrestricted
from app.services.people_search import users_matching
from app.services.scheduling.access import grants
from app.services.scheduling.rules import is_customer

MAX_RESULTS = 50


def bookable_customers(db: Session, actor: Actor, q: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Up to ``limit`` customers the actor may book whose name or email contains ``q`` (empty: the first ones)."""
    if not grants(actor, "SessionParticipants"):
        return []
    criteria = [is_customer()]
    if not is_unrestricted(actor):
        if actor.user_id is None:
            return []
        criteria.append(PlatformUser.id.in_(coach_customers(actor.user_id)))
    return users_matching(db, sa.and_(*criteria), q, limit=max(1, min(int(limit), MAX_RESULTS)))
