"""A rule condition read and checked against a trigger's fields: the tree every evaluator walks.

The stored form is JSON (``automation_rules.condition_json``, schema ``RULE_CONDITION``):
``{"all": [...]}``, ``{"any": [...]}``, ``{"not": node}`` and comparisons
``{"field": "amount", "op": "gt", "value": 100}``. ``read`` turns it into ``Group``/``Leaf``
nodes whose values are already normalised to their field's kind, collecting every problem
(with a path such as ``all[2].not.field`` so the editor can point at the widget) instead of
stopping at the first. Nothing here evaluates anything: the evaluators only ever see a tree that
passed these checks, so an unknown field, an operator outside the allow-list or a value of the
wrong type never reaches them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal

from app.i18n import service_gettext as _
from app.services.automation.condition_values import FIELD_PATH, KINDS, MISSING, Kind, normalise

OPERATORS: Final[tuple[str, ...]] = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists")
_ORDERED = ("eq", "ne", "gt", "gte", "lt", "lte", "exists")
# Which operators each kind of field accepts (the editor's operator select shows these, in this order).
OPERATORS_BY_KIND: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "enum": ("eq", "ne", "in", "exists"),
        "number": _ORDERED,
        "integer": _ORDERED,
        "date": _ORDERED,
        "datetime": _ORDERED,
        "id": ("eq", "ne", "in", "exists"),
        "boolean": ("eq", "ne", "exists"),
        "text": ("eq", "ne", "in", "contains", "exists"),
        "list": ("contains", "exists"),
    }
)
MAX_DEPTH: Final = 8  # groups (all/any/not) nested on any path
MAX_LEAVES: Final = 200  # comparisons in one condition
MAX_CHOICES: Final = 100  # values in one "in" list
MAX_TEXT: Final = 500  # characters in one text value


@dataclass(frozen=True)
class Field:
    """One field a trigger's payload offers a condition (the trigger catalogue supplies these).

    ``name`` is a dotted path into the payload; ``label`` may be a lazy string; ``choices`` are the
    codes of an enum (``choice_labels`` pairs a code with its lazy label); ``unit`` is shown
    after numbers ("EUR", "kg").
    """

    name: str
    kind: Kind
    choices: tuple[str, ...] = ()
    unit: str | None = None
    label: Any = None
    choice_labels: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if not FIELD_PATH.fullmatch(self.name):
            raise ValueError(f"field name {self.name!r} is not a plain dotted path")
        if self.kind not in KINDS:
            raise ValueError(f"unknown field kind {self.kind!r}")
        if self.kind == "enum" and not self.choices:
            raise ValueError(f"enum field {self.name!r} needs its choices")

    def title(self) -> str:
        """The label in the current language (the name, spaced, when there is none)."""
        return str(self.label) if self.label is not None else self.name.replace("_", " ").replace(".", " ")

    def choice_title(self, code: str) -> str:
        for choice, label in self.choice_labels:
            if choice == code:
                return str(label)
        return code.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Problem:
    """What is wrong at ``path`` (``""`` is the whole condition), in the reader's language."""

    path: str
    message: str


@dataclass(frozen=True)
class Leaf:
    """One comparison; ``value`` is normalised (a tuple for ``in``, a bool for ``exists``)."""

    field: Field
    op: str
    value: Any


@dataclass(frozen=True)
class Group:
    """``all`` (true when every child is; true when empty), ``any`` (false when empty) or ``not`` (one child)."""

    kind: Literal["all", "any", "not"]
    children: tuple[Node, ...] = field(default=())


Node = Leaf | Group
ALWAYS: Final = Group("all", ())


class InvalidCondition(ValueError):
    """A condition that did not pass ``read``; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path or '(condition)'}: {p.message}" for p in problems))
        self.problems = problems


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def operator_word(op: str) -> str:
    """The operator as the editor and the messages name it."""
    words = {
        "eq": _("is"),
        "ne": _("is not"),
        "gt": _("greater than"),
        "gte": _("at least"),
        "lt": _("less than"),
        "lte": _("at most"),
        "in": _("is one of"),
        "contains": _("contains"),
        "exists": _("is set"),
    }
    return words[op]


def _value_message(item: Field) -> str:
    name = item.title()
    if item.kind == "number":
        return _("Enter a number for %(field)s.", field=name)
    if item.kind == "integer":
        return _("Enter a whole number for %(field)s.", field=name)
    if item.kind == "date":
        return _("Enter a date as YYYY-MM-DD for %(field)s.", field=name)
    if item.kind == "datetime":
        return _("Enter a date and time with its offset (2024-05-01T09:00:00+02:00) for %(field)s.", field=name)
    if item.kind == "id":
        return _("Enter an id (a number or a UUID) for %(field)s.", field=name)
    if item.kind == "boolean":
        return _("Choose yes or no for %(field)s.", field=name)
    return _("Enter some text for %(field)s.", field=name)


class _Reader:
    """Walks the JSON once, building nodes and collecting problems."""

    def __init__(self, fields: Mapping[str, Field]) -> None:
        self.fields = fields
        self.problems: list[Problem] = []
        self.leaves = 0

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def node(self, raw: Any, path: str, depth: int) -> Node | None:
        if not isinstance(raw, dict) or not raw:
            self.problem(path, _("Each part of a condition is a group (all, any, not) or a comparison."))
            return None
        groups = [key for key in ("all", "any", "not") if key in raw]
        if not groups:
            return self.leaf(raw, path)
        if len(raw) != 1:
            self.problem(path, _("A group holds exactly one of all, any or not, and nothing else."))
            return None
        key = groups[0]
        if depth > MAX_DEPTH:
            self.problem(path, _("Groups nest at most %(max)d deep.", max=MAX_DEPTH))
            return None
        inner = _join(path, key)
        if key == "not":
            child = self.node(raw["not"], inner, depth + 1)
            return None if child is None else Group("not", (child,))
        items = raw[key]
        if not isinstance(items, list) or not items:
            self.problem(inner, _("A group needs at least one condition."))
            return None
        children = [self.node(item, f"{inner}[{index}]", depth + 1) for index, item in enumerate(items)]
        if any(child is None for child in children):
            return None
        return Group(key, tuple(children))  # type: ignore[arg-type]

    def leaf(self, raw: dict[str, Any], path: str) -> Leaf | None:
        self.leaves += 1
        if self.leaves > MAX_LEAVES:
            if self.leaves == MAX_LEAVES + 1:
                self.problem("", _("A condition holds at most %(max)d comparisons.", max=MAX_LEAVES))
            return None
        for key in raw:
            if key not in ("field", "op", "value"):
                self.problem(_join(path, str(key)), _("A comparison has only a field, an operator and a value."))
                return None
        name = raw.get("field")
        item = self.fields.get(name) if isinstance(name, str) and FIELD_PATH.fullmatch(name) else None
        if item is None:
            shown = name if isinstance(name, str) else ""
            self.problem(_join(path, "field"), _("This trigger has no field “%(field)s”.", field=shown[:100]))
            return None
        op = raw.get("op")
        if op not in OPERATORS_BY_KIND[item.kind]:
            words = ", ".join(operator_word(o) for o in OPERATORS_BY_KIND[item.kind])
            message = _("%(field)s cannot be compared that way; choose one of: %(ops)s.", field=item.title(), ops=words)
            self.problem(_join(path, "op"), message)
            return None
        value = self.value(item, op, raw, _join(path, "value"))
        return None if value is MISSING else Leaf(item, op, value)

    def value(self, item: Field, op: str, raw: dict[str, Any], path: str) -> Any:
        if op == "exists":
            given = True if raw.get("value") is None else raw["value"]
            if not isinstance(given, bool):
                self.problem(path, _("“is set” takes yes or no."))
                return MISSING
            return given
        if raw.get("value") is None:
            self.problem(path, _("Enter a value to compare %(field)s with.", field=item.title()))
            return MISSING
        if op == "in":
            values = raw["value"]
            if not isinstance(values, list) or not values or len(values) > MAX_CHOICES:
                self.problem(path, _("Give between 1 and %(max)d values.", max=MAX_CHOICES))
                return MISSING
            read = [self.scalar(item, v, f"{path}[{i}]") for i, v in enumerate(values)]
            return MISSING if any(v is MISSING for v in read) else tuple(dict.fromkeys(read))
        return self.scalar(item, raw["value"], path)

    def scalar(self, item: Field, raw: Any, path: str) -> Any:
        if item.kind == "enum":
            if not isinstance(raw, str) or raw not in item.choices:
                choices = ", ".join(item.choice_title(c) for c in item.choices)
                self.problem(path, _("Choose one of %(choices)s for %(field)s.", choices=choices, field=item.title()))
                return MISSING
            return raw
        value = normalise(item.kind, raw, from_payload=False)
        if isinstance(value, str) and (not value or len(value) > MAX_TEXT):
            self.problem(path, _("Enter between 1 and %(max)d characters.", max=MAX_TEXT))
            return MISSING
        if value is MISSING:
            self.problem(path, _value_message(item))
        return value


def read(condition: dict[str, Any] | None, fields: Mapping[str, Field]) -> tuple[Node | None, list[Problem]]:
    """The checked tree and no problems, or ``None`` and every problem found.

    ``None`` or ``{}`` is the empty condition: it always matches (a rule with no filter).
    """
    if condition is None or condition == {}:
        return ALWAYS, []
    reader = _Reader(fields)
    node = reader.node(condition, "", 1)
    if reader.problems:
        return None, reader.problems
    return node, []


def parse(condition: dict[str, Any] | None, fields: Mapping[str, Field]) -> Node:
    """The checked tree, or ``InvalidCondition`` with every problem."""
    node, problems = read(condition, fields)
    if node is None:
        raise InvalidCondition(problems)
    return node
