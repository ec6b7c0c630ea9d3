"""Every enum value's translated label: what people read instead of the stored code (issue 17).

Lists, show pages, forms, filters, charts, the builder and exports meant for people call ``enum_label``;
CSV for machines keeps the codes. ``LABELS`` maps each member to a lazy message (``app.i18n._l``), so the
label is translated when it is shown, in the viewer's language. A member not listed falls back to its
code made readable ("ONE_ON_ONE" -> "One on one"); ``tests/test_enum_labels.py`` fails on such a member.
"""

from __future__ import annotations

import enum
from typing import Any

from app.i18n import _l

LABELS: dict[enum.Enum, Any] = {}
CODE_LABELS: dict[str, dict[str, Any]] = {}  # code set ("goal", "time_of_day", ...) -> code -> label


def register(enum_cls: type[enum.Enum], labels: dict[str, Any]) -> None:
    """Label every member of ``enum_cls``: ``labels`` maps member names to ``_l("...")`` messages."""
    for member in enum_cls:
        if member.name in labels:
            LABELS[member] = labels[member.name]


def register_codes(kind: str, labels: dict[str, Any]) -> None:
    """Label the codes of a set stored as plain text or JSON (a program's goal, a meal's time of day)."""
    CODE_LABELS.setdefault(kind, {}).update(labels)


def code_label(kind: str, code: Any) -> str:
    """A stored code's label: known codes by label, anything else (free text) as written."""
    if code is None:
        return ""
    label = CODE_LABELS.get(kind, {}).get(str(code))
    return str(label) if label is not None else str(code)


def any_code_label(code: Any) -> str:
    """A code of unknown set (a chart category, a JSON value): the first set that knows it, else as written."""
    for labels in CODE_LABELS.values():
        if str(code) in labels:
            return str(labels[str(code)])
    return str(code)


def label_of_code(code: Any) -> str:
    """A code whose set is not known (a JSON Schema's enum): a code set's label, an enum member's, or humanized."""
    text = str(code)
    for labels in CODE_LABELS.values():
        if text in labels:
            return str(labels[text])
    for member, label in LABELS.items():
        if member.value == text:
            return str(label)
    return humanize(text)


def humanize(code: str) -> str:
    """A code as words, for a member nobody labelled: "ONE_ON_ONE" -> "One on one"."""
    return code.replace("_", " ").strip().capitalize()


def enum_label(member: enum.Enum) -> str:
    """The member's label in the current language."""
    label = LABELS.get(member)
    return str(label) if label is not None else humanize(str(member.value))


def lazy_enum_label(member: enum.Enum) -> Any:
    """The member's label translated when shown, for lazy messages (``_l``) formatted in the reader's language."""
    label = LABELS.get(member)
    return label if label is not None else humanize(str(member.value))


def choices(enum_cls: type[enum.Enum]) -> list[tuple[str, str]]:
    """(code, label) pairs in declaration order, for selects and filters."""
    return [(str(member.value), enum_label(member)) for member in enum_cls]


def code_choices(kind: str) -> list[tuple[str, str]]:
    """(code, label) pairs of a code set, for selects."""
    return [(code, str(label)) for code, label in CODE_LABELS.get(kind, {}).items()]


__all__ = [
    "CODE_LABELS",
    "LABELS",
    "_l",
    "any_code_label",
    "choices",
    "code_choices",
    "code_label",
    "enum_label",
    "humanize",
    "label_of_code",
    "lazy_enum_label",
    "register",
    "register_codes",
]
