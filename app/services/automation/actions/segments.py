"""ADD_TO_SEGMENT: put the customer in a named announcement segment (``segment_memberships``), once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.automation import SegmentMembership
from app.services.automation.actions.base import SEGMENT, ActionContext, ActionParam, ParamProblem, PermanentActionError
from app.services.automation.actions.common import CatalogueAction, add_once, load_customer

# Lower-case letters, digits, dashes, underscores and inner spaces: names that read the same everywhere.
SEGMENT_NAME = re.compile(r"[a-z0-9_-](?:[a-z0-9_ -]{0,98}[a-z0-9_-])?")


def segment_problem(name: str) -> str | None:
    if SEGMENT_NAME.fullmatch(name):
        return None
    return _(
        "A segment name has 1 to 100 characters: lower-case letters, digits, dashes, underscores and spaces "
        "(not at the start or end)."
    )


def _member(db: Session, segment: str, customer_id: Any) -> bool:
    stmt = sa.select(SegmentMembership.id).where(
        SegmentMembership.segment == segment, SegmentMembership.customer_id == customer_id
    )
    return db.execute(stmt.limit(1)).first() is not None


class AddToSegment(CatalogueAction):
    name = "ADD_TO_SEGMENT"
    label = _l("Add to a segment")
    description = _l("Adds the customer to a named announcement segment, unless they are in it already.")
    params = (ActionParam("segment", SEGMENT, _l("Segment"), max_length=100, help=_l("For example: churn-risk")),)

    def check_values(self, values: Mapping[str, Any], db: Session | None) -> list[ParamProblem]:
        name = values.get("segment")
        problem = segment_problem(name) if isinstance(name, str) else None
        return [ParamProblem("segment", problem)] if problem else []

    def _find(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> tuple[Any, str]:
        customer = load_customer(db, ctx)
        name = self.values(params).get("segment")
        if not isinstance(name, str) or segment_problem(name):
            raise PermanentActionError(_("The rule's segment name is not valid."))
        return customer, name

    def preview(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        customer, name = self._find(db, ctx, params)
        if _member(db, name, customer.id):
            return _("The customer is already in the segment %(segment)s: nothing to do.", segment=name)
        return _("Add the customer to the segment %(segment)s.", segment=name)

    def perform(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        customer, name = self._find(db, ctx, params)
        row = SegmentMembership(segment=name, customer_id=customer.id, rule_id=ctx.rule_id, added_at=ctx.now)
        if _member(db, name, customer.id) or not add_once(db, row):
            return _("The customer is already in the segment %(segment)s.", segment=name)
        return _("Customer added to the segment %(segment)s.", segment=name)


ADD_TO_SEGMENT = AddToSegment()
