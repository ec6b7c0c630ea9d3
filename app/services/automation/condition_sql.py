"""A checked condition compiled to a SQLAlchemy boolean, with the Python evaluator's semantics.

SQL's three-valued logic would make ``NOT (amount > 100)`` unknown, so false, for a NULL amount,
where Python says true (see ``condition_eval``). Each comparison therefore carries its own
``column IS NOT NULL AND ...`` guard: with non-NULL bound values (``read`` refuses ``null``),
every compiled comparison is TRUE or FALSE, never NULL, and ``AND``/``OR``/``NOT`` then agree
with Python on every row. ``contains`` lowers A-Z only on both databases (SQLite's ``lower``;
``translate`` on PostgreSQL, whose ``lower`` would also fold other letters) and escapes the
LIKE wildcards, so "50%" looks for the text "50%".

``columns`` maps a field name to the expression holding it (a table column, a JSON path cast,
a subquery...). A field with no column, or a list field, cannot be matched in SQL:
``NotInSql`` says so and the caller evaluates in Python instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.services.automation.condition_tree import Leaf, Node
from app.services.automation.condition_values import ascii_lower

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class NotInSql(ValueError):
    """The condition uses a field the given columns cannot express (``field`` names it)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"field {field!r} has no SQL column")
        self.field = field


class _AsciiLower(FunctionElement[str]):
    """``lower()`` of A-Z only, the same on every database."""

    type = sa.String()
    name = "ascii_lower"
    inherit_cache = True


@compiles(_AsciiLower)
def _ascii_lower_default(element: _AsciiLower, compiler: Any, **kw: Any) -> str:
    return f"translate({compiler.process(element.clauses, **kw)}, '{_UPPER}', '{_UPPER.lower()}')"


@compiles(_AsciiLower, "sqlite")
def _ascii_lower_sqlite(element: _AsciiLower, compiler: Any, **kw: Any) -> str:
    # SQLite's built-in lower() folds ASCII only (without the ICU extension, which is never loaded).
    return f"lower({compiler.process(element.clauses, **kw)})"


def _comparison(leaf: Leaf, column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    op, value = leaf.op, leaf.value
    if op == "eq":
        return column == value
    if op == "ne":
        return column != value
    if op == "gt":
        return column > value
    if op == "gte":
        return column >= value
    if op == "lt":
        return column < value
    if op == "lte":
        return column <= value
    if op == "in":
        return column.in_(list(value))
    if op == "contains":
        return _AsciiLower(column).contains(ascii_lower(value), autoescape=True)
    raise ValueError(f"operator {op!r} is not allowed")


def compile_node(node: Node, columns: Mapping[str, sa.ColumnElement[Any]]) -> sa.ColumnElement[bool]:
    """The SQL boolean for a checked tree (see the module docstring for NULLs)."""
    if isinstance(node, Leaf):
        column = columns.get(node.field.name)
        if column is None or node.field.kind == "list":
            raise NotInSql(node.field.name)
        if node.op == "exists":
            return column.is_not(None) if node.value else column.is_(None)
        return sa.and_(column.is_not(None), _comparison(node, column))
    parts = [compile_node(child, columns) for child in node.children]
    if node.kind == "not":
        return sa.not_(parts[0])
    if node.kind == "all":
        return sa.and_(sa.true(), *parts)
    return sa.or_(sa.false(), *parts)
