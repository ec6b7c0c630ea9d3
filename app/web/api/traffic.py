"""What hangs on every ``/api/v1`` request besides its view: a request id, the rate limits, the access log.

Order on a request: ``_start`` runs before every other hook (the clock and the request id), then
the API limiter (per client once the key is known, per address before), then the view; on the
way out the access log records the response and the limiter's headers are finished last.

Rate limits (Flask-Limiter, its own ``Limiter`` on the same storage as the sign-in limits: Redis
when the app has one, see ``app.web.security.login_limits.configure_storage``):

* an authenticated client gets ``rate_limit`` requests a minute, one budget across every
  operation and every web process (the counter lives in Redis);
* a request without a valid key gets ``API_ANONYMOUS_RATE_LIMIT`` per address, so guessing keys
  is slow;
* the public ``openapi.json`` and docs are not limited.

The window is a *moving* one (the strategy the sign-in limits use): no double burst across a
minute boundary, and a breach is exact, at the cost of one Redis list entry per request in the
window. ``API_RATELIMIT_STRATEGY`` can switch to ``fixed-window`` (one counter) if that cost shows.
A 429 is a problem document with ``Retry-After``; every limited response carries ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset`` (seconds until the window frees a request, as the
IETF draft has it; Flask-Limiter's own value, a Unix time, is converted).

If Redis is unreachable the limiter fails *open to memory*: it counts in each process until Redis
answers again (``in_memory_fallback_enabled``), and never turns a limiter error into a 500
(``swallow_errors``). Limits exist to share capacity fairly, not to authorize: the key is still
checked against the database on every request, so a Redis outage should not become an API outage,
and per-process counting still throttles key guessing.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import re
import time
import uuid

from flask import Flask, current_app, g, request
from flask.globals import request_ctx
from flask_babel import gettext as _
from flask_limiter import HeaderNames, Limiter
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from app.extensions import db
from app.services.api_clients.access_log import AccessLogWriter, AccessRecord
from app.web.api.auth import current_principal
from app.web.api.blueprint import api_bp, is_api_request
from app.web.api.problems import from_http_exception
from app.web.api.registry import OPERATIONS

LIMITER_KEY = "coachdesk.api_limiter"
WRITER_KEY = "coachdesk.api_access_log"
REQUEST_ID_HEADER = "X-Request-ID"
NO_ROUTE = "(no route)"  # a 404's raw path could carry ids or typos; the log keeps URL rules only
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,36}$")
HEADERS = {
    HeaderNames.LIMIT: "RateLimit-Limit",
    HeaderNames.REMAINING: "RateLimit-Remaining",
    HeaderNames.RESET: "RateLimit-Reset",
    HeaderNames.RETRY_AFTER: "Retry-After",
}


@api_bp.errorhandler(429)
def _too_many_requests(error: HTTPException) -> Response:
    """A 429 under /api/v1 is a problem document (the console's 429 page is registered for the whole app)."""
    return from_http_exception(error)


def _limited() -> bool:
    """Only the declared operations are limited (not openapi.json or the docs)."""
    endpoint = request.endpoint or ""
    prefix = api_bp.name + "."
    if not endpoint.startswith(prefix):
        return False
    return endpoint[len(prefix) :] in current_app.extensions.get("coachdesk.api_operations", frozenset())


def _client_limit() -> str:
    principal = current_principal() if _limited() else None
    return f"{principal.rate_limit} per minute" if principal is not None else "1 per minute"


def _client_key() -> str:
    principal = current_principal()
    return f"client:{principal.client_id}" if principal is not None else "client:none"


def _anonymous_key() -> str:
    return "ip:" + get_remote_address()


def _anonymous_limit() -> str:
    return str(current_app.config.get("API_ANONYMOUS_RATE_LIMIT", "30 per minute"))


def _client_message() -> str:
    principal = current_principal()
    limit = principal.rate_limit if principal is not None else 0
    return _("This API client may make %(limit)s requests a minute; wait for Retry-After seconds.", limit=limit)


def _anonymous_message() -> str:
    return _("Too many requests without a valid API key from this address; wait for Retry-After seconds.")


def install_limits(app: Flask) -> None:
    config = app.config
    limiter = Limiter(
        key_func=_anonymous_key,
        storage_uri=config.get("RATELIMIT_STORAGE_URI") or "memory://",
        storage_options={"socket_connect_timeout": 1, "socket_timeout": 1},
        strategy=config.get("API_RATELIMIT_STRATEGY", "moving-window"),
        key_prefix=f"{config.get('RATELIMIT_KEY_PREFIX') or 'coachdesk-limits'}-api",
        headers_enabled=True,
        header_name_mapping=HEADERS,
        swallow_errors=True,
        in_memory_fallback_enabled=True,
    )
    limiter.shared_limit(
        _client_limit,
        scope="api-client",
        key_func=_client_key,
        exempt_when=lambda: not _limited() or current_principal() is None,
        error_message=_client_message,
    )(api_bp)
    limiter.shared_limit(
        _anonymous_limit,
        scope="api-anonymous",
        key_func=_anonymous_key,
        exempt_when=lambda: not _limited() or current_principal() is not None,
        error_message=_anonymous_message,
    )(api_bp)
    limiter.init_app(app)
    app.extensions[LIMITER_KEY] = limiter
    # After-request hooks run last-registered first: put this one first so it runs after the limiter's.
    app.after_request_funcs.setdefault(None, []).insert(0, _reset_as_seconds)


def _reset_as_seconds(response: Response) -> Response:
    """RateLimit-Reset as seconds to wait; Retry-After only where it means something (a 429)."""
    if not is_api_request():
        return response
    if response.status_code != 429:
        response.headers.pop("Retry-After", None)
    elif response.headers.get("Retry-After", "1").isdigit() and int(response.headers["Retry-After"]) < 1:
        response.headers["Retry-After"] = "1"  # the window frees a request within the second: never say 0
    reset = response.headers.get("RateLimit-Reset")
    if reset is not None:
        with contextlib.suppress(ValueError):
            response.headers["RateLimit-Reset"] = str(max(0, int(float(reset) - time.time())))
    return response


def _rule() -> str:
    """The URL rule the request hit; for a 405, the rule of the path under one of its allowed methods."""
    if request.url_rule is not None:
        return request.url_rule.rule
    methods = getattr(request.routing_exception, "valid_methods", None)
    adapter = request_ctx.url_adapter
    if methods and adapter is not None:
        with contextlib.suppress(HTTPException):
            rule, _args = adapter.match(request.path, method=methods[0], return_rule=True)
            return rule.rule
    return NO_ROUTE


def _start() -> None:
    if not is_api_request():
        return
    g.api_started = time.perf_counter()
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.api_request_id = given if _REQUEST_ID.match(given) else str(uuid.uuid4())


def _finish(response: Response) -> Response:
    if not is_api_request():
        return response
    request_id = g.get("api_request_id") or str(uuid.uuid4())
    response.headers[REQUEST_ID_HEADER] = request_id
    writer: AccessLogWriter | None = current_app.extensions.get(WRITER_KEY)
    # Only a request with a valid key has a client; one refused by routing (404, 405) is checked here.
    principal = current_principal() if writer is not None else None
    if writer is not None and principal is not None:
        started = g.get("api_started")
        latency = int((time.perf_counter() - started) * 1000) if started is not None else 0
        rule = _rule()
        writer.record(
            AccessRecord(
                client_id=principal.client_id,
                endpoint=rule[:300],
                method=request.method[:7],
                status_code=min(max(response.status_code, 100), 599),
                latency_ms=max(latency, 0),
                occurred_at=dt.datetime.now(dt.UTC),
                request_id=request_id,
            )
        )
    return response


def install_access_log(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, _start)  # first: time the limiter too
    app.after_request(_finish)
    if not app.config.get("API_ACCESS_LOG_ENABLED", True):
        return
    with app.app_context():
        engine = db.engine
    writer = AccessLogWriter(
        engine,
        batch_size=int(app.config.get("API_ACCESS_LOG_BATCH", 500)),
        interval=float(app.config.get("API_ACCESS_LOG_INTERVAL", 1.0)),
    )
    app.extensions[WRITER_KEY] = writer
    atexit.register(writer.close)


def flush_access_log(app: Flask) -> int:
    """Write the buffered rows now (tests, a gunicorn ``worker_exit`` hook)."""
    writer: AccessLogWriter | None = app.extensions.get(WRITER_KEY)
    return writer.flush() if writer is not None else 0


def install_traffic(app: Flask) -> None:
    """Request ids, rate limits and the access log on the API; call after the blueprint is registered."""
    app.extensions["coachdesk.api_operations"] = frozenset(op.endpoint for op in OPERATIONS)
    install_access_log(app)
    install_limits(app)
