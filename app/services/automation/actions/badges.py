"""AWARD_BADGE: a badge for the customer, once, through the badge service (``awards.badges.award``).

A MANUAL badge (or one without criteria) is awarded as asked: only rules and staff award those.
A badge with criteria is awarded only if the customer meets them now (earlier than the hourly
evaluation would), so every award meets its badge's criteria; otherwise the action does nothing
and says so. A new award announces ``badge.awarded`` and is audited; it cannot loop, since a
badge is awarded once per customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.training import Badge
from app.services.automation.actions.base import BADGE, ActionContext, ActionParam, ParamProblem, PermanentActionError
from app.services.automation.actions.common import CatalogueAction, load_customer
from app.services.awards import badges as badge_service
from app.services.awards.criteria import Criteria, CriteriaError


def _badge(db: Session, code: Any) -> Badge | None:
    if not isinstance(code, str):
        return None
    return db.scalars(sa.select(Badge).where(Badge.code == code)).first()


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
        if badge_service.holds(db, customer.id, badge.id):
            return _("The customer already holds the badge %(code)s: nothing to do.", code=badge.code)
        try:
            automatic = Criteria.parse(badge.criteria_json).automatic
        except CriteriaError:
            automatic = False
        if automatic:
            return _("Award the badge %(code)s if the customer meets its criteria.", code=badge.code)
        return _("Award the badge %(code)s.", code=badge.code)

    def perform(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        customer, badge = self._find(db, ctx, params)
        try:
            outcome = badge_service.award(db, customer.id, badge, at=ctx.now, cause="automation")
        except CriteriaError as error:
            raise PermanentActionError(
                _("The badge %(code)s has invalid criteria: %(problem)s", code=badge.code, problem=str(error))
            ) from error
        if outcome is badge_service.Outcome.ALREADY_HELD:
            return _("The customer already holds the badge %(code)s.", code=badge.code)
        if outcome is badge_service.Outcome.NOT_MET:
            return _("The customer does not meet the criteria of the badge %(code)s yet: not awarded.", code=badge.code)
        return _("Badge %(code)s awarded.", code=badge.code)


AWARD_BADGE = AwardBadge()
