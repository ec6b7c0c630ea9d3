"""Who receives dispatched events: a registry of handlers on each app, like the job kinds.

A handler is ``f(events)`` taking one batch (a list of ``DomainEvent`` rows, in id order, not yet
stamped) inside the dispatcher's transaction: what it writes commits with the batch's
``dispatched_at`` stamps, and if it raises, neither does (the batch is dispatched again). The
automation engine registers itself here later; until then each app has only the logging handler,
which counts the batch by type at DEBUG level.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

EXTENSION = "coachdesk.event_handlers"
log = logging.getLogger(__name__)

HandlerFunction = Callable[[Sequence[Any]], None]


@dataclass(frozen=True)
class Handler:
    name: str
    func: HandlerFunction
    # Only these event types reach the handler (None: all).
    event_types: frozenset[str] | None = None

    def wants(self, event_type: str) -> bool:
        return self.event_types is None or event_type in self.event_types


def register_handler(
    app: Flask, name: str, func: HandlerFunction, *, event_types: Sequence[str] | None = None
) -> Handler:
    """Add (or replace, by name) a handler on ``app``; unknown event types are refused."""
    from app.services.events.catalogue import EVENT_TYPES

    wanted = frozenset(event_types) if event_types is not None else None
    unknown = (wanted or frozenset()) - EVENT_TYPES
    if unknown:
        raise ValueError(f"handler {name!r}: unknown event types {sorted(unknown)}")
    handler = Handler(name, func, wanted)
    app.extensions.setdefault(EXTENSION, {})[name] = handler
    return handler


def unregister_handler(app: Flask, name: str) -> None:
    app.extensions.get(EXTENSION, {}).pop(name, None)


def handlers(app: Flask | None = None) -> list[Handler]:
    """The handlers ``app`` (default: the current app) dispatches to, in registration order."""
    target = app if app is not None else current_app
    return list(target.extensions.get(EXTENSION, {}).values())


def log_batch(events: Sequence[Any]) -> None:
    """The placeholder handler: say what passed (types and counts only, never payloads)."""
    if events and log.isEnabledFor(logging.DEBUG):
        counts = Counter(e.event_type for e in events)
        log.debug("dispatched %s events: %s", len(events), dict(sorted(counts.items())))


def install(app: Flask) -> None:
    """Give ``app`` its handler registry with the logging handler (called by create_app)."""
    app.extensions.setdefault(EXTENSION, {})
    register_handler(app, "log", log_batch)
