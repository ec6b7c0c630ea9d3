"""A checked condition as one readable sentence for the rule list and the editor's summary.

"status is Paused and amount greater than 100 EUR": field labels, choice labels and units come
from the trigger's ``Field`` descriptions (lazy strings, rendered in the current language when
the sentence is built); groups inside groups are bracketed so the sentence reads unambiguously.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.i18n import service_gettext as _
from app.services.automation.condition_tree import Field, Leaf, Node, operator_word
from app.services.automation.condition_values import display


def _value(item: Field, value: Any) -> str:
    if item.kind == "enum":
        return item.choice_title(value)
    if item.kind == "boolean":
        return _("yes") if value else _("no")
    if item.kind in ("text", "list"):
        return f"“{value}”"
    text = display(value)
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M UTC")
    return f"{text} {item.unit}" if item.unit and item.kind in ("number", "integer") else text


def _date_word(op: str) -> str:
    words = {"gt": _("after"), "gte": _("on or after"), "lt": _("before"), "lte": _("on or before")}
    return words.get(op) or operator_word(op)


def _leaf(leaf: Leaf) -> str:
    item = leaf.field
    if leaf.op == "exists":
        if leaf.value:
            return _("%(field)s is set", field=item.title())
        return _("%(field)s is not set", field=item.title())
    word = _date_word(leaf.op) if item.kind in ("date", "datetime") else operator_word(leaf.op)
    values = leaf.value if leaf.op == "in" else (leaf.value,)
    shown = ", ".join(_value(item, v) for v in values)
    return _("%(field)s %(op)s %(value)s", field=item.title(), op=word, value=shown)


def sentence(node: Node, *, nested: bool = False) -> str:
    """The condition in words; ``nested`` brackets a multi-part group."""
    if isinstance(node, Leaf):
        return _leaf(node)
    if not node.children:
        return _("always")
    if node.kind == "not":
        return _("not (%(condition)s)", condition=sentence(node.children[0]))
    parts = [sentence(child, nested=True) for child in node.children]
    if len(parts) == 1:
        return parts[0]
    joiner = _(" and ") if node.kind == "all" else _(" or ")
    text = joiner.join(parts)
    return f"({text})" if nested else text
