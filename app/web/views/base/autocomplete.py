"""``/autocomplete/<column>``: Select2 results for relation pickers and filters, scoped and permission-checked.

The related model's rows are offered only to a viewer who may read that model's own view
(``resource_for_model``), matched on that view's search columns (``search_for_model``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa
from flask import abort, g, jsonify, request
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import orm

from app.policy.scope import scope_criteria
from app.services.data_access import coerce_pk, pk_column
from app.web.views.base.filters import SEARCH_MAX_LENGTH, text_match

AUTOCOMPLETE_LIMIT = 20


class AutocompleteMixin:
    """The route, and the registries every view fills when it is created."""

    #: model -> its view's resource (the permission to check), and -> its search columns.
    resource_for_model: ClassVar[dict[type, str]] = {}
    search_for_model: ClassVar[dict[type, tuple[str, ...]]] = {}

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
        resource = AutocompleteMixin.resource_for_model.get(target)
        if resource is None or not self.appbuilder.sm.has_access("can_read", resource):
            abort(403)
        term = request.args.get("q", request.args.get("term", "")).strip()[:SEARCH_MAX_LENGTH]
        try:
            page = min(max(int(request.args.get("page", "1")), 1), 50)
        except ValueError:
            page = 1
        columns = AutocompleteMixin.search_for_model.get(target, ())
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
