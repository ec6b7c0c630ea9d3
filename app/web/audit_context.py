"""Who and where, for audit rows written during a console request: the app's audit context provider."""

from __future__ import annotations

from flask import Flask, g, has_request_context, request

from app.services.audit.context import AuditContext, set_context_provider


def request_audit_context() -> AuditContext | None:
    """The signed-in account's platform user, the client's address and its user agent."""
    if not has_request_context():
        return None
    user = getattr(g, "user", None)
    actor = getattr(user, "platform_user_id", None) if user is not None and user.is_authenticated else None
    forwarded = request.access_route[0] if request.access_route else request.remote_addr
    return AuditContext(
        actor_id=actor, ip_address=(forwarded or "")[:64] or None, user_agent=request.user_agent.string[:300] or None
    )


def install_audit_context(app: Flask) -> None:
    set_context_provider(app, request_audit_context)
