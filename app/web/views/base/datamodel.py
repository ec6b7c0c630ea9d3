"""The data side of every console view: FAB's SQLA interface with the row scope, eager loading and counts.

Every read FAB does for a view (list, related lists, show/edit/delete by URL, actions) goes
through ``ScopedSQLAInterface.query`` or ``get``, so the scope cannot be skipped. Reusing the
list machinery elsewhere (benchmarks, dashboards): ``query`` is FAB's signature plus ``criteria``
and returns ``(RowCount, rows)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from flask import g
from flask_appbuilder.models.filters import Filters
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import orm

from app.policy.scope import is_unrestricted, scope_criteria
from app.services import keyset
from app.services.data_access import (
    EXACT_COUNT_LIMIT,
    SCOPED_EXACT_COUNT_LIMIT,
    RowCount,
    coerce_pk,
    count_rows,
    pk_column,
)

DEFAULT_PAGE_SIZE = 25


class LazyFilters(Filters):
    """FAB's Filters without converting every column up front (FAB does it on every list and related tab)."""

    def __init__(self, filter_converter: Any, datamodel: Any, search_columns: Any = None, search_filters: Any = None):
        self.search_columns = search_columns or []
        self.filter_converter = filter_converter
        self.datamodel = datamodel
        self.clear_filters()
        self._search_filters = self._get_filters(self.search_columns) if self.search_columns else {}
        for key, extra in (search_filters or {}).items():
            self._search_filters.setdefault(key, []).extend(extra)
        self._lazy_all: dict[str, Any] | None = None

    @property
    def _all_filters(self) -> dict[str, Any]:  # type: ignore[override]
        if self._lazy_all is None:
            self._lazy_all = self._get_filters(self.datamodel.get_columns_list())
        return self._lazy_all


class ScopedSQLAInterface(SQLAInterface):
    """FAB's SQLA interface with the row scope, eager loading and the count strategy built in.

    Every read FAB does for a view (list, related lists, show/edit/delete by URL,
    actions) goes through ``query`` or ``get`` here, so the scope cannot be skipped.
    """

    #: Exact counts up to this many rows, an estimate ("about N") beyond; see data_access.count_rows.
    exact_count_limit = EXACT_COUNT_LIMIT
    #: The same for row-scoped (coach) lists, whose matches lie sparse in the shared indexes.
    scoped_exact_count_limit = SCOPED_EXACT_COUNT_LIMIT

    def current_user(self) -> Any:
        return getattr(g, "user", None)

    def get_filters(self, search_columns: Any = None, search_filters: Any = None) -> Filters:
        return LazyFilters(self.filter_converter_class, self, search_columns, search_filters)

    def write_mode(self) -> bool:
        return bool(getattr(g, "cd_write_scope", False))

    def scope(self, *, for_write: bool | None = None) -> Any:
        write = self.write_mode() if for_write is None else for_write
        return scope_criteria(self.obj, self.current_user(), for_write=write)

    def scoped_query(self, *, for_write: bool | None = None) -> orm.Query:
        return self.session.query(self.obj).filter(self.scope(for_write=for_write))

    def get(self, id: Any, filters: Any = None, select_columns: Any = None, outer_default_load: bool = False) -> Any:
        pk = coerce_pk(self.obj, id)
        if pk is None:
            return None
        query = self.scoped_query().filter(pk_column(self.obj) == pk)
        if filters:
            query = filters.apply_all(query)
        return query.first()

    def get_related_obj(self, col_name: str, value: Any) -> Any:
        model = self.get_related_model(col_name)
        pk = coerce_pk(model, value)
        if pk is None:
            return None
        stmt = sa.select(model).where(scope_criteria(model, self.current_user()), pk_column(model) == pk)
        return self.session.scalars(stmt).unique().first()

    def eager_options(self, paths: Sequence[str]) -> list[Any]:
        """``lazyload('*')`` plus a joined load for each dotted path: a fixed number of queries per page."""
        options: list[Any] = [orm.lazyload("*")]
        for path in paths:
            loader = None
            mapper = sa.inspect(self.obj)
            for part in path.split("."):
                attr = getattr(mapper.class_, part)
                loader = orm.joinedload(attr) if loader is None else loader.joinedload(attr)
                options.append(loader.lazyload("*"))
                mapper = attr.property.mapper
        return options

    def query(
        self,
        filters: Any = None,
        order_column: str = "",
        order_direction: str = "",
        page: int | None = None,
        page_size: int | None = None,
        select_columns: Any = None,
        outer_default_load: bool = False,
        criteria: Sequence[Any] = (),
        eager: Sequence[str] = (),
        seek: keyset.Seek | None = None,
    ) -> tuple[RowCount, list[Any]]:
        """One page and the count. With ``seek`` (keyset paging) it reads ``page_size + 1`` rows from
        the seek point, in the seek's order, so the caller knows whether more follow."""
        query = self.scoped_query(for_write=False)
        for criterion in criteria:
            query = query.filter(criterion)
        if filters:
            query = filters.apply_all(query)
        pk = pk_column(self.obj)
        count = count_rows(
            self.session,
            query.with_entities(pk).statement,
            filtered=bool(criteria) or bool(filters),
            limit=self.exact_count_limit if is_unrestricted(self.current_user()) else self.scoped_exact_count_limit,
        )
        if seek is not None:
            query = query.filter(seek.where).order_by(*seek.order_by)
            keys = query.with_entities(pk).limit((page_size or DEFAULT_PAGE_SIZE) + 1).subquery()
            query = query.filter(pk.in_(sa.select(keys.c[0]))).options(*self.eager_options(eager))
            return count, query.all()
        query = self.apply_order_by(query, order_column, order_direction, add_pk=True)
        if not order_column:
            query = query.order_by(pk.desc())
        if eager and page_size:
            # Page the keys first (an index-only walk), then join the relations for that page
            # only: otherwise PostgreSQL joins every skipped row of a deep OFFSET.
            keys = self.apply_pagination(query.with_entities(pk), page, page_size).subquery()
            query = query.filter(pk.in_(sa.select(keys.c[0])))
        else:
            query = self.apply_pagination(query, page, page_size)
        query = query.options(*self.eager_options(eager))
        return count, query.all()

    def iter_rows(
        self, criteria: Sequence[Any], order_column: str, order_direction: str, eager: Sequence[str]
    ) -> Iterable[Any]:
        """All matching rows in order, streamed from the database in batches (for export)."""
        pk = pk_column(self.obj)
        stmt = sa.select(self.obj).where(self.scope(for_write=False), *criteria)
        order: list[Any] = []
        if order_column and "." not in order_column and hasattr(self.obj, order_column):
            column = getattr(self.obj, order_column)
            order.append(column.asc() if order_direction == "asc" else column.desc())
        order.append(pk.asc() if order_direction == "asc" else pk.desc())
        stmt = stmt.order_by(*order).options(*self.eager_options(eager)).execution_options(yield_per=500)
        return self._stream(stmt, self.session.get_bind())

    @staticmethod
    def _stream(stmt: Any, bind: Any) -> Iterable[Any]:
        # Its own session: the response body is produced after the view returned and
        # the request (and its session) may be gone; the scope is already in the statement.
        with orm.Session(bind=bind) as session:
            yield from session.execute(stmt).scalars()
