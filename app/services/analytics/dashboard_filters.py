"""The choices of the dashboard filter form, each list bounded by the viewer's row scope.

A coach's program list is what their own console lists show (their own, shared and
public programs, never another coach's private ones), and a coach gets no coach
choice: their dashboards already cover only their customers.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import models as m
from app.models.identity import RoleCode
from app.policy.scope import is_unrestricted, scope_criteria

OPTION_LIMIT = 200

Options = dict[str, list[tuple[str, str]]]


def filter_options(session: Session, user: Any) -> Options:
    """Product, program and coach choices (capped at ``OPTION_LIMIT`` each) that ``user`` may see."""
    products = session.execute(
        sa.select(m.Product.id, m.Product.name)
        .where(scope_criteria(m.Product, user))
        .order_by(m.Product.name)
        .limit(OPTION_LIMIT)
    )
    programs = session.execute(
        sa.select(m.Program.id, m.Program.title)
        .where(scope_criteria(m.Program, user))
        .order_by(m.Program.title)
        .limit(OPTION_LIMIT)
    )
    coaches: list[tuple[str, str]] = []
    if is_unrestricted(user):
        coach_ids = (
            sa.select(m.UserRole.user_id)
            .join(m.PlatformRole, m.PlatformRole.id == m.UserRole.role_id)
            .where(m.PlatformRole.code == RoleCode.COACH)
        )
        rows = session.execute(
            sa.select(m.PlatformUser.id, m.PlatformUser.full_name)
            .where(m.PlatformUser.id.in_(coach_ids))
            .order_by(m.PlatformUser.full_name)
            .limit(OPTION_LIMIT)
        )
        coaches = [(str(i), n) for i, n in rows]
    return {
        "product": [(str(i), n) for i, n in products],
        "program": [(str(i), t) for i, t in programs],
        "coach": coaches,
    }
