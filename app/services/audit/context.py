"""Who and where an audit row is attributed to.

A job or the CLI names its actor with ``acting_as``; a console request's actor, IP and
agent come from the provider the web layer puts on the app (``set_context_provider``),
so services never read the request and each app has its own.
"""

from __future__ import annotations

import contextlib
import ipaddress
import unicodedata
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


USER_AGENT_MAX = 300


def valid_ip(value: str | None) -> str | None:
    """``value`` as a normalised IPv4/IPv6 address, or None when it is anything else.

    The trail stores only what the trusted proxies (or the socket) yield; a header such as
    ``=HYPERLINK(...)`` is not an address and is never written."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def inert_text(value: str | None, limit: int = USER_AGENT_MAX) -> str | None:
    """Client-supplied text (a user agent) as plain, bounded text: control and format characters
    (newlines, NUL, bidi overrides) become spaces, runs of spaces one."""
    if not value:
        return None
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in value)
    return " ".join(cleaned.split())[:limit] or None


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
