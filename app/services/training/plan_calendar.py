"""A customer plan as a calendar: reading it back, adherence, and a coach's edits of single days.

Edits only flush (the audit hooks see them); the caller owns the commit. Which
plans and plan items an actor may read or change is ``app.policy.scope`` alone
(``for_write`` on every edit), plus the role's write grant on PlanItems.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import lazyload

from app.extensions import db
from app.i18n import service_gettext as _
from app.models.training import CompletionState, CustomerPlan, PlanItem, PlanStatus
from app.policy.scope import Actor, scope_criteria, scoped_select
from app.services.training.access import MAX_ID, may_write
from app.services.training.catalogue import catalogue_names
from app.services.training.errors import PlanError, PlanNotFound
from app.services.training.item_refs import ReferenceRefused, require_item
from app.services.training.schedule import customer_zones, local_today

ADHERENCE_WINDOWS = (7, 30, 90)


def get_plan(actor: Actor, plan_id: int, *, for_write: bool = False) -> CustomerPlan:
    """A plan in the actor's read (or, ``for_write``, write) scope, or PlanNotFound."""
    if not 1 <= plan_id <= MAX_ID:
        raise PlanNotFound(_("Plan %(id)s was not found.", id=plan_id))
    stmt = scoped_select(CustomerPlan, actor, CustomerPlan.id == plan_id, for_write=for_write)
    plan = db.session.scalars(stmt).first()
    if plan is None:
        raise PlanNotFound(_("Plan %(id)s was not found.", id=plan_id))
    return plan


def list_plans(actor: Actor, *, customer_id: uuid.UUID | None = None, limit: int = 100) -> list[CustomerPlan]:
    stmt = scoped_select(CustomerPlan, actor)
    if customer_id is not None:
        stmt = stmt.where(CustomerPlan.customer_id == customer_id)
    return list(db.session.scalars(stmt.order_by(CustomerPlan.start_date.desc(), CustomerPlan.id.desc()).limit(limit)))


def plans_page(actor: Actor, page: int, page_size: int) -> tuple[list[CustomerPlan], int]:
    """One page (0-based) of the plans in scope, newest start first, and how many there are in all."""
    stmt = scoped_select(CustomerPlan, actor)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    ordered = stmt.order_by(CustomerPlan.start_date.desc(), CustomerPlan.id.desc())
    return list(db.session.scalars(ordered.offset(page * page_size).limit(page_size))), total


def plan_zone(actor: Actor, plan: CustomerPlan) -> ZoneInfo:
    return customer_zones(actor, [plan.customer_id])[plan.customer_id]


def plan_items_between(actor: Actor, plan: CustomerPlan, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """The plan's items in [first, last] with names, local completion times and substitutions."""
    tz = plan_zone(actor, plan)
    items = db.session.scalars(
        scoped_select(PlanItem, actor, PlanItem.plan_id == plan.id, PlanItem.scheduled_date.between(first, last))
        .options(lazyload("*"))
        .order_by(PlanItem.scheduled_date, PlanItem.order_index, PlanItem.id)
    ).all()
    pairs = {(i.item_type, i.item_id) for i in items} | {
        (i.item_type, i.substitution_item_id) for i in items if i.substitution_item_id
    }
    names = catalogue_names(actor, pairs)
    return [
        {
            "id": i.id,
            "date": i.scheduled_date,
            "item_type": i.item_type.value,
            "item_id": i.item_id,
            "name": names.get((i.item_type.value, i.item_id), f"#{i.item_id}"),
            "state": i.completion_state.value,
            "completed_at_local": i.completion_at.astimezone(tz) if i.completion_at else None,
            "feedback": i.feedback_text,
            "substitution_id": i.substitution_item_id,
            "substitution_name": names.get((i.item_type.value, i.substitution_item_id))
            if i.substitution_item_id
            else None,
        }
        for i in items
    ]


def substitute_item(
    actor: Actor, plan_item_id: int, substitute_id: int | None, *, plan_id: int | None = None
) -> PlanItem:
    """Swap a pending item for another catalogue item of the same type (None or the original clears it)."""
    item = _writable_plan_item(actor, plan_item_id)
    if plan_id is not None and item.plan_id != plan_id:
        raise PlanNotFound(_("Plan item %(id)s was not found.", id=plan_item_id))
    if item.completion_state != CompletionState.PENDING:
        raise PlanError(_("Only pending items can be substituted."), field="plan_item")
    if substitute_id is None or substitute_id == item.item_id:
        item.substitution_item_id = None
    else:
        try:
            require_item(actor, item.item_type, substitute_id, field="substitute_id")
        except ReferenceRefused as exc:
            raise PlanError(exc.message, field="substitute_id") from None
        item.substitution_item_id = substitute_id
    db.session.flush()
    return item


def move_day(
    actor: Actor, plan_id: int, from_date: dt.date, to_date: dt.date, *, now: dt.datetime | None = None
) -> int:
    """Move a day's pending items to another day (today or later, in the customer's timezone)."""
    plan = _writable_plan(actor, plan_id)
    today = local_today(plan_zone(actor, plan), now)
    if to_date < today:
        raise PlanError(_("Items can only be moved to today or a later day."), field="to_date")
    if from_date == to_date:
        raise PlanError(_("Choose a different day to move to."), field="to_date")
    items = _pending_on(actor, plan.id, from_date)
    if not items:
        raise PlanError(_("There are no pending items on %(day)s.", day=from_date.isoformat()), field="from_date")
    offset = len(_pending_on(actor, plan.id, to_date))
    for n, item in enumerate(items):
        item.scheduled_date = to_date
        item.order_index = offset + n
    if plan.end_date is not None and to_date > plan.end_date:
        plan.end_date = to_date
    db.session.flush()
    return len(items)


def skip_day(actor: Actor, plan_id: int, day: dt.date) -> int:
    """Mark a day's pending items as skipped (they then no longer count as due in adherence)."""
    plan = _writable_plan(actor, plan_id)
    items = _pending_on(actor, plan.id, day)
    if not items:
        raise PlanError(_("There are no pending items on %(day)s.", day=day.isoformat()), field="day")
    for item in items:
        item.completion_state = CompletionState.SKIPPED
    db.session.flush()
    return len(items)


def _writable_plan(actor: Actor, plan_id: int) -> CustomerPlan:
    """A plan the actor may change; a plan they may only read is "not found", like one they cannot see."""
    if not may_write(actor, "PlanItems"):
        raise PlanNotFound(_("Plan %(id)s was not found.", id=plan_id))
    return get_plan(actor, plan_id, for_write=True)


def _pending_on(actor: Actor, plan_id: int, day: dt.date) -> list[PlanItem]:
    return list(
        db.session.scalars(
            scoped_select(
                PlanItem,
                actor,
                PlanItem.plan_id == plan_id,
                PlanItem.scheduled_date == day,
                PlanItem.completion_state == CompletionState.PENDING,
                for_write=True,
            )
            .options(lazyload("*"))
            .order_by(PlanItem.order_index, PlanItem.id)
        )
    )


def _writable_plan_item(actor: Actor, plan_item_id: int) -> PlanItem:
    if not 1 <= plan_item_id <= MAX_ID or not may_write(actor, "PlanItems"):
        raise PlanNotFound(_("Plan item %(id)s was not found.", id=plan_item_id))
    item = db.session.scalars(scoped_select(PlanItem, actor, PlanItem.id == plan_item_id, for_write=True)).first()
    if item is None:
        raise PlanNotFound(_("Plan item %(id)s was not found.", id=plan_item_id))
    return item


def adherence(actor: Actor, customer_id: uuid.UUID, *, now: dt.datetime | None = None) -> dict[int, dict[str, Any]]:
    """Completed / due over the last 7, 30 and 90 local days (today excluded: it is not over yet).

    Skipped items are not due (a coach skipping a day withdraws it); missed,
    partial and still-pending past items are due and not completed.
    """
    today = local_today(customer_zones(actor, [customer_id])[customer_id], now)
    columns = []
    for days in ADHERENCE_WINDOWS:
        in_window = PlanItem.scheduled_date >= today - dt.timedelta(days=days)
        done = sa.and_(in_window, PlanItem.completion_state == CompletionState.COMPLETED)
        columns += [
            sa.func.count().filter(in_window).label(f"due_{days}"),
            sa.func.count().filter(done).label(f"done_{days}"),
        ]
    row = db.session.execute(
        sa.select(*columns)
        .select_from(PlanItem)
        .join(CustomerPlan, CustomerPlan.id == PlanItem.plan_id)
        .where(
            CustomerPlan.customer_id == customer_id,
            CustomerPlan.status != PlanStatus.CANCELLED,
            PlanItem.scheduled_date < today,
            PlanItem.scheduled_date >= today - dt.timedelta(days=max(ADHERENCE_WINDOWS)),
            PlanItem.completion_state != CompletionState.SKIPPED,
            scope_criteria(CustomerPlan, actor),  # the joined plan's rule is the PlanItem rule
        )
    ).one()
    result = {}
    for days in ADHERENCE_WINDOWS:
        due, done = getattr(row, f"due_{days}"), getattr(row, f"done_{days}")
        result[days] = {"due": due, "completed": done, "rate": (done / due) if due else None}
    return result
