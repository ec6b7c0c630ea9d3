"""Who and where an audit row is attributed to.

A job or the CLI names its actor with ``acting_as``; a console request's actor, IP and
agent come from the provider the web layer puts on the app (``set_context_provider``),
so services never read the request and each app has its own.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, has_app_context

PROVIDER_KEY = "coachdesk.audit_context"

ContextProvider = Callable[[], "AuditContext | None"]


@dataclass
class AuditContext:
    actor_id: uuid.UUID | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_override: ContextVar[AuditContext | None] = ContextVar("audit_override", default=None)


def set_context_provider(app: Flask, provider: ContextProvider) -> None:
    """The web layer supplies who/where for ``app``'s requests."""
    app.extensions[PROVIDER_KEY] = provider


@contextlib.contextmanager
def acting_as(context: AuditContext) -> Iterator[None]:
    """Attribute every audit row written inside the block to ``context`` (jobs, CLI)."""
    token = _override.set(context)
    try:
        yield
    finally:
        _override.reset(token)


def current_context() -> AuditContext:
    ctx = _override.get()
    if ctx is None and has_app_context():
        provider = current_app.extensions.get(PROVIDER_KEY)
        if provider is not None:
            ctx = provider()
    return ctx or AuditContext()
