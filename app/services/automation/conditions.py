"""The rule condition language: check a condition against a trigger's fields, evaluate it, compile it.

One JSON tree (``automation_rules.condition_json``), four uses, all on the tree ``read`` checked:

* ``validate`` lists every problem with its path, for the editor and for refusing a save;
* ``evaluate`` answers one payload in Python, with an ``Explanation`` for the dry run ("amount
  120 > 100 ✓");
* ``to_sql`` gives the same answer as a SQLAlchemy boolean, for segment and dry-run matching;
* ``describe`` says it in one sentence for the rule list.

There is no ``eval``, no attribute access and no name look-up anywhere: fields are looked up in
the trigger's ``fields`` mapping and in payload mappings by key, and operators come from
``OPERATORS_BY_KIND``. The semantics of missing values (``exists``; every other comparison false
on a missing value, so ``not`` of it is true) are in ``condition_eval``'s docstring; ``to_sql``
follows them. The engine, which matches many payloads against one rule, keeps a
``CompiledCondition`` instead of reading the JSON each time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.services.automation.condition_eval import Explanation, explain, matches
from app.services.automation.condition_sql import NotInSql, compile_node
from app.services.automation.condition_text import sentence
from app.services.automation.condition_tree import (
    MAX_DEPTH,
    MAX_LEAVES,
    OPERATORS,
    OPERATORS_BY_KIND,
    Field,
    InvalidCondition,
    Problem,
    parse,
    read,
)

Condition = dict[str, Any] | None


@dataclass(frozen=True)
class CompiledCondition:
    """A condition read once against its trigger's fields, ready to be evaluated many times."""

    node: Any

    def matches(self, payload: Mapping[str, Any]) -> bool:
        return matches(self.node, payload)

    def explain(self, payload: Mapping[str, Any]) -> Explanation:
        return explain(self.node, payload)

    def to_sql(self, columns: Mapping[str, sa.ColumnElement[Any]]) -> sa.ColumnElement[bool]:
        return compile_node(self.node, columns)

    def describe(self) -> str:
        return sentence(self.node)


def validate(condition: Condition, fields: Mapping[str, Field]) -> list[Problem]:
    """Every problem of ``condition`` for a trigger offering ``fields`` (empty when it is fine)."""
    return read(condition, fields)[1]


def compile_condition(condition: Condition, fields: Mapping[str, Field]) -> CompiledCondition:
    """The checked condition; ``InvalidCondition`` (with ``problems``) when it does not pass ``validate``."""
    return CompiledCondition(parse(condition, fields))


def evaluate(condition: Condition, payload: Mapping[str, Any], fields: Mapping[str, Field]) -> Explanation:
    """Whether ``payload`` matches, and why; ``InvalidCondition`` for a condition ``validate`` refuses."""
    return compile_condition(condition, fields).explain(payload)


def to_sql(
    condition: Condition, columns: Mapping[str, sa.ColumnElement[Any]], fields: Mapping[str, Field]
) -> sa.ColumnElement[bool]:
    """The condition as a SQL boolean over ``columns`` (field name -> expression).

    ``InvalidCondition`` for a condition ``validate`` refuses; ``NotInSql`` when a field it uses
    has no column (evaluate those in Python).
    """
    return compile_condition(condition, fields).to_sql(columns)


def describe(condition: Condition, fields: Mapping[str, Field]) -> str:
    """One sentence in the current language: "status is Paused and amount greater than 100 EUR"."""
    return compile_condition(condition, fields).describe()


def fields_by_name(fields: list[Field] | tuple[Field, ...]) -> dict[str, Field]:
    """The mapping the functions above take, from a trigger's list of fields."""
    return {item.name: item for item in fields}


__all__ = [
    "MAX_DEPTH",
    "MAX_LEAVES",
    "OPERATORS",
    "OPERATORS_BY_KIND",
    "CompiledCondition",
    "Explanation",
    "Field",
    "InvalidCondition",
    "NotInSql",
    "Problem",
    "compile_condition",
    "describe",
    "evaluate",
    "fields_by_name",
    "to_sql",
    "validate",
]
