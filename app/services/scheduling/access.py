"""Who may do what in the schedule: role grants, row scope, and which coach a change is for.

Views check the same grants through FAB; the services check them again so a job, a shell or the
REST API cannot do what the console would refuse. A row outside the actor's scope is "not found"
(never "forbidden"), so an id cannot be probed.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole
from app.policy.roles import COACH, READ, WRITE, allowed
from app.policy.scope import UNRESTRICTED_ROLES, Actor
from app.services.scheduling.errors import Forbidden, SchedulingError

# Largest value an INTEGER key column holds; larger ids are "not found", never a database error.
MAX_ID = 2**31 - 1


def grants(actor: Actor, resource: str, action: str = WRITE) -> bool:
    """Whether one of the actor's roles grants ``action`` on ``resource`` in the role matrix."""
    return any(allowed(role, resource, action) for role in actor.roles)


def require(actor: Actor, resource: str, action: str = WRITE) -> None:
    if not grants(actor, resource, action):
        if action == READ:
            raise Forbidden(_("You may not view the schedule."))
        raise Forbidden(_("You may not change the schedule."))


def acts_as_coach_only(actor: Actor) -> bool:
    """A coach without an unrestricted role: bound to their own sessions and availability."""
    return COACH in actor.roles and not (actor.roles & UNRESTRICTED_ROLES)


def is_coach(db: Session, user_id: uuid.UUID) -> bool:
    """Whether the platform user carries the COACH seed role (staff pick coaches among these)."""
    stmt = (
        sa.select(PlatformUser.id)
        .join(UserRole, UserRole.user_id == PlatformUser.id)
        .join(PlatformRole, PlatformRole.id == UserRole.role_id)
        .where(PlatformUser.id == user_id, PlatformRole.code == RoleCode.COACH)
    )
    return db.execute(stmt.limit(1)).first() is not None


def coach_for(db: Session, actor: Actor, requested: uuid.UUID | str | None) -> uuid.UUID:
    """The coach a new row belongs to: a coach's own id (they may not pick another), else the staff's pick.

    SchedulingError when staff name nobody or someone who is not a coach; Forbidden when a coach
    names another coach.
    """
    wanted = _as_uuid(requested)
    if acts_as_coach_only(actor):
        if actor.user_id is None:
            raise Forbidden(_("Your account is not linked to a coach."))
        if wanted is not None and wanted != actor.user_id:
            raise Forbidden(_("A coach can only schedule their own sessions and availability."), field="coach_id")
        return actor.user_id
    if wanted is None:
        raise SchedulingError(_("Choose the coach."), field="coach_id")
    if not is_coach(db, wanted):
        raise SchedulingError(_("The chosen coach was not found."), field="coach_id")
    return wanted


def _as_uuid(value: uuid.UUID | str | None) -> uuid.UUID | None:
    if value is None or value == "":
        return None
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise SchedulingError(_("The chosen coach was not found."), field="coach_id") from None
