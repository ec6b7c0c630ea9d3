"""The catalogue (exercises, meals, habits) as the builder sees it: names, and the library search.

Every query goes through ``app.policy.scope.scope_criteria``: an actor sees only
the catalogue rows their row scope allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.i18n import service_gettext as _
from app.models.training import Difficulty, Exercise, Habit, ItemType, Meal
from app.policy.scope import Actor, scope_criteria
from app.services.people_search import contains_pattern
from app.services.training.errors import ProgramError

LIBRARY_PAGE_SIZE_MAX = 50
CATALOGUE = {ItemType.EXERCISE: Exercise, ItemType.MEAL: Meal, ItemType.HABIT: Habit}


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
        clauses.append(model.name.ilike(contains_pattern(query.q), escape="\\"))
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
            clauses.append(Exercise.equipment.ilike(contains_pattern(query.equipment), escape="\\"))
    if query.item_type == ItemType.MEAL and query.exclude_allergen:
        allergen = contains_pattern(query.exclude_allergen)
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
