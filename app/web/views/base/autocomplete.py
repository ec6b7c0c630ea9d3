"""``/autocomplete/<column>``: Select2 results for relation pickers and filters, scoped and permission-checked.

The related model's rows are offered only to a viewer who may read that model's own view,
matched on that view's search columns: each view records both for its model on the app
(``register_model_view``) when FAB builds it, so two apps in one process keep their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, g, jsonify, request
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import orm

from app.policy.scope import scope_criteria
from app.services.data_access import coerce_pk, pk_column
from app.web.views.base.filters import SEARCH_MAX_LENGTH, text_match

AUTOCOMPLETE_LIMIT = 20
REGISTRY = "coachdesk.model_views"


@dataclass(frozen=True)
class ModelViewEntry:
    """What a model's own console view says about it: the permission to check, the columns to search."""

    resource: str
    search_columns: tuple[str, ...]


def register_model_view(model: type, resource: str, search_columns: tuple[str, ...]) -> None:
    """Record ``model``'s view on the current app: the first view's resource, the first search columns given."""
    registry = current_app.extensions.setdefault(REGISTRY, {})
    known = registry.get(model)
    if known is None:
        registry[model] = ModelViewEntry(resource, search_columns)
    elif not known.search_columns and search_columns:
        registry[model] = ModelViewEntry(known.resource, search_columns)


def model_view_entry(model: type) -> ModelViewEntry | None:
    return current_app.extensions.get(REGISTRY, {}).get(model)


class AutocompleteMixin:
    """The ``/autocomplete/<column>`` route of every console view."""

    datamodel: Any
    filter_columns: tuple[str, ...]

    @expose("/autocomplete/<column>")
    @has_access
    def autocomplete(self, column: str) -> Any:
        """Select2 results for a relation picker: scoped to the viewer, at most 20 per page."""
        allowed = set(self.filter_columns) | set(self.add_columns or []) | set(self.edit_columns or [])
        prop = sa.inspect(self.datamodel.obj).attrs.get(column)
        if column not in allowed or not isinstance(prop, orm.RelationshipProperty) or prop.uselist:
            abort(404)
        target = prop.mapper.class_
        entry = model_view_entry(target)
        if entry is None or not self.appbuilder.sm.has_access("can_read", entry.resource):
            abort(403)
        term = request.args.get("q", request.args.get("term", "")).strip()[:SEARCH_MAX_LENGTH]
        try:
            page = min(max(int(request.args.get("page", "1")), 1), 50)
        except ValueError:
            page = 1
        columns = entry.search_columns
        stmt = sa.select(target).where(scope_criteria(target, g.user)).options(orm.lazyload("*"))
        if term:
            if columns:
                stmt = stmt.where(sa.or_(*[text_match(target, c, term) for c in columns]))
            else:
                pk = coerce_pk(target, term)
                stmt = stmt.where(pk_column(target) == pk) if pk is not None else stmt.where(sa.false())
        order = [getattr(target, columns[0])] if columns and "." not in columns[0] else []
        stmt = stmt.order_by(*order, pk_column(target)).offset((page - 1) * AUTOCOMPLETE_LIMIT)
        rows = self.datamodel.session.scalars(stmt.limit(AUTOCOMPLETE_LIMIT + 1)).unique().all()
        key = pk_column(target).key
        results = [{"id": str(getattr(r, key)), "text": str(r)} for r in rows[:AUTOCOMPLETE_LIMIT]]
        return jsonify({"results": results, "pagination": {"more": len(rows) > AUTOCOMPLETE_LIMIT}})
