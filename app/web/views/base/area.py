"""``register_area``: an area module's views under one translated menu category."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def register_area(
    appbuilder: Any, category: str, category_label: Any, category_icon: str, entries: Sequence[tuple]
) -> None:
    """Add an area's views under one translated menu category: entries are (view, name, label, icon)."""
    for view, name, label, icon in entries:
        appbuilder.add_view(
            view,
            name,
            label=label,
            icon=icon,
            category=category,
            category_label=category_label,
            category_icon=category_icon,
        )
