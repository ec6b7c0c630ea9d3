"""A checked condition evaluated in Python against one payload, with an explanation of why.

The semantics (``to_sql`` compiles the same ones, and a property test holds the two together):

* A field's value is *missing* when its key is absent, it is ``None`` / NULL, or it is not of the
  field's kind. ``exists`` is true exactly when the value is not missing (``"value": false`` asks
  for the opposite).
* Every other comparison is **false on a missing value**, ``ne`` included: "amount is not 100"
  means "there is an amount, and it is not 100". So a comparison is always true or false, never
  unknown, and the groups are plain logic: ``not`` of a comparison on a missing value is true,
  ``all`` of nothing is true, ``any`` of nothing is false.
* ``contains`` on text ignores the case of A-Z only (as SQLite's ``lower()`` does), and on a list
  asks whether an element equals the value. Text ``eq``/``in`` are exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.i18n import service_gettext as _
from app.services.automation.condition_tree import Leaf, Node
from app.services.automation.condition_values import MISSING, ascii_lower, display, lookup, normalise

_SYMBOLS = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}


@dataclass(frozen=True)
class Explanation:
    """Whether a node matched, in words ("amount 120 > 100 ✓"), with its children's explanations."""

    matched: bool
    text: str
    children: tuple[Explanation, ...] = ()

    def lines(self, indent: str = "  ") -> list[str]:
        """The tree as indented lines, for logs and plain-text views."""
        out = [self.text]
        for child in self.children:
            out.extend(indent + line for line in child.lines(indent))
        return out

    def as_json(self) -> dict[str, Any]:
        """For the dry run's JSON: ``{"matched", "text", "children"}``."""
        return {"matched": self.matched, "text": str(self.text), "children": [c.as_json() for c in self.children]}


def leaf_holds(leaf: Leaf, actual: Any) -> bool:
    """One comparison on an already normalised payload value (``MISSING`` when there is none)."""
    op, expected = leaf.op, leaf.value
    if op == "exists":
        return (actual is not MISSING) is expected
    if actual is MISSING:
        return False
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if op == "gt":
        return bool(actual > expected)
    if op == "gte":
        return bool(actual >= expected)
    if op == "lt":
        return bool(actual < expected)
    if op == "lte":
        return bool(actual <= expected)
    if op == "in":
        return actual in expected
    if op == "contains":
        if leaf.field.kind == "list":
            return expected in actual
        return ascii_lower(expected) in ascii_lower(actual)
    raise ValueError(f"operator {op!r} is not allowed")


def _actual(leaf: Leaf, payload: Mapping[str, Any]) -> Any:
    return normalise(leaf.field.kind, lookup(payload, leaf.field.name))


def matches(node: Node, payload: Mapping[str, Any]) -> bool:
    """True when ``payload`` satisfies ``node`` (the fast path: no explanation built)."""
    if isinstance(node, Leaf):
        return leaf_holds(node, _actual(node, payload))
    if node.kind == "all":
        return all(matches(child, payload) for child in node.children)
    if node.kind == "any":
        return any(matches(child, payload) for child in node.children)
    return not matches(node.children[0], payload)


def _mark(matched: bool) -> str:
    return "✓" if matched else "✗"


def _leaf_text(leaf: Leaf, actual: Any, matched: bool) -> str:
    name = leaf.field.name
    shown = _("(missing)") if actual is MISSING else display(actual)
    if leaf.op == "exists":
        if leaf.value:
            return _("%(field)s %(actual)s is set %(mark)s", field=name, actual=shown, mark=_mark(matched))
        return _("%(field)s %(actual)s is not set %(mark)s", field=name, actual=shown, mark=_mark(matched))
    symbol = _SYMBOLS.get(leaf.op) or (_("in") if leaf.op == "in" else _("contains"))
    return _(
        "%(field)s %(actual)s %(op)s %(expected)s %(mark)s",
        field=name,
        actual=shown,
        op=symbol,
        expected=display(leaf.value),
        mark=_mark(matched),
    )


def explain(node: Node, payload: Mapping[str, Any]) -> Explanation:
    """``matches`` with the reason for every node (all children are evaluated, for the dry run)."""
    if isinstance(node, Leaf):
        actual = _actual(node, payload)
        matched = leaf_holds(node, actual)
        return Explanation(matched, _leaf_text(node, actual, matched))
    children = tuple(explain(child, payload) for child in node.children)
    met = sum(child.matched for child in children)
    if node.kind == "not":
        matched = not children[0].matched
        return Explanation(matched, _("not %(mark)s", mark=_mark(matched)), children)
    if node.kind == "all":
        matched = met == len(children)
        text = _("all of: %(met)d of %(count)d met %(mark)s", met=met, count=len(children), mark=_mark(matched))
    else:
        matched = met > 0
        text = _("any of: %(met)d of %(count)d met %(mark)s", met=met, count=len(children), mark=_mark(matched))
    return Explanation(matched, text, children)


__all__ = ["Explanation", "explain", "leaf_holds", "matches"]
