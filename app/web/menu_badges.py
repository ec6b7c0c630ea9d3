"""Counts beside menu entries: the inbox's unread messages, so a coach or the desk sees new mail from any page.

A badge is shown only to people who may open the entry (``can_read`` on its view) and only when the count is
not zero; the count is the service's, row-scoped like the page it links to. Computed at most once per request,
and never allowed to break a page: a database error leaves the menu without badges.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy.exc import SQLAlchemyError

from app.policy.scope import Actor
from app.services.engagement import inbox

log = logging.getLogger(__name__)

# Menu item name -> (the view whose can_read shows the badge, the count for the signed-in actor).
BADGES: dict[str, tuple[str, Callable[[Actor], int]]] = {"Inbox": ("Inbox", inbox.unread_total)}


def menu_badges() -> dict[str, int]:
    """Non-zero counts by menu item name, for the signed-in person."""
    cached: dict[str, int] | None = g.get("_cd_menu_badges")
    if cached is not None:
        return cached
    cached = {}
    user = getattr(g, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        sm = current_app.appbuilder.sm  # type: ignore[attr-defined]
        for item, (view, count) in BADGES.items():
            if not sm.has_access("can_read", view):
                continue
            try:
                number = count(Actor.of(user))
            except SQLAlchemyError:
                log.warning("menu badge %s skipped: the database did not answer", item, exc_info=True)
                continue
            if number:
                cached[item] = number
    g._cd_menu_badges = cached
    return cached


def group_badge(group: Any) -> int:
    """The sum of a menu group's badges, shown on the closed dropdown."""
    badges = menu_badges()
    return sum(badges.get(child.name, 0) for child in (group.childs or []) if child)


def install(app: Flask) -> None:
    @app.context_processor
    def _menu_badges() -> dict[str, Any]:
        return {"menu_badges": menu_badges, "menu_group_badge": group_badge}
