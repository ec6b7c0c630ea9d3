"""Programs as a grid of weeks x days: the library search, loading and atomic saving.

The builder sends the whole program on every save; the service validates all
of it before touching a row, then updates items in place (keeping their ids so
plan items stay linked), inserts new ones and deletes removed ones in one
transaction, through ORM flushes so the audit hooks see every change.

Row scope is the project's one rule set (``app.policy.scope``): every read
here goes through ``scope_criteria``/``scoped_select``, every change asks it
with ``for_write=True``. This module holds no rule of its own.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from jsonschema import Draft202012Validator

from app.extensions import db
from app.i18n import service_gettext as _
from app.models import json_schemas as js
from app.models.training import (
    Difficulty,
    Exercise,
    Habit,
    ItemType,
    Meal,
    Program,
    ProgramItem,
    ProgramLevel,
    Visibility,
)
from app.policy.roles import WRITE, allowed
from app.policy.scope import Actor, scope_criteria, scoped_select

# Largest value an INTEGER key column holds; larger ids are "not found", never a database error.
MAX_ID = 2**31 - 1

MAX_WEEKS = 104
MAX_ITEMS = 3000
MAX_ITEMS_PER_DAY = 60
LIBRARY_PAGE_SIZE_MAX = 50
CATALOGUE = {ItemType.EXERCISE: Exercise, ItemType.MEAL: Meal, ItemType.HABIT: Habit}
_VALIDATORS = {t: Draft202012Validator(s) for t, s in js.PRESCRIPTION_BY_TYPE.items()}


class ProgramError(Exception):
    """Base of the errors a save can end with; ``status`` is the HTTP status a view should answer."""

    status = 400

    def __init__(self, message: str, *, item: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.item = item
        self.field = field

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.message, "item": self.item, "field": self.field}


class ProgramNotFound(ProgramError):
    status = 404


class ProgramForbidden(ProgramError):
    status = 403


class ProgramConflict(ProgramError):
    status = 409

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "current_version": self.current_version}


def may_write(actor: Actor, resource: str) -> bool:
    """Whether one of the actor's roles grants write on ``resource`` in the role matrix (roles.py).

    Views check the same grant through FAB; services check it again so a job or a shell
    cannot do what the console would refuse.
    """
    return any(allowed(role, resource, WRITE) for role in actor.roles)


# --- loading -----------------------------------------------------------------------------------------------


def open_program(actor: Actor, program_id: int, *, for_update: bool = False) -> tuple[Program, bool]:
    """A program the actor may read, and whether they may change it, in one query.

    ProgramNotFound for a program outside the read scope (never reveals it exists).
    """
    if not 1 <= program_id <= MAX_ID:
        raise ProgramNotFound(_("Program %(id)s was not found.", id=program_id))
    editable = scope_criteria(Program, actor, for_write=True)
    stmt = sa.select(Program, editable.label("editable")).where(
        Program.id == program_id, scope_criteria(Program, actor)
    )
    if for_update:
        stmt = stmt.with_for_update(of=Program)
    row = db.session.execute(stmt).unique().one_or_none()
    if row is None:
        raise ProgramNotFound(_("Program %(id)s was not found.", id=program_id))
    return row[0], bool(row[1]) and may_write(actor, "Programs")


def get_program(actor: Actor, program_id: int, *, for_update: bool = False) -> Program:
    """A program in the actor's read scope, or ProgramNotFound."""
    return open_program(actor, program_id, for_update=for_update)[0]


def program_editable(actor: Actor, program_id: int) -> bool:
    """Whether the actor may change this program (the central write rule, and write on Programs)."""
    stmt = sa.select(Program.id).where(Program.id == program_id, scope_criteria(Program, actor, for_write=True))
    return may_write(actor, "Programs") and db.session.execute(stmt).first() is not None


def list_programs(actor: Actor, limit: int = 200) -> list[Program]:
    stmt = scoped_select(Program, actor).order_by(Program.updated_at.desc()).limit(limit)
    return list(db.session.scalars(stmt).unique())


def program_items(actor: Actor, program_id: int, *, for_write: bool = False) -> list[ProgramItem]:
    """The program's items in grid order, through the ProgramItem scope rule."""
    stmt = scoped_select(ProgramItem, actor, ProgramItem.program_id == program_id, for_write=for_write).order_by(
        ProgramItem.week_index, ProgramItem.day_index, ProgramItem.order_index, ProgramItem.id
    )
    return list(db.session.scalars(stmt))


def create_program(
    actor: Actor, *, title: str, level: str, visibility: str, weeks: int = 4, description: str | None = None
) -> Program:
    """Create an empty program owned by the actor; validation errors raise ProgramError.

    Like a console save, the new row must fall inside the actor's write scope (a coach
    whose console account has no platform user owns nothing, so may create nothing).
    """
    if not may_write(actor, "Programs"):
        raise ProgramForbidden(_("You may not create programs."))
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise ProgramError(_("A title of 1 to 200 characters is required."), field="title")
    try:
        level_value = ProgramLevel(level)
        visibility_value = Visibility(visibility)
    except ValueError:
        raise ProgramError(_("Unknown level or visibility."), field="level") from None
    if not isinstance(weeks, int) or not 1 <= weeks <= MAX_WEEKS:
        raise ProgramError(_("Weeks must be between 1 and %(max)s.", max=MAX_WEEKS), field="weeks")
    program = Program(
        title=title,
        description=description,
        level=level_value,
        visibility=visibility_value,
        created_by=actor.user_id,
        weeks=weeks,
        version=1,
    )
    try:
        db.session.add(program)
        db.session.flush()
        if not program_editable(actor, program.id):
            raise ProgramForbidden(_("You may not create programs."))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return program


def catalogue_names(actor: Actor, pairs: set[tuple[ItemType, int]]) -> dict[tuple[str, int], str]:
    """Names of catalogue items the actor may see, one query per type."""
    names: dict[tuple[str, int], str] = {}
    by_type: dict[ItemType, set[int]] = {}
    for item_type, item_id in pairs:
        by_type.setdefault(item_type, set()).add(item_id)
    for item_type, ids in by_type.items():
        model = CATALOGUE[item_type]
        stmt = sa.select(model.id, model.name).where(model.id.in_(ids), scope_criteria(model, actor))
        for row_id, name in db.session.execute(stmt):
            names[(item_type.value, row_id)] = name
    return names


def program_document(actor: Actor, program: Program, *, editable: bool | None = None) -> dict[str, Any]:
    """The builder's JSON view of a program (``editable`` from ``open_program`` saves a query)."""
    items = program_items(actor, program.id)
    names = catalogue_names(actor, {(i.item_type, i.item_id) for i in items})
    return {
        "id": program.id,
        "title": program.title,
        "weeks": program.weeks,
        "version": program.version,
        "editable": program_editable(actor, program.id) if editable is None else editable,
        "items": [
            {
                "id": i.id,
                "item_type": i.item_type.value,
                "item_id": i.item_id,
                "name": names.get((i.item_type.value, i.item_id), f"#{i.item_id}"),
                "week": i.week_index,
                "day": i.day_index,
                "order": i.order_index,
                "prescription": i.prescription_json or {},
            }
            for i in items
        ],
    }


# --- library -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LibraryQuery:
    item_type: ItemType
    q: str = ""
    category: str = ""
    difficulty: str = ""
    equipment: str = ""
    exclude_allergen: str = ""
    page: int = 1
    page_size: int = 20


def search_library(actor: Actor, query: LibraryQuery) -> dict[str, Any]:
    """Search one catalogue the actor may see, with filters; paginated and capped, one count + one page query."""
    model = CATALOGUE[query.item_type]
    clauses: list[sa.ColumnElement[bool]] = [scope_criteria(model, actor)]
    if query.q:
        clauses.append(model.name.ilike(f"%{_escape_like(query.q)}%", escape="\\"))
    if query.item_type == ItemType.EXERCISE:
        if query.category:
            clauses.append(Exercise.category == query.category)
        if query.difficulty:
            try:
                clauses.append(Exercise.difficulty == Difficulty(query.difficulty))
            except ValueError:
                raise ProgramError(
                    _("Unknown difficulty %(value)s.", value=query.difficulty), field="difficulty"
                ) from None
        if query.equipment:
            clauses.append(Exercise.equipment.ilike(f"%{_escape_like(query.equipment)}%", escape="\\"))
    if query.item_type == ItemType.MEAL and query.exclude_allergen:
        allergen = f"%{_escape_like(query.exclude_allergen)}%"
        clauses.append(sa.or_(Meal.allergens.is_(None), sa.not_(Meal.allergens.ilike(allergen, escape="\\"))))
    page_size = max(1, min(query.page_size, LIBRARY_PAGE_SIZE_MAX))
    page = max(1, query.page)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*clauses)) or 0
    rows = db.session.scalars(
        sa.select(model).where(*clauses).order_by(model.name, model.id).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return {
        "item_type": query.item_type.value,
        "page": page,
        "page_size": page_size,
        "total": total,
        "pages": max(1, math.ceil(total / page_size)),
        "results": [_library_entry(query.item_type, r) for r in rows],
    }


def library_facets(actor: Actor) -> dict[str, list[str]]:
    """Distinct exercise categories the actor may see (for the filter dropdown), capped."""
    categories = db.session.scalars(
        sa.select(Exercise.category)
        .where(scope_criteria(Exercise, actor))
        .distinct()
        .order_by(Exercise.category)
        .limit(200)
    )
    return {"categories": list(categories), "difficulties": [d.value for d in Difficulty]}


def _library_entry(item_type: ItemType, row: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"item_type": item_type.value, "item_id": row.id, "name": row.name}
    if item_type == ItemType.EXERCISE:
        entry.update(category=row.category, difficulty=row.difficulty.value, equipment=row.equipment)
    elif item_type == ItemType.MEAL:
        entry.update(allergens=row.allergens)
    else:
        entry.update(frequency=row.frequency.value)
    return entry


def _escape_like(value: str) -> str:
    return value[:100].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- saving ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemSpec:
    """One validated item of a save payload."""

    id: int | None
    item_type: ItemType
    item_id: int
    week: int
    day: int
    order: int
    prescription: dict[str, Any]


@dataclass(frozen=True)
class SaveResult:
    program: Program
    version: int
    created: int
    updated: int
    deleted: int
    plans_followed: int


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_save_payload(payload: Any, program: Program) -> tuple[int, int, bool, list[ItemSpec]]:
    """Check the whole payload's shape and types; returns (version, weeks, follow_future, items)."""
    if not isinstance(payload, Mapping):
        raise ProgramError(_("The request body must be a JSON object."))
    unknown = set(payload) - {"version", "weeks", "items", "follow_future"}
    if unknown:
        raise ProgramError(_("Unknown field %(field)s.", field=sorted(unknown)[0]), field=sorted(unknown)[0])
    version = payload.get("version")
    if not _is_int(version):
        raise ProgramError(_("version must be a whole number."), field="version")
    weeks = payload.get("weeks", program.weeks)
    if not _is_int(weeks) or not 1 <= weeks <= MAX_WEEKS:
        raise ProgramError(_("weeks must be a whole number from 1 to %(max)s.", max=MAX_WEEKS), field="weeks")
    follow = payload.get("follow_future", False)
    if not isinstance(follow, bool):
        raise ProgramError(_("follow_future must be true or false."), field="follow_future")
    raw_items = payload.get("items")
    if not isinstance(raw_items, list):
        raise ProgramError(_("items must be a list."), field="items")
    if len(raw_items) > MAX_ITEMS:
        raise ProgramError(_("A program holds at most %(max)s items.", max=MAX_ITEMS), field="items")
    items = [_parse_item(n, raw, weeks) for n, raw in enumerate(raw_items)]
    per_day: dict[tuple[int, int], int] = {}
    for n, spec in enumerate(items):
        per_day[(spec.week, spec.day)] = per_day.get((spec.week, spec.day), 0) + 1
        if per_day[(spec.week, spec.day)] > MAX_ITEMS_PER_DAY:
            raise ProgramError(
                _("Item %(n)s: a day holds at most %(max)s items.", n=n + 1, max=MAX_ITEMS_PER_DAY), item=n, field="day"
            )
    return version, weeks, follow, items


def _parse_item(n: int, raw: Any, weeks: int) -> ItemSpec:
    label = n + 1

    def fail(field: str, problem: str) -> ProgramError:
        return ProgramError(
            _("Item %(n)s, %(field)s: %(problem)s", n=label, field=field, problem=problem), item=n, field=field
        )

    if not isinstance(raw, Mapping):
        raise fail("item", _("must be an object"))
    unknown = set(raw) - {"id", "item_type", "item_id", "week", "day", "order", "prescription", "name"}
    if unknown:
        raise fail(sorted(unknown)[0], _("unknown field"))
    item_pk = raw.get("id")
    if item_pk is not None and (not _is_int(item_pk) or not 1 <= item_pk <= MAX_ID):
        raise fail("id", _("must be a positive whole number or null"))
    try:
        item_type = ItemType(raw.get("item_type"))
    except ValueError:
        raise fail("item_type", _("must be EXERCISE, MEAL or HABIT")) from None
    item_id = raw.get("item_id")
    if not _is_int(item_id) or not 1 <= item_id <= MAX_ID:
        raise fail("item_id", _("must be a positive whole number"))
    week = raw.get("week")
    if not _is_int(week) or not 0 <= week < weeks:
        raise fail("week", _("must be a week of the program (0 to %(last)s)", last=weeks - 1))
    day = raw.get("day")
    if not _is_int(day) or not 0 <= day <= 6:
        raise fail("day", _("must be a day from 0 to 6"))
    order = raw.get("order", 0)
    if not _is_int(order) or not 0 <= order < 10_000:
        raise fail("order", _("must be a whole number from 0"))
    prescription = raw.get("prescription")
    if prescription is None:
        prescription = {}
    if not isinstance(prescription, Mapping):
        raise fail("prescription", _("must be an object"))
    errors = sorted(_VALIDATORS[item_type.value].iter_errors(dict(prescription)), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        path = ".".join(str(p) for p in err.absolute_path)
        if not path and err.validator == "additionalProperties":
            extra = sorted(set(prescription) - set(js.PRESCRIPTION_BY_TYPE[item_type.value]["properties"]))
            path = extra[0] if extra else ""
            raise fail(f"prescription.{path}", _("not allowed for a %(type)s item", type=item_type.value))
        raise fail(f"prescription.{path}" if path else "prescription", err.message)
    return ItemSpec(item_pk, item_type, item_id, week, day, order, dict(prescription))


def save_program(actor: Actor, program_id: int, payload: Any, *, now: dt.datetime | None = None) -> SaveResult:
    """Replace a program's items atomically, or raise ProgramError and change nothing.

    Optimistic concurrency: the payload carries the version the editor loaded; a
    different current version means someone else saved meanwhile (409). The row
    is locked FOR UPDATE on PostgreSQL so two saves cannot both pass the check.
    """
    from app.services.training import plans  # plans imports this module

    try:
        program, editable = open_program(actor, program_id, for_update=True)
        if not editable:
            raise ProgramForbidden(_("You may view this program but not change it."))
        version, weeks, follow, specs = parse_save_payload(payload, program)
        if version != program.version:
            raise ProgramConflict(
                _(
                    "Someone else saved this program meanwhile (version %(current)s, you edited version %(yours)s). "
                    "Your changes are kept in this page; reload to see theirs.",
                    current=program.version,
                    yours=version,
                ),
                current_version=program.version,
            )
        existing = {item.id: item for item in program_items(actor, program.id, for_write=True)}
        seen: set[int] = set()
        for n, spec in enumerate(specs):
            if spec.id is None:
                continue
            if spec.id not in existing:
                raise ProgramError(
                    _("Item %(n)s, id: item %(id)s does not belong to this program.", n=n + 1, id=spec.id),
                    item=n,
                    field="id",
                )
            if spec.id in seen:
                raise ProgramError(
                    _("Item %(n)s, id: item %(id)s is listed twice.", n=n + 1, id=spec.id), item=n, field="id"
                )
            seen.add(spec.id)
        _check_catalogue(actor, specs)

        ordered = _renumber(specs)
        created = updated = 0
        kept: list[tuple[ProgramItem, bool]] = []
        for spec, order_index in ordered:
            if spec.id is None:
                item = ProgramItem(program_id=program.id)
                db.session.add(item)
                created += 1
                changed = True
            else:
                item = existing[spec.id]
                changed = (
                    item.item_type != spec.item_type
                    or item.item_id != spec.item_id
                    or item.week_index != spec.week
                    or item.day_index != spec.day
                    or item.order_index != order_index
                    or (item.prescription_json or {}) != spec.prescription
                )
                updated += int(changed)
            if changed:
                item.item_type = spec.item_type
                item.item_id = spec.item_id
                item.week_index = spec.week
                item.day_index = spec.day
                item.order_index = order_index
                item.prescription_json = spec.prescription
            kept.append((item, changed))
        removed = [item for item_id, item in existing.items() if item_id not in seen]
        program.weeks = weeks
        program.version = program.version + 1
        db.session.flush()
        changed_ids = {item.id for item, changed in kept if changed}
        followed = plans.follow_program_change(actor, program, removed, changed=changed_ids, now=now) if follow else 0
        plans.unlink_removed_items(removed)
        for item in removed:
            db.session.delete(item)
        db.session.flush()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return SaveResult(program, program.version, created, updated, len(removed), followed)


def _renumber(specs: list[ItemSpec]) -> list[tuple[ItemSpec, int]]:
    """Stable order within each day: by the client's order, then by position in the payload."""
    indexed = sorted(enumerate(specs), key=lambda p: (p[1].week, p[1].day, p[1].order, p[0]))
    result: list[tuple[ItemSpec, int]] = []
    cell: tuple[int, int] | None = None
    position = 0
    for _n, spec in indexed:
        if (spec.week, spec.day) != cell:
            cell, position = (spec.week, spec.day), 0
        result.append((spec, position))
        position += 1
    return result


def _check_catalogue(actor: Actor, specs: list[ItemSpec]) -> None:
    wanted: dict[ItemType, set[int]] = {}
    for spec in specs:
        wanted.setdefault(spec.item_type, set()).add(spec.item_id)
    known: dict[ItemType, set[int]] = {}
    for item_type, ids in wanted.items():
        model = CATALOGUE[item_type]
        stmt = sa.select(model.id).where(model.id.in_(ids), scope_criteria(model, actor))
        known[item_type] = set(db.session.scalars(stmt))
    for n, spec in enumerate(specs):
        if spec.item_id not in known[spec.item_type]:
            raise ProgramError(
                _(
                    "Item %(n)s, item_id: there is no %(type)s with id %(id)s.",
                    n=n + 1,
                    type=spec.item_type.value,
                    id=spec.item_id,
                ),
                item=n,
                field="item_id",
            )
