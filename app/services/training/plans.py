"""Turning programs into dated customer plans, keeping them in step, and reading them back.

Dates are calendar dates in the customer's own timezone: week W, day D of a
program started on S (at week N) falls on S + 7*(W - N + 1) + D, whatever
daylight-saving change lies between; "today" (what is past, what may still
follow a program edit) is the customer's local today.

Which plans, plan items and customers an actor may read or change is decided by
``app.policy.scope`` alone (``scope_criteria``/``scoped_select``; ``for_write``
on every change); the checks here only add what a plan needs (the target has the
CUSTOMER seed role, the actor's role may write plans).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from app.extensions import db
from app.i18n import service_gettext as _
from app.models.customers import CustomerProfile
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole
from app.models.training import (
    CompletionState,
    CustomerPlan,
    ItemType,
    PlanItem,
    PlanStatus,
    Program,
    ProgramItem,
)
from app.policy.scope import Actor, scope_criteria, scoped_select
from app.services.training.programs import CATALOGUE, MAX_ID, catalogue_names, get_program, may_write

Progress = Callable[[int, int], None]
InsertMode = Literal["orm", "bulk"]
OPEN_STATUSES = (PlanStatus.ACTIVE, PlanStatus.PAUSED)
ADHERENCE_WINDOWS = (7, 30, 90)
MAX_CUSTOMERS_PER_ASSIGNMENT = 5000


class PlanError(Exception):
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.message, "field": self.field}


class PlanNotFound(PlanError):
    status = 404


# --- time --------------------------------------------------------------------------------------------------


def zone(name: str | None) -> ZoneInfo:
    """The customer's zone; an unknown or empty name falls back to UTC rather than failing an assignment."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_today(tz: ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(tz).date()


def day_bounds_utc(day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants a local calendar day starts and ends (23 or 25 hours long on DST changes)."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def customer_zones(actor: Actor, customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ZoneInfo]:
    """Each customer's zone from the profiles the actor may read (UTC where there is none)."""
    ids = list(customer_ids)
    rows = db.session.execute(
        sa.select(CustomerProfile.user_id, CustomerProfile.timezone).where(
            CustomerProfile.user_id.in_(ids), scope_criteria(CustomerProfile, actor)
        )
    )
    found = {uid: zone(tz) for uid, tz in rows}
    return {uid: found.get(uid, ZoneInfo("UTC")) for uid in ids}


@dataclass(frozen=True)
class Slot:
    """A program item reduced to what scheduling needs (no ORM object: cheap to reuse across customers)."""

    program_item_id: int
    item_type: ItemType
    item_id: int
    week: int
    day: int
    order: int


def program_slots(actor: Actor, program_id: int) -> list[Slot]:
    rows = db.session.execute(
        sa.select(
            ProgramItem.id,
            ProgramItem.item_type,
            ProgramItem.item_id,
            ProgramItem.week_index,
            ProgramItem.day_index,
            ProgramItem.order_index,
        )
        .where(ProgramItem.program_id == program_id, scope_criteria(ProgramItem, actor))
        .order_by(ProgramItem.week_index, ProgramItem.day_index, ProgramItem.order_index)
    )
    return [Slot(*row) for row in rows]


def slot_date(slot: Slot, start_date: dt.date, start_week: int) -> dt.date | None:
    """The calendar date of a slot, or None if it lies before the starting week."""
    offset = slot.week - (start_week - 1)
    if offset < 0:
        return None
    return start_date + dt.timedelta(days=7 * offset + slot.day)


def plan_end_date(weeks: int, start_date: dt.date, start_week: int) -> dt.date:
    return start_date + dt.timedelta(days=7 * (weeks - start_week + 1) - 1)


# --- assigning ---------------------------------------------------------------------------------------------


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
    progress: Progress | None = None,
    batch_size: int = 50,
    insert_mode: InsertMode | None = None,
) -> AssignResult:
    """Create plans (and their dated items) for each customer; assigning the same program and
    start date again creates nothing. Commits per batch of customers, so a rerun after a crash
    finishes the rest exactly once; ``progress(done, total)`` is called after each commit.

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
    try:
        for batch_start in range(0, total, batch_size):
            batch = customers[batch_start : batch_start + batch_size]
            snapshot = AssignResult(result.created, result.existing, result.items, list(result.plan_ids))
            try:
                _assign_batch(actor, program.id, weeks, slots, batch, start_date, start_week, now, insert_mode, result)
                db.session.commit()
            except IntegrityError:
                # A concurrent assignment of the same program and start won the unique index:
                # redo the batch, which now finds those plans and skips them.
                db.session.rollback()
                result = snapshot
                _assign_batch(actor, program.id, weeks, slots, batch, start_date, start_week, now, insert_mode, result)
                db.session.commit()
            if progress:
                progress(min(batch_start + batch_size, total), total)
    except Exception:
        db.session.rollback()
        raise
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


# --- following program edits -------------------------------------------------------------------------------


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


# --- reading and editing plans -----------------------------------------------------------------------------


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
        model = CATALOGUE[item.item_type]
        known = (
            1 <= substitute_id <= MAX_ID
            and db.session.execute(
                sa.select(model.id).where(model.id == substitute_id, scope_criteria(model, actor))
            ).first()
        )
        if not known:
            raise PlanError(
                _("There is no %(type)s with id %(id)s.", type=item.item_type.value, id=substitute_id),
                field="substitute_id",
            )
        item.substitution_item_id = substitute_id
    db.session.commit()
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
    db.session.commit()
    return len(items)


def skip_day(actor: Actor, plan_id: int, day: dt.date) -> int:
    """Mark a day's pending items as skipped (they then no longer count as due in adherence)."""
    plan = _writable_plan(actor, plan_id)
    items = _pending_on(actor, plan.id, day)
    if not items:
        raise PlanError(_("There are no pending items on %(day)s.", day=day.isoformat()), field="day")
    for item in items:
        item.completion_state = CompletionState.SKIPPED
    db.session.commit()
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


def customer_choices(actor: Actor, q: str, limit: int = 20) -> list[dict[str, str]]:
    """Autocomplete for assigning: customers the actor may assign to whose name or email contains ``q``."""
    limit = max(1, min(limit, 50))
    stmt = sa.select(PlatformUser.id, PlatformUser.full_name, PlatformUser.email).where(assignable_customers(actor))
    q = (q or "").strip()[:100]
    if q:
        like = f"%{q.replace(chr(92), chr(92) * 2).replace('%', chr(92) + '%').replace('_', chr(92) + '_')}%"
        stmt = stmt.where(
            sa.or_(PlatformUser.full_name.ilike(like, escape="\\"), PlatformUser.email.ilike(like, escape="\\"))
        )
    rows = db.session.execute(stmt.order_by(PlatformUser.full_name, PlatformUser.id).limit(limit))
    return [{"id": str(uid), "text": f"{name} <{email}>"} for uid, name, email in rows]
