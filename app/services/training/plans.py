"""Creating customer plans: a program expanded into dated plan items in each customer's timezone.

The service only flushes; the caller (view, job) owns the commit, and for a long
assignment commits after each batch through ``commit_batch``. Each new plan emits
``plan.assigned`` in the same transaction. Which customers an
actor may assign to is the central write rule on PlatformUser
(``app.policy.scope``); the checks here only add what a plan needs (the target
has the CUSTOMER seed role, the actor's role may write plans).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.i18n import service_gettext as _
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole
from app.models.training import CompletionState, CustomerPlan, PlanItem, PlanStatus, Program
from app.policy.scope import Actor, scope_criteria
from app.services import events
from app.services.people_search import users_matching
from app.services.training.access import may_write
from app.services.training.errors import PlanError
from app.services.training.programs import get_program
from app.services.training.schedule import Slot, customer_zones, local_today, plan_end_date, program_slots, slot_date

BatchCommit = Callable[[int, int], None]
InsertMode = Literal["orm", "bulk"]
MAX_CUSTOMERS_PER_ASSIGNMENT = 5000


@dataclass
class AssignResult:
    created: int = 0
    existing: int = 0
    items: int = 0
    plan_ids: list[int] = field(default_factory=list)


def _is_customer() -> sa.ColumnElement[bool]:
    """Plans are for platform users holding the CUSTOMER seed role (a domain rule, not row scope)."""
    return PlatformUser.id.in_(
        sa.select(UserRole.user_id).join(PlatformRole).where(PlatformRole.code == RoleCode.CUSTOMER)
    )


def assignable_customers(actor: Actor) -> sa.ColumnElement[bool]:
    """Platform users the actor may assign plans to: the central write rule on PlatformUser
    (a coach: their assigned customers), customers only, and only for roles that write plans."""
    if not may_write(actor, "CustomerPlans"):
        return sa.false()
    return sa.and_(scope_criteria(PlatformUser, actor, for_write=True), _is_customer())


def check_customers(actor: Actor, customer_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Refuse the whole request if any customer is unknown or not the actor's (no partial surprises)."""
    if not customer_ids:
        raise PlanError(_("Choose at least one customer."), field="customers")
    if len(customer_ids) > MAX_CUSTOMERS_PER_ASSIGNMENT:
        raise PlanError(
            _("At most %(max)s customers per assignment.", max=MAX_CUSTOMERS_PER_ASSIGNMENT), field="customers"
        )
    unique = list(dict.fromkeys(customer_ids))
    allowed: set[uuid.UUID] = set()
    for chunk_start in range(0, len(unique), 500):
        chunk = unique[chunk_start : chunk_start + 500]
        allowed |= set(
            db.session.scalars(
                sa.select(PlatformUser.id).where(PlatformUser.id.in_(chunk), assignable_customers(actor))
            )
        )
    for cid in unique:
        if cid not in allowed:
            raise PlanError(_("Customer %(id)s is not one of your customers.", id=cid), field="customers")
    return unique


def check_assignment(actor: Actor, program_id: int, start_week: int) -> Program:
    program = get_program(actor, program_id)
    if not may_write(actor, "CustomerPlans"):
        raise PlanError(_("You may not assign programs."))
    if not isinstance(start_week, int) or not 1 <= start_week <= program.weeks:
        raise PlanError(_("Start week must be between 1 and %(max)s.", max=program.weeks), field="start_week")
    return program


def assign_program(
    actor: Actor,
    program_id: int,
    customer_ids: Sequence[uuid.UUID],
    *,
    start_date: dt.date | None = None,
    start_week: int = 1,
    now: dt.datetime | None = None,
    commit_batch: BatchCommit | None = None,
    batch_size: int = 50,
    insert_mode: InsertMode | None = None,
) -> AssignResult:
    """Create plans (and their dated items) for each customer; assigning the same program and
    start date again creates nothing. Only flushes: ``commit_batch(done, total)`` is called after
    each batch of customers for the caller to commit there (a job together with its progress), so
    a rerun after a crash finishes the rest exactly once; without it the caller commits the lot.

    ``insert_mode="orm"`` adds every PlanItem through the unit of work (each one visible to
    flush hooks, about 2x slower); ``"bulk"`` (default; config ``PLAN_ITEMS_VIA_UNIT_OF_WORK``
    switches) uses COPY on PostgreSQL and ORM bulk INSERTs on SQLite: the plans themselves still
    go through the unit of work, so the audit trail records each plan, not each generated item.
    """
    program = check_assignment(actor, program_id, start_week)
    customers = check_customers(actor, customer_ids)
    if insert_mode is None:
        insert_mode = "orm" if current_app.config.get("PLAN_ITEMS_VIA_UNIT_OF_WORK") else "bulk"
    slots = [s for s in program_slots(actor, program.id) if s.week >= start_week - 1]
    if not slots:
        raise PlanError(_("The program has no items from week %(week)s on.", week=start_week), field="start_week")
    weeks = program.weeks
    result = AssignResult()
    total = len(customers)
    for batch_start in range(0, total, batch_size):
        batch = customers[batch_start : batch_start + batch_size]
        snapshot = AssignResult(result.created, result.existing, result.items, list(result.plan_ids))
        try:
            with db.session.begin_nested():
                _assign_batch(actor, program.id, weeks, slots, batch, start_date, start_week, now, insert_mode, result)
        except IntegrityError:
            # A concurrent assignment of the same program and start won the unique index: back to
            # the savepoint and redo the batch, which now finds those plans and skips them.
            result = snapshot
            with db.session.begin_nested():
                _assign_batch(actor, program.id, weeks, slots, batch, start_date, start_week, now, insert_mode, result)
        if commit_batch:
            commit_batch(min(batch_start + batch_size, total), total)
    return result


def _assign_batch(
    actor: Actor,
    program_id: int,
    weeks: int,
    slots: list[Slot],
    batch: list[uuid.UUID],
    start_date: dt.date | None,
    start_week: int,
    now: dt.datetime | None,
    insert_mode: InsertMode,
    result: AssignResult,
) -> None:
    zones = customer_zones(actor, batch)
    starts = {cid: start_date or local_today(zones[cid], now) for cid in batch}
    existing = db.session.execute(
        sa.select(CustomerPlan.id, CustomerPlan.customer_id, CustomerPlan.start_date).where(
            CustomerPlan.program_id == program_id,
            CustomerPlan.customer_id.in_(batch),
            CustomerPlan.status != PlanStatus.CANCELLED,
            scope_criteria(CustomerPlan, actor, for_write=True),
        )
    ).all()
    already = {(cid, start): pid for pid, cid, start in existing}
    new_plans: list[CustomerPlan] = []
    for cid in batch:
        pid = already.get((cid, starts[cid]))
        if pid is not None:
            result.existing += 1
            result.plan_ids.append(pid)
            continue
        plan = CustomerPlan(
            customer_id=cid,
            program_id=program_id,
            start_date=starts[cid],
            start_week=start_week,
            end_date=plan_end_date(weeks, starts[cid], start_week),
            status=PlanStatus.ACTIVE,
        )
        new_plans.append(plan)
    if not new_plans:
        return
    db.session.add_all(new_plans)
    db.session.flush()
    _require_write_scope(actor, [plan.id for plan in new_plans])
    for plan in new_plans:  # inside the batch's savepoint: a batch redone after a race announces once
        events.emit(
            db.session,
            events.PLAN_ASSIGNED,
            customer_id=plan.customer_id,
            plan_id=plan.id,
            program_id=program_id,
            start_date=plan.start_date,
            start_week=start_week,
        )
    db.session.flush()  # the events belong to the savepoint, so a redone batch drops them with its plans
    rows: list[dict[str, Any]] = []
    for plan in new_plans:
        for slot in slots:
            day = slot_date(slot, plan.start_date, start_week)
            if day is None:
                continue
            rows.append(
                {
                    "plan_id": plan.id,
                    "scheduled_date": day,
                    "item_type": slot.item_type,
                    "item_id": slot.item_id,
                    "completion_state": CompletionState.PENDING,
                    "program_item_id": slot.program_item_id,
                    "order_index": slot.order,
                }
            )
        result.created += 1
        result.plan_ids.append(plan.id)
    if insert_mode == "orm":
        db.session.add_all([PlanItem(**row) for row in rows])
        db.session.flush()
    elif db.session.get_bind().dialect.name == "postgresql":
        _copy_plan_items(rows)
    else:
        for chunk_start in range(0, len(rows), 5000):
            db.session.execute(sa.insert(PlanItem), rows[chunk_start : chunk_start + 5000])
    result.items += len(rows)


def _require_write_scope(actor: Actor, plan_ids: list[int]) -> None:
    """After the flush, every new plan must be one the actor may change (as a console save checks)."""
    inside = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(CustomerPlan)
        .where(CustomerPlan.id.in_(plan_ids), scope_criteria(CustomerPlan, actor, for_write=True))
    )
    if inside != len(plan_ids):
        raise PlanError(_("Not saved: that record would be outside the records you may change."), field="customers")


_COPY_COLUMNS = (
    "plan_id",
    "scheduled_date",
    "item_type",
    "item_id",
    "completion_state",
    "program_item_id",
    "order_index",
)


def _copy_plan_items(rows: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY on the session's own connection: same transaction, several times faster
    than INSERT at 300,000 rows. Generated items bypass ORM events (see ``assign_program``)."""
    connection = db.session.connection().connection.driver_connection
    statement = f"COPY {PlanItem.__tablename__} ({', '.join(_COPY_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row(
                (
                    row["plan_id"],
                    row["scheduled_date"],
                    row["item_type"].value,
                    row["item_id"],
                    row["completion_state"].value,
                    row["program_item_id"],
                    row["order_index"],
                )
            )


def customer_choices(actor: Actor, q: str, limit: int = 20) -> list[dict[str, str]]:
    """Autocomplete for assigning: customers the actor may assign to whose name or email contains ``q``."""
    return users_matching(db.session, assignable_customers(actor), q, limit=max(1, min(limit, 50)))
