"""ASSIGN_COACH: make a coach the customer's primary coach (the basis of coach row scope)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.customers import CoachAssignment
from app.models.identity import PlatformUser, UserStatus
from app.services.automation.actions.base import (
    COACH,
    ActionContext,
    ActionParam,
    ParamProblem,
    PermanentActionError,
    TransientActionError,
)
from app.services.automation.actions.common import CatalogueAction, add_once, is_erased, load_customer
from app.services.scheduling.access import is_coach


def _coach_id(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if isinstance(value, str) else None
    except ValueError:
        return None


def _active_coach(db: Session, coach_id: uuid.UUID) -> PlatformUser | None:
    """The user if they carry the COACH role and their account is open."""
    user = db.get(PlatformUser, coach_id)
    if user is None or is_erased(user) or user.status == UserStatus.SUSPENDED or not is_coach(db, coach_id):
        return None
    return user


class AssignCoach(CatalogueAction):
    name = "ASSIGN_COACH"
    label = _l("Assign a coach")
    description = _l("Makes the chosen coach the customer's primary coach; other coaches stay assigned as secondary.")
    params = (ActionParam("coach", COACH, _l("Coach"), max_length=36),)

    def check_values(self, values: Mapping[str, Any], db: Session | None) -> list[ParamProblem]:
        raw = values.get("coach")
        if raw is None:
            return []
        coach_id = _coach_id(raw)
        if coach_id is None:
            return [ParamProblem("coach", _("Choose a coach from the list."))]
        if db is not None and _active_coach(db, coach_id) is None:
            return [ParamProblem("coach", _("The chosen user is not an active coach."))]
        return []

    def _find(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> tuple[PlatformUser, PlatformUser]:
        customer = load_customer(db, ctx)
        coach_id = _coach_id(self.values(params).get("coach"))
        coach = _active_coach(db, coach_id) if coach_id is not None else None
        if coach is None:
            raise PermanentActionError(_("The rule's coach %(id)s is not an active coach.", id=str(coach_id or "")))
        if coach.id == customer.id:
            raise PermanentActionError(_("A customer cannot be their own coach."))
        return customer, coach

    def _assignments(self, db: Session, customer_id: uuid.UUID) -> list[CoachAssignment]:
        stmt = sa.select(CoachAssignment).where(CoachAssignment.customer_id == customer_id).order_by(CoachAssignment.id)
        return list(db.scalars(stmt))

    def preview(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        customer, coach = self._find(db, ctx, params)
        mine = next((a for a in self._assignments(db, customer.id) if a.coach_id == coach.id), None)
        if mine is not None and mine.is_primary:
            return _("The coach is already the customer's primary coach: nothing to do.")
        return _("Make coach %(coach)s the customer's primary coach.", coach=str(coach.id))

    def perform(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        customer, coach = self._find(db, ctx, params)
        assignments = self._assignments(db, customer.id)
        mine = next((a for a in assignments if a.coach_id == coach.id), None)
        if mine is not None and mine.is_primary and not any(a.is_primary for a in assignments if a is not mine):
            return _("The coach is already the customer's primary coach.")
        for other in assignments:
            if other is not mine and other.is_primary:
                other.is_primary = False
        if mine is None:
            mine = CoachAssignment(customer_id=customer.id, coach_id=coach.id, assigned_at=ctx.now, is_primary=True)
            if not add_once(db, mine):
                # Assigned by someone else this very moment: the retry finds the assignment.
                raise TransientActionError(_("The customer's coaches changed meanwhile; trying again."))
        else:
            mine.is_primary = True
        db.flush()
        return _(
            "Coach %(coach)s is now the customer's primary coach (assignment #%(id)s).", coach=str(coach.id), id=mine.id
        )


ASSIGN_COACH = AssignCoach()
