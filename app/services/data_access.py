"""Scoped data access shared by console views, exports, charts and the REST API.

Everything that reads rows on behalf of a console user goes through
:func:`scoped_select` (or the console's ``ScopedSQLAInterface``, which calls the
same :func:`app.policy.scope.scope_criteria`), so a coach's row scope holds
on every path. Also home to the list count strategy and primary-key parsing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.policy.scope import scope_criteria, scoped_select

__all__ = ["scoped_select", "scope_criteria", "RowCount", "count_rows", "coerce_pk", "get_scoped"]

# Exact counts up to this many rows; above it the planner's estimate is shown as "about N".
EXACT_COUNT_LIMIT = 10_000
SCOPED_EXACT_COUNT_LIMIT = 500
MAX_PAGE_SIZE = 100
# Deepest row offset a page NUMBER may reach; beyond it lists page by cursor (Next/Previous,
# app/services/keyset.py), whose cost does not grow with depth. Row-scoped lists (coaches) stop
# sooner: their rows lie sparse in the shared indexes, so each skipped row costs many index entries.
MAX_OFFSET = 10_000
SCOPED_MAX_OFFSET = 500


def clamp_page(page: Any, page_size: Any, default_size: int, deepest: int = MAX_OFFSET) -> tuple[int, int, bool]:
    """(page number, page size, whether the number was cut back): sizes 1..MAX_PAGE_SIZE, offsets to ``deepest``.

    Unreadable values fall back to the first page and the default size (views answer 400 first)."""
    try:
        size = int(page_size) if page_size else default_size
    except (TypeError, ValueError):
        size = default_size
    size = min(max(size, 1), MAX_PAGE_SIZE)
    try:
        number = max(int(page or 0), 0)
    except (TypeError, ValueError):
        number = 0
    if number * size > deepest:
        return deepest // size, size, True
    return number, size, False


class RowCount(int):
    """An ``int`` row count that knows whether it is an estimate (templates show "about N")."""

    estimated: bool

    def __new__(cls, value: int, estimated: bool = False) -> RowCount:
        obj = super().__new__(cls, max(int(value), 0))
        obj.estimated = estimated
        return obj


def pk_column(model: type) -> sa.Column:
    return sa.inspect(model).primary_key[0]


def coerce_pk(model: type, raw: Any) -> Any | None:
    """Turn a URL/form primary key into the column's Python type; ``None`` when it cannot be one.

    Callers answer ``None`` with a 404, so a non-UUID in a UUID route never reaches the database.
    """
    column = pk_column(model)
    if raw is None:
        return None
    if isinstance(column.type, sa.Uuid):
        if isinstance(raw, uuid.UUID):
            return raw
        try:
            return uuid.UUID(str(raw))
        except ValueError:
            return None
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return str(raw)
    if python_type is int:
        try:
            value = int(str(raw))
        except ValueError:
            return None
        return value if -(2**63) <= value < 2**63 else None
    return python_type(raw)


def get_scoped(session: Session, model: type, user: Any, raw_pk: Any, *, for_write: bool = False) -> Any | None:
    pk = coerce_pk(model, raw_pk)
    if pk is None:
        return None
    stmt = scoped_select(model, user, pk_column(model) == pk, for_write=for_write)
    return session.scalars(stmt).unique().first()


def get_many_scoped(
    session: Session, model: type, user: Any, raw_pks: Iterable[Any], *, for_write: bool = False
) -> list[Any]:
    """Load the selected rows in one query; ids outside the scope (or malformed) are silently dropped."""
    pks = [pk for pk in (coerce_pk(model, raw) for raw in raw_pks) if pk is not None]
    if not pks:
        return []
    stmt = scoped_select(model, user, pk_column(model).in_(pks), for_write=for_write)
    return list(session.scalars(stmt).unique())


def count_rows(session: Session, stmt: sa.Select, *, filtered: bool, limit: int = EXACT_COUNT_LIMIT) -> RowCount:
    """Count what ``stmt`` would return: exact up to ``limit``, an estimate beyond.

    The exact part reads at most ``limit + 1`` index entries, so its cost does not grow
    with the table. Past the limit, PostgreSQL answers from ``pg_class.reltuples``
    (unfiltered) or the planner's row estimate (filtered); SQLite counts exactly,
    which it does quickly from the smallest b-tree.
    """
    inner = stmt.order_by(None).limit(limit + 1).subquery()
    capped = session.scalar(sa.select(sa.func.count()).select_from(inner)) or 0
    if capped <= limit:
        return RowCount(capped)
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        exact = session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
        return RowCount(exact)
    estimate = _planner_estimate(session, stmt) if filtered else _table_estimate(session, stmt)
    return RowCount(max(estimate, limit + 1), estimated=True)


def _table_estimate(session: Session, stmt: sa.Select) -> int:
    froms = stmt.get_final_froms()
    table = getattr(froms[0], "name", None) if froms else None
    if table is None:
        return _planner_estimate(session, stmt)
    value = session.scalar(
        sa.text("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(:name)"), {"name": table}
    )
    if value is None or value < 0:  # never analysed
        return 0
    return int(value)


def _planner_estimate(session: Session, stmt: sa.Select) -> int:
    """The planner's row estimate for ``stmt`` (0 when the statement cannot be rendered for EXPLAIN)."""
    bind = session.get_bind()
    try:
        compiled = stmt.order_by(None).compile(dialect=bind.dialect, compile_kwargs={"literal_binds": True})
    except (sa.exc.CompileError, NotImplementedError, TypeError, ValueError):
        return 0
    plan = session.execute(sa.text("EXPLAIN (FORMAT JSON) " + str(compiled).replace(":", r"\:"))).scalar()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def rows_in_order(rows: Sequence[Any], model: type, pks: Sequence[Any]) -> list[Any]:
    index = {getattr(r, pk_column(model).key): r for r in rows}
    return [index[pk] for pk in pks if pk in index]
