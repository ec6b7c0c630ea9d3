"""AWARD_BADGE: a badge for the customer, once: a customer holds each badge at most one time.

A new award announces ``badge.awarded`` like an award made in the console, so a rule can
congratulate the customer; it cannot loop, since a badge is awarded once per customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.training import Badge, CustomerBadge
from app.services import events
from app.services.automation.actions.base import BADGE, ActionContext, ActionParam, ParamProblem, PermanentActionError
from app.services.automation.actions.common import CatalogueAction, add_once, load_customer


def _badge(db: Session, code: Any) -> Badge | None:
    if not isinstance(code, str):
        return None
    return db.scalars(sa.select(Badge).where(Badge.code == code)).first()


def _held(db: Session, customer_id: Any, badge_id: int) -> bool:
    stmt = sa.select(CustomerBadge.id).where(
        CustomerBadge.customer_id == customer_id, CustomerBadge.badge_id == badge_id
    )
    return db.execute(stmt.limit(1)).first() is not None


class AwardBadge(CatalogueAction):
    name = "AWARD_BADGE"
    label = _l("Award a badge")
    description = _l("Awards the customer a badge, unless they already hold it.")
    params = (ActionParam("badge", BADGE, _l("Badge"), max_length=50),)

    def check_values(self, values: Mapping[str, Any], db: Session | None) -> list[ParamProblem]:
        code = values.get("badge")
        if db is not None and isinstance(code, str) and _badge(db, code) is None:
            return [ParamProblem("badge", _("There is no badge with the code %(code)s.", code=code))]
        return []

    def _find(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> tuple[Any, Badge]:
        customer = load_customer(db, ctx)
        code = self.values(params).get("badge")
        badge = _badge(db, code)
        if badge is None:
            raise PermanentActionError(_("There is no badge with the code %(code)s.", code=str(code)[:50]))
        return customer, badge

    def preview(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        customer, badge = self._find(db, ctx, params)
        if _held(db, customer.id, badge.id):
            return _("The customer already holds the badge %(code)s: nothing to do.", code=badge.code)
        return _("Award the badge %(code)s.", code=badge.code)

    def perform(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        customer, badge = self._find(db, ctx, params)
        award = CustomerBadge(customer_id=customer.id, badge_id=badge.id, awarded_at=ctx.now)
        if _held(db, customer.id, badge.id) or not add_once(db, award):
            return _("The customer already holds the badge %(code)s.", code=badge.code)
        events.emit(
            db, events.BADGE_AWARDED, customer_id=customer.id, customer_badge_id=award.id, badge_id=badge.id,
            badge_code=badge.code,
        )  # fmt: skip
        db.flush()
        return _("Badge %(code)s awarded.", code=badge.code)


AWARD_BADGE = AwardBadge()
