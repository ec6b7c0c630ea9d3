"""Plans that follow their program: a program save with "follow future" reschedules their future.

Runs inside the save's transaction and only flushes (the caller commits). Which
plans follow is the central write rule (``app.policy.scope``, ``for_write``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import lazyload

from app.extensions import db
from app.models.training import CompletionState, CustomerPlan, PlanItem, PlanStatus, Program, ProgramItem
from app.policy.scope import Actor, scope_criteria
from app.services.training.schedule import customer_zones, local_today, plan_end_date, program_slots, slot_date

OPEN_STATUSES = (PlanStatus.ACTIVE, PlanStatus.PAUSED)


def follow_program_change(
    actor: Actor,
    program: Program,
    removed: Sequence[ProgramItem],
    *,
    changed: set[int] | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Bring the future of every open plan of ``program`` in line with its items.

    Only PENDING items dated today or later (customer's local today) change:
    completed, skipped or past items are history and stay as they are. With
    ``changed`` (ids of program items added or edited by this save) only those
    and the removed ones are looked at, which keeps a small edit cheap on a
    program with thousands of plans. Returns the number of plans touched. Runs
    inside the caller's transaction.

    Only plans the actor may change follow (row scope, ``for_write``): a coach editing a
    team-shared program brings their own customers' plans in line, never another
    coach's customers' plans; an admin's edit reaches every plan.
    """
    in_scope = scope_criteria(CustomerPlan, actor, for_write=True)
    plans = db.session.scalars(
        sa.select(CustomerPlan)
        .options(lazyload("*"))
        .where(CustomerPlan.program_id == program.id, CustomerPlan.status.in_(OPEN_STATUSES), in_scope)
    ).all()
    if not plans:
        return 0
    zones = customer_zones(actor, {p.customer_id for p in plans})
    slots = program_slots(actor, program.id)
    removed_ids = {item.id for item in removed}
    open_plans = sa.select(CustomerPlan.id).where(
        CustomerPlan.program_id == program.id, CustomerPlan.status.in_(OPEN_STATUSES), in_scope
    )
    linked_filter = sa.and_(
        PlanItem.plan_id.in_(open_plans),
        PlanItem.program_item_id.is_not(None),
        scope_criteria(PlanItem, actor, for_write=True),
    )
    if changed is not None:
        slots = [slot for slot in slots if slot.program_item_id in changed]
        linked_filter = sa.and_(linked_filter, PlanItem.program_item_id.in_(changed | removed_ids))
    # Every link as cheap tuples; ORM objects only for items that may still change (no local
    # "today" anywhere is earlier than UTC yesterday), so history is never loaded into the session.
    has_link = set(db.session.execute(sa.select(PlanItem.plan_id, PlanItem.program_item_id).where(linked_filter)))
    cutoff = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date() - dt.timedelta(days=1)
    plan_items = db.session.scalars(
        sa.select(PlanItem).options(lazyload("*")).where(linked_filter, PlanItem.scheduled_date >= cutoff)
    ).all()
    by_plan: dict[int, dict[int, PlanItem]] = {}
    for pi in plan_items:
        by_plan.setdefault(pi.plan_id, {})[pi.program_item_id] = pi  # type: ignore[index]
    touched = 0
    for plan in plans:
        today = local_today(zones[plan.customer_id], now)
        linked = by_plan.get(plan.id, {})
        changed = False
        for pid, pi in linked.items():
            if pid in removed_ids and _is_open_future(pi, today):
                db.session.delete(pi)
                changed = True
        for slot in slots:
            day = slot_date(slot, plan.start_date, plan.start_week)
            pi = linked.get(slot.program_item_id)
            if pi is None:
                if (plan.id, slot.program_item_id) in has_link:
                    continue  # its instance is history (past); never duplicated
                if day is not None and day >= today:
                    db.session.add(
                        PlanItem(
                            plan_id=plan.id,
                            scheduled_date=day,
                            item_type=slot.item_type,
                            item_id=slot.item_id,
                            completion_state=CompletionState.PENDING,
                            program_item_id=slot.program_item_id,
                            order_index=slot.order,
                        )
                    )
                    changed = True
                continue
            if not _is_open_future(pi, today):
                continue
            if day is None or day < today:
                db.session.delete(pi)
                changed = True
                continue
            if (pi.item_type, pi.item_id) != (slot.item_type, slot.item_id):
                pi.item_type, pi.item_id, pi.substitution_item_id = slot.item_type, slot.item_id, None
                changed = True
            if pi.scheduled_date != day or pi.order_index != slot.order:
                pi.scheduled_date, pi.order_index = day, slot.order
                changed = True
        new_end = plan_end_date(program.weeks, plan.start_date, plan.start_week)
        if plan.end_date != new_end and new_end >= plan.start_date:
            plan.end_date = new_end
            changed = True
        touched += int(changed)
    db.session.flush()
    return touched


def _is_open_future(pi: PlanItem, today: dt.date) -> bool:
    return pi.completion_state == CompletionState.PENDING and pi.scheduled_date >= today


def unlink_removed_items(removed: Sequence[ProgramItem]) -> None:
    """Plan items keep their history when their program item goes; only the link is cleared.

    Done through the ORM (not left to ON DELETE SET NULL) so the change is flushed and
    audited like any other. Not limited by row scope on purpose: it is the foreign key's
    own consequence of deleting a program item the actor may change (the database would
    clear the same links), and it changes no date, state or content of anyone's plan.
    """
    ids = [item.id for item in removed]
    if not ids:
        return
    for pi in db.session.scalars(sa.select(PlanItem).where(PlanItem.program_item_id.in_(ids))):
        pi.program_item_id = None
    db.session.flush()
