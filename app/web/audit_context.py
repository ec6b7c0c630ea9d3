"""Who and where, for audit rows written during a console request: the app's audit context provider.

The address is the one the trusted proxies yield: ``request.remote_addr`` after the app's
ProxyFix (installed only when ``TRUSTED_PROXY_HOPS`` > 0), never a raw ``X-Forwarded-For``.
"""

from __future__ import annotations

from flask import Flask, g, has_request_context, request

from app.services.audit.context import AuditContext, inert_text, set_context_provider, valid_ip


def client_address() -> str | None:
    """The client's IP as the trusted proxies give it; the socket peer when that is not an IP; else None."""
    found = valid_ip(request.remote_addr)
    if found is None:
        original = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR")
        found = valid_ip(original)
    return found


def client_agent() -> str | None:
    return inert_text(request.user_agent.string)


def request_audit_context() -> AuditContext | None:
    """The signed-in account's platform user, the client's address and its user agent."""
    if not has_request_context():
        return None
    api_context = g.get("api_audit_context")  # an API request: its client (app.web.api.auth)
    if api_context is not None:
        return api_context
    user = getattr(g, "user", None)
    actor = getattr(user, "platform_user_id", None) if user is not None and user.is_authenticated else None
    return AuditContext(actor_id=actor, ip_address=client_address(), user_agent=client_agent())


def install_audit_context(app: Flask) -> None:
    set_context_provider(app, request_audit_context)
