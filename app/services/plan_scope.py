"""Who may use which programs, customers and plans in the plan builder.

TEMPORARY: this is the builder's own row scope, written before the shared
scope layer (``app/security/scope.py``, ``scoped_select(model, user)``) existed
on this branch. On merge, replace ``program_scope``/``customer_scope``/
``plan_scope`` with that layer's filters; the rules below are the ones it
must enforce for these three tables. No rule matched means no rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.models.customers import CoachAssignment
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole
from app.models.training import CustomerPlan, Program, Visibility
from app.security.roles import ADMIN, COACH

# Largest value an INTEGER key column holds; larger ids are "not found", never a database error.
MAX_ID = 2**31 - 1

# Read-only console roles that see every plan (their grants are read-only anyway).
_READ_ALL_ROLES = frozenset({"Manager", "Support"})


@dataclass(frozen=True)
class Actor:
    """The person acting: a platform user id plus console role names."""

    user_id: uuid.UUID | None
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    @property
    def is_coach(self) -> bool:
        return COACH in self.roles


def actor_for(console_user: Any) -> Actor:
    """Build an Actor from a FAB console account (``g.user``)."""
    if console_user is None or getattr(console_user, "is_anonymous", True):
        return Actor(None, frozenset())
    return Actor(
        getattr(console_user, "platform_user_id", None),
        frozenset(r.name for r in getattr(console_user, "roles", [])),
    )


def _nothing() -> sa.ColumnElement[bool]:
    return sa.false()


def program_scope(actor: Actor) -> sa.ColumnElement[bool]:
    """Programs an actor may open and assign: own, SHARED or PUBLIC (coach); all (admin)."""
    if actor.is_admin:
        return sa.true()
    if actor.is_coach:
        shared = Program.visibility.in_([Visibility.SHARED, Visibility.PUBLIC])
        if actor.user_id is None:
            return shared
        return sa.or_(Program.created_by == actor.user_id, shared)
    if actor.roles & _READ_ALL_ROLES:
        return sa.true()
    return _nothing()


def program_editable(actor: Actor, program: Program) -> bool:
    """Coaches edit their own and team-SHARED programs; PUBLIC ones are templates to assign, not edit."""
    if actor.is_admin:
        return True
    if not actor.is_coach:
        return False
    if actor.user_id is not None and program.created_by == actor.user_id:
        return True
    return program.visibility == Visibility.SHARED


def customer_scope(actor: Actor) -> sa.ColumnElement[bool]:
    """Customers (``PlatformUser`` rows) an actor may assign plans to."""
    is_customer = PlatformUser.id.in_(
        sa.select(UserRole.user_id).join(PlatformRole).where(PlatformRole.code == RoleCode.CUSTOMER)
    )
    if actor.is_admin:
        return is_customer
    if actor.is_coach and actor.user_id is not None:
        return PlatformUser.id.in_(
            sa.select(CoachAssignment.customer_id).where(CoachAssignment.coach_id == actor.user_id)
        )
    return _nothing()


def plan_scope(actor: Actor) -> sa.ColumnElement[bool]:
    """Plans an actor may see: their customers' (coach); all (admin, manager, support)."""
    if actor.is_admin or (actor.roles & _READ_ALL_ROLES and not actor.is_coach):
        return sa.true()
    if actor.is_coach and actor.user_id is not None:
        return CustomerPlan.customer_id.in_(
            sa.select(CoachAssignment.customer_id).where(CoachAssignment.coach_id == actor.user_id)
        )
    return _nothing()


def _(message: str, **variables: Any) -> str:
    """gettext that also works in jobs and shells: outside a request, English text that keeps its
    message, so a failed job's error can be shown translated later (``jobs.failure_message``)."""
    from flask import has_request_context
    from flask_babel import gettext

    from app.i18n import LazyMessage, SourceText

    if has_request_context():
        return gettext(message, **variables)
    return SourceText(LazyMessage(message, **variables))
