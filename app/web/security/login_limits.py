"""Sign-in limits (ASVS 6.1.1, 6.3.1) that slow attackers without locking owners out.

* FAB limits every ``POST /login/`` per client address (``AUTH_RATE_LIMIT``).
* Failures are counted per account *and* source address (``AUTH_USERNAME_RATE_LIMIT``):
  the address that guessed wrong five times waits, while the owner signing in from
  anywhere else is served. A correct password never uses up a budget.
* An account that fails from many addresses (``AUTH_ACCOUNT_ATTACK_LIMIT``) is under
  attack: each attempt from an address that has already failed on it is slowed by
  ``AUTH_SLOWDOWN_SECONDS`` before the password is checked; a clean address is not.
* At most ``AUTH_MAX_CONCURRENT_HASHES`` password checks run at once per process (each
  scrypt hash costs 128 MiB); past that a sign-in is told to retry, so a flood cannot
  exhaust memory.

Counters share Flask-Limiter's storage: Redis when ``REDIS_URL`` is set (every gunicorn
process sees the same counters), memory otherwise. A breach answers with the 429 page.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, render_template, request
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import RateLimitItem
from limits import parse as parse_limit
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.security import check_password_hash

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
        return account_key(account.id)
    return "user:" + hashlib.sha256(name.lower().encode()).hexdigest()[:32]


def account_key(account_id: int) -> str:
    """The limiter key of a known account, however it was named."""
    return f"account:{account_id}"


PAIR = "login-failures"
ACCOUNT = "login-failures-account"


@dataclass
class LoginGuard:
    """The per-app sign-in limits: strategy and limits read once from the config."""

    limiter: MovingWindowRateLimiter
    pair_limit: RateLimitItem
    account_limit: RateLimitItem
    slowdown: float

    def source_failures(self, account: str, source: str) -> int:
        """Failures of ``source`` on ``account`` inside the pair window."""
        stats = self.limiter.get_window_stats(self.pair_limit, PAIR, account, source)
        return self.pair_limit.amount - stats.remaining

    def blocked(self, account: str, source: str) -> float | None:
        """Seconds to wait when ``source`` has used up its failures on ``account``, else None."""
        if self.limiter.test(self.pair_limit, PAIR, account, source):
            return None
        reset = self.limiter.get_window_stats(self.pair_limit, PAIR, account, source).reset_time
        return max(1.0, reset - time.time())

    def delay(self, account: str, source: str) -> float:
        """How long to hold this attempt: only a source that failed before, on an account under attack."""
        if self.slowdown <= 0 or self.source_failures(account, source) == 0:
            return 0.0
        under_attack = not self.limiter.test(self.account_limit, ACCOUNT, account)
        return self.slowdown if under_attack else 0.0

    def failed(self, account: str, source: str) -> None:
        self.limiter.hit(self.pair_limit, PAIR, account, source)
        self.limiter.hit(self.account_limit, ACCOUNT, account)


def guard_for(app: Flask, sm: Any) -> LoginGuard:
    config = app.config
    return LoginGuard(
        limiter=MovingWindowRateLimiter(sm.limiter.storage),
        pair_limit=parse_limit(config.get("AUTH_USERNAME_RATE_LIMIT", "5 per minute")),
        account_limit=parse_limit(config.get("AUTH_ACCOUNT_ATTACK_LIMIT", "20 per 10 minutes")),
        slowdown=float(config.get("AUTH_SLOWDOWN_SECONDS", 2.0)),
    )


@dataclass
class HashingSlots:
    """A cap on password checks running at once in this process (each scrypt hash takes 128 MiB)."""

    slots: threading.BoundedSemaphore
    wait: float

    @classmethod
    def from_config(cls, config: Any) -> HashingSlots:
        slots = int(config.get("AUTH_MAX_CONCURRENT_HASHES", 2))
        return cls(threading.BoundedSemaphore(slots), float(config.get("AUTH_HASH_WAIT_SECONDS", 10.0)))


@contextmanager
def hashing_slot() -> Iterator[None]:
    """Hold one of the process's password-hashing slots while a password is checked; 429 when none frees up."""
    hashing: HashingSlots | None = current_app.extensions.get("coachdesk.password_hashing")
    if hashing is None:
        yield
        return
    if not hashing.slots.acquire(timeout=hashing.wait):
        raise TooManyRequests(description="password checks busy", retry_after=5)
    try:
        yield
    finally:
        hashing.slots.release()


def check_own_password(sm: Any, user: Any, password: str) -> bool:
    """Check a signed-in person's password again (to change it) under the sign-in limits.

    The current-password field is a password oracle like the login form: a wrong one counts
    as a failed sign-in of the account from this address (limiter, ``fail_login_count`` and a
    ``login_failed`` auth event), and an address out of attempts gets the 429 page.
    """
    guard: LoginGuard | None = current_app.extensions.get("coachdesk.login_guard")
    account, source = account_key(user.id), get_remote_address()
    if guard is not None:
        wait = guard.blocked(account, source)
        if wait is not None:
            raise TooManyRequests(description=str(guard.pair_limit), retry_after=int(wait) + 1)
        time.sleep(guard.delay(account, source))
    with hashing_slot():
        correct = bool(user.password) and check_password_hash(user.password, password)
    if not correct:
        if guard is not None:
            guard.failed(account, source)
        sm.update_user_auth_stat(user, False)
    return correct


def install_login_limits(sm: Any) -> None:
    """Count failed sign-ins per account and source on FAB's login view, and serve the 429 page."""
    app = current_app._get_current_object()
    login_endpoint = sm.auth_view.endpoint + ".login"
    app.extensions["coachdesk.password_hashing"] = HashingSlots.from_config(app.config)
    if sm.is_auth_limited and app.config.get("RATELIMIT_ENABLED", True):
        guard = guard_for(app, sm)
        app.extensions["coachdesk.login_guard"] = guard

        @app.before_request
        def _before_sign_in() -> None:
            if request.endpoint != login_endpoint or request.method != "POST":
                return
            account, source = username_key(), get_remote_address()
            wait = guard.blocked(account, source)
            if wait is not None:
                raise TooManyRequests(description=str(guard.pair_limit), retry_after=int(wait) + 1)
            time.sleep(guard.delay(account, source))

        @app.after_request
        def _after_sign_in(response: Any) -> Any:
            signing_in = request.endpoint == login_endpoint and request.method == "POST"
            if signing_in and response.status_code < 400 and not current_user.is_authenticated:
                guard.failed(username_key(), get_remote_address())
            return response

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
