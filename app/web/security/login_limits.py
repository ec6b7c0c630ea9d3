"""Login rate limits (ASVS 6.1.1, 6.3.1) on top of FAB's per-IP ``AUTH_RATE_LIMIT``.

FAB limits ``POST /login/`` per client IP. We add a limit per username that
counts only failed attempts, so a password-spraying botnet is slowed per
account while the owner who types the right password is never locked out by
their own successful sign-ins. Both share Flask-Limiter's storage: Redis when
``REDIS_URL`` is set (every gunicorn process sees the same counters), memory
otherwise. A breach answers with a 429 page, never a 500.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Flask, current_app, render_template, request
from flask_limiter.util import get_remote_address
from flask_login import current_user
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from app.services.audit import auth_events


def rate_limit_storage_uri(redis_url: str | None) -> str:
    """Flask-Limiter's storage URI for a redis-py URL (``unix://`` becomes ``redis+unix://``)."""
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url


def configure_storage(config: Any) -> None:
    """Point Flask-Limiter at Redis when the app has one; an explicit setting wins."""
    if not config.get("RATELIMIT_STORAGE_URI"):
        config["RATELIMIT_STORAGE_URI"] = rate_limit_storage_uri(config.get("REDIS_URL"))


def trust_proxy_headers(app: Flask) -> None:
    """Behind ``TRUSTED_PROXY_HOPS`` proxies, take the client address (per-IP limits, audit) from them."""
    hops = int(app.config.get("TRUSTED_PROXY_HOPS") or 0)
    if hops > 0 and not isinstance(app.wsgi_app, ProxyFix):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)  # type: ignore[method-assign]


def username_key() -> str:
    """The limiter key for the account being tried: a digest, never the raw name.

    FAB accepts the username or the email; both count against the same account.
    """
    name = (request.form.get("username") or "").strip()
    if not name:
        return "ip:" + get_remote_address()
    sm = current_app.appbuilder.sm
    account = sm.find_user(username=name) or sm.find_user(email=name)
    if account is not None:
        return f"account:{account.id}"
    return "user:" + hashlib.sha256(name.lower().encode()).hexdigest()[:32]


def _login_failed(_response: Any) -> bool:
    return not current_user.is_authenticated


def install_login_limits(sm: Any) -> None:
    """Add the per-username limit to FAB's login view and the 429 page."""
    app = current_app._get_current_object()
    if sm.is_auth_limited:
        sm.limiter.limit(
            app.config.get("AUTH_USERNAME_RATE_LIMIT", "5 per minute"),
            key_func=username_key,
            methods=["POST"],
            deduct_when=_login_failed,
        )(sm.auth_view.blueprint)
    _register_429_page(app, sm)


def _register_429_page(app: Flask, sm: Any) -> None:
    login_endpoint = sm.auth_view.endpoint + ".login"

    def too_many_requests(error: TooManyRequests) -> Any:
        on_login = request.endpoint == login_endpoint
        if on_login:
            auth_events.record_auth_event(
                auth_events.LOGIN_RATE_LIMITED,
                attempted_name=request.form.get("username") if request.method == "POST" else None,
                ip=request.remote_addr,
                user_agent=request.user_agent.string,
                detail={"limit": str(getattr(error, "description", ""))},
            )
        body = render_template(
            "security/too_many_requests.html",
            base_template=sm.appbuilder.base_template,
            appbuilder=sm.appbuilder,
            on_login=on_login,
        )
        response = app.make_response((body, 429))
        retry_after = getattr(error, "retry_after", None)
        if retry_after and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = str(int(retry_after))
        return response

    app.register_error_handler(429, too_many_requests)
