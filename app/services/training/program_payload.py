"""Validating a builder save before any row is touched: the payload's shape, limits and prescriptions,
then that every item's exercise, meal or habit exists (``item_refs``, the check every write path shares).

The whole payload is checked first so a save either applies completely or not at
all; each error names the item and field the builder should highlight.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from app.i18n import service_gettext as _
from app.models import json_schemas as js
from app.models.labels import enum_label
from app.models.training import ItemType, Program
from app.policy.scope import Actor
from app.services.training.access import MAX_ID
from app.services.training.errors import ProgramError
from app.services.training.item_refs import missing_item_refs

MAX_WEEKS = 104
MAX_ITEMS = 3000
MAX_ITEMS_PER_DAY = 60
_VALIDATORS = {t: Draft202012Validator(s) for t, s in js.PRESCRIPTION_BY_TYPE.items()}


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
            raise fail(
                f"prescription.{path}", _("not allowed for an item of type “%(type)s”", type=enum_label(item_type))
            )
        raise fail(f"prescription.{path}" if path else "prescription", err.message)
    return ItemSpec(item_pk, item_type, item_id, week, day, order, dict(prescription))


def check_references(actor: Actor, specs: list[ItemSpec]) -> None:
    """Every item names an exercise, meal or habit the actor may use: one query per item type."""
    missing = set(missing_item_refs(actor, [(spec.item_type, spec.item_id) for spec in specs]))
    for n, spec in enumerate(specs):
        if (spec.item_type, spec.item_id) in missing:
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
