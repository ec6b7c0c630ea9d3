"""Id columns that point somewhere without a foreign key, shown as the name of what they point to, linked.

A program or plan item's ``item_id`` names an exercise, meal or habit (by ``item_type``), a thread's
``context_id`` a coach assignment or a support ticket (by ``context_type``), a post's ``community_id``
one of the fixed communities. Lists call ``reference_html`` once per cell; the first call of a request
resolves every row of that class the session holds (the page's rows) in one query per kind, so a page
costs a few queries, never one per row. Names are read under the viewer's row scope; an id the viewer
may not see (or that points nowhere) stays "#id".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context, url_for
from markupsafe import Markup, escape

from app.extensions import appbuilder, db
from app.models.customers import CoachAssignment
from app.models.engagement import NOTES_CONTEXT, CommunityPost, SupportTicket, Thread, ThreadContext
from app.models.labels import code_label
from app.models.training import Exercise, Habit, ItemType, Meal, PlanItem, ProgramItem
from app.policy.scope import Actor, scope_criteria

CATALOGUE = {ItemType.EXERCISE: Exercise, ItemType.MEAL: Meal, ItemType.HABIT: Habit}
Target = tuple[type, Any]  # (model, primary key) a reference points to


def _catalogue_target(kind_column: str, id_column: str) -> Callable[[Any], Target | None]:
    def target(row: Any) -> Target | None:
        kind, ref = getattr(row, kind_column), getattr(row, id_column)
        return (CATALOGUE[kind], ref) if kind in CATALOGUE and ref is not None else None

    return target


def _thread_target(row: Thread) -> Target | None:
    ref = row.context_id or ""
    if not ref.isdigit():
        return None
    model = SupportTicket if row.context_type == ThreadContext.SUPPORT else CoachAssignment
    return model, int(ref)


# (model, column) -> the row a value points to.
REFERENCES: dict[tuple[type, str], Callable[[Any], Target | None]] = {
    (ProgramItem, "item_id"): _catalogue_target("item_type", "item_id"),
    (PlanItem, "item_id"): _catalogue_target("item_type", "item_id"),
    (PlanItem, "substitution_item_id"): _catalogue_target("item_type", "substitution_item_id"),
    (Thread, "context_id"): _thread_target,
}


def is_reference(item: Any, column: str) -> bool:
    return (type(item), column) in REFERENCES or (type(item), column) == (CommunityPost, "community_id")


def show_endpoint(model: type) -> str | None:
    """The show page of ``model``'s console list, if the viewer may open it."""
    for view in appbuilder.baseviews:
        datamodel = getattr(view, "datamodel", None)
        if datamodel is not None and datamodel.obj is model and hasattr(view, "show"):
            resource = getattr(view, "class_permission_name", None)
            if resource and appbuilder.sm.has_access("can_read", resource):
                return f"{type(view).__name__}.show"
            return None
    return None


def _names(targets: Iterable[Target]) -> dict[Target, str]:
    """Names of the targets the viewer may see: one query per model."""
    by_model: dict[type, set[Any]] = {}
    for model, pk in targets:
        by_model.setdefault(model, set()).add(pk)
    actor = getattr(g, "user", None)
    names: dict[Target, str] = {}
    for model, pks in by_model.items():
        stmt = sa.select(model).where(model.id.in_(pks))
        if actor is not None:
            stmt = stmt.where(scope_criteria(model, Actor.of(actor)))
        for obj in db.session.scalars(stmt):
            names[(model, obj.id)] = str(getattr(obj, "name", None) or getattr(obj, "subject", None) or obj)
    return names


def _resolve_peers(cls: type, column: str) -> dict[Any, Target | None]:
    """Targets of every loaded ``cls`` row (the page's rows), keyed by the row's primary key."""
    target_of = REFERENCES[(cls, column)]
    peers = [obj for obj in list(db.session.identity_map.values()) if type(obj) is cls]
    return {obj.id: target_of(obj) for obj in peers}


def reference_html(item: Any, column: str) -> str:
    """The cell: the target's name linked to its show page, "#id" when unknown, a label for codes."""
    value = getattr(item, column, None)
    if value is None or value == "":
        return ""
    if isinstance(item, CommunityPost):
        return code_label("community", value)
    if isinstance(item, Thread) and value == NOTES_CONTEXT:
        return code_label("thread_context", value)
    cache: dict[Any, Any] = g.setdefault("cd_references", {}) if has_request_context() else {}
    key = (type(item), column)
    if (key, item.id) not in cache:
        targets = _resolve_peers(*key)
        targets[item.id] = REFERENCES[key](item)
        names = _names(t for t in targets.values() if t is not None)
        for row_id, target in targets.items():
            cache[(key, row_id)] = (target, names.get(target) if target else None)
    target, name = cache[(key, item.id)]
    if target is None or name is None:
        return f"#{value}"
    endpoint = show_endpoint(target[0])
    if endpoint is None:
        return name
    return Markup('<a href="{}">{}</a>').format(url_for(endpoint, pk=target[1]), escape(name))
