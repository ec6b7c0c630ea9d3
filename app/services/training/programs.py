"""Programs as a grid of weeks x days: loading, creating and atomic saving with optimistic concurrency.

The builder sends the whole program on every save; the service validates all
of it before touching a row, then updates items in place (keeping their ids so
plan items stay linked), inserts new ones and deletes removed ones, through ORM
flushes so the audit hooks see every change. It never commits: the caller owns
the transaction, commits a save that returned and rolls back one that raised.

Row scope is the project's one rule set (``app.policy.scope``): every read
here goes through ``scope_criteria``/``scoped_select``, every change asks it
with ``for_write=True``. This module holds no rule of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.i18n import service_gettext as _
from app.models.training import ItemType, Program, ProgramItem, ProgramLevel, Visibility
from app.policy.scope import Actor, scope_criteria, scoped_select
from app.services.training.access import MAX_ID, may_write
from app.services.training.catalogue import catalogue_names
from app.services.training.errors import ProgramConflict, ProgramError, ProgramForbidden, ProgramNotFound
from app.services.training.followers import follow_program_change, unlink_removed_items
from app.services.training.item_refs import known_item_ids
from app.services.training.program_payload import MAX_WEEKS, ItemSpec, check_references, parse_save_payload

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
    whose console account has no platform user owns nothing, so may create nothing): it is
    flushed to ask, so on ProgramForbidden the caller rolls it back.
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
    db.session.add(program)
    db.session.flush()
    if not program_editable(actor, program.id):
        raise ProgramForbidden(_("You may not create programs."))
    return program


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


# --- saving ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SaveResult:
    program: Program
    version: int
    created: int
    updated: int
    deleted: int
    plans_followed: int


def save_program(actor: Actor, program_id: int, payload: Any, *, now: dt.datetime | None = None) -> SaveResult:
    """Replace a program's items, or raise ProgramError; the caller commits the one, rolls back the other.

    Optimistic concurrency: the payload carries the version the editor loaded; a
    different current version means someone else saved meanwhile (409). The row
    is locked FOR UPDATE on PostgreSQL so two saves cannot both pass the check.
    """
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
    check_references(actor, specs)

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
    followed = follow_program_change(actor, program, removed, changed=changed_ids, now=now) if follow else 0
    unlink_removed_items(removed)
    for item in removed:
        db.session.delete(item)
    db.session.flush()
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


def known_catalogue_ids(actor: Actor, wanted: dict[ItemType, set[int]]) -> dict[ItemType, set[int]]:
    """Which of these polymorphic references point at a catalogue row the actor may use (``item_refs``)."""
    return known_item_ids(actor, wanted)
