"""PAUSE_PLAN and RESUME_PLAN: the customer's active plans paused, or their paused plans active again.

When the event names a plan (``plan_id`` in its payload: plan assigned, item missed...), only that
plan is touched, and only if it is the customer's own; otherwise every plan of the customer in
the starting state. None to change is a success that says so, not a failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.training import CustomerPlan, PlanStatus
from app.services.automation.actions.base import ActionContext
from app.services.automation.actions.common import CatalogueAction, load_customer


class _PlanStatusChange(CatalogueAction):
    source: PlanStatus
    target: PlanStatus

    def _plans(self, db: Session, ctx: ActionContext) -> list[CustomerPlan]:
        customer = load_customer(db, ctx)
        stmt = sa.select(CustomerPlan).where(
            CustomerPlan.customer_id == customer.id, CustomerPlan.status == self.source
        )
        plan_id = ctx.payload.get("plan_id")
        if isinstance(plan_id, int) and not isinstance(plan_id, bool):
            stmt = stmt.where(CustomerPlan.id == plan_id)
        return list(db.scalars(stmt.order_by(CustomerPlan.id)))

    def _none(self) -> str:
        raise NotImplementedError

    def _would(self, ids: str) -> str:
        raise NotImplementedError

    def _done(self, ids: str) -> str:
        raise NotImplementedError

    def _ids(self, plans: list[CustomerPlan]) -> str:
        return ", ".join(f"#{p.id}" for p in plans)

    def preview(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        plans = self._plans(db, ctx)
        if not plans:
            return self._none()
        return self._would(self._ids(plans))

    def perform(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        plans = self._plans(db, ctx)
        if not plans:
            return self._none()
        for plan in plans:
            plan.status = self.target
        db.flush()
        return self._done(self._ids(plans))


class PausePlan(_PlanStatusChange):
    name = "PAUSE_PLAN"
    label = _l("Pause the plan")
    description = _l("Pauses the customer's active plan (the event's plan, if it names one).")
    source, target = PlanStatus.ACTIVE, PlanStatus.PAUSED

    def _none(self) -> str:
        return _("The customer has no active plan: nothing to pause.")

    def _would(self, ids: str) -> str:
        return _("Pause plan %(ids)s.", ids=ids)

    def _done(self, ids: str) -> str:
        return _("Plan %(ids)s paused.", ids=ids)


class ResumePlan(_PlanStatusChange):
    name = "RESUME_PLAN"
    label = _l("Resume the plan")
    description = _l("Makes the customer's paused plan active again (the event's plan, if it names one).")
    source, target = PlanStatus.PAUSED, PlanStatus.ACTIVE

    def _none(self) -> str:
        return _("The customer has no paused plan: nothing to resume.")

    def _would(self, ids: str) -> str:
        return _("Resume plan %(ids)s.", ids=ids)

    def _done(self, ids: str) -> str:
        return _("Plan %(ids)s resumed.", ids=ids)


PAUSE_PLAN = PausePlan()
RESUME_PLAN = ResumePlan()
