"""WEBHOOK: a signed JSON POST to an allow-listed host, with a timeout, never following a redirect.

The address is checked when the rule is saved and again each time it is called, because a
name's DNS answer may change: the host must be on ``AUTOMATION_WEBHOOK_HOSTS``, the scheme https,
the port 443 or 80, no credentials in the URL, and every address the name resolves to public
(not private, loopback, link-local, reserved or multicast). ``AUTOMATION_WEBHOOK_ALLOW_PRIVATE``
lifts the last three rules for a receiver inside the network (and for tests).

The request goes through ``http.client`` (what ``urllib.request`` uses underneath) to the very
address that was checked, with the host name kept for the Host header and TLS verification, so
no second DNS lookup can swap in another address between the check and the connection; and
``http.client`` never follows redirects: a 3xx is a permanent failure. Timeouts, connection
errors, 429 and 5xx are transient (the engine retries); other 4xx are permanent.

The body names the rule, the event (its payload carries ids and codes only, never names) and
the customer's id; ``X-Coachdesk-Signature`` is ``sha256=`` and the hex HMAC-SHA256 of the exact
body bytes with ``webhook_secret()``; ``X-Coachdesk-Delivery`` repeats ``ctx.delivery_id``, so a
receiver drops the repeat of a call made again after a crash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.services.automation.actions.base import (
    URL,
    ActionContext,
    ActionParam,
    ParamProblem,
    PermanentActionError,
    TransientActionError,
)
from app.services.automation.actions.common import CatalogueAction, load_customer

SIGNATURE_HEADER = "X-Coachdesk-Signature"
DELIVERY_HEADER = "X-Coachdesk-Delivery"
TIMESTAMP_HEADER = "X-Coachdesk-Timestamp"
BODY_KEYS = ("rule", "event", "customer_id", "delivery_id", "sent_at")
MAX_URL = 2000
MAX_RESPONSE = 64 * 1024  # read and dropped: only the status matters
_DERIVATION = b"coachdesk/automation/webhook-signing/v1"


def webhook_secret() -> bytes:
    """The signing secret: AUTOMATION_WEBHOOK_SECRET, else one derived from SECRET_KEY (never logged)."""
    configured = current_app.config.get("AUTOMATION_WEBHOOK_SECRET")
    if configured:
        return configured.encode() if isinstance(configured, str) else bytes(configured)
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else bytes(key)
    return hmac.new(key, _DERIVATION, hashlib.sha256).hexdigest().encode()


def sign(body: bytes, secret: bytes | None = None) -> str:
    """The signature header's value for ``body``."""
    digest = hmac.new(secret if secret is not None else webhook_secret(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent


def _allow_private() -> bool:
    return bool(current_app.config.get("AUTOMATION_WEBHOOK_ALLOW_PRIVATE", False))


def _allowed_hosts() -> set[str]:
    hosts = current_app.config.get("AUTOMATION_WEBHOOK_HOSTS") or []
    if isinstance(hosts, str):
        hosts = hosts.split(",")
    return {str(h).strip().lower().rstrip(".") for h in hosts if str(h).strip()}


def parse_target(url: str) -> Target:
    """The address's parts, checked without DNS: PermanentActionError with the reason when refused."""
    if len(url) > MAX_URL or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise PermanentActionError(_("The webhook address is not a valid web address."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise PermanentActionError(_("The webhook address is not a valid web address.")) from None
    allow_private = _allow_private()
    scheme = parts.scheme.lower()
    if scheme != "https" and not (allow_private and scheme == "http"):
        raise PermanentActionError(_("The webhook address must start with https://."))
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise PermanentActionError(_("The webhook address must not contain a user name or password."))
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise PermanentActionError(_("The webhook address names no host."))
    if not host.isascii():
        raise PermanentActionError(_("Write the webhook host in its ASCII (xn--) form."))
    if port is not None and port not in (80, 443) and not allow_private:
        raise PermanentActionError(_("A webhook may only use port 443 (or 80)."))
    if host not in _allowed_hosts():
        raise PermanentActionError(
            _("The host %(host)s is not on the webhook allow-list (AUTOMATION_WEBHOOK_HOSTS).", host=host[:255])
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port or (443 if scheme == "https" else 80), path)


def resolve(target: Target) -> list[str]:
    """Every address the host resolves to, each checked; TransientActionError when DNS does not answer."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise TransientActionError(_("The webhook host %(host)s could not be resolved.", host=target.host)) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise TransientActionError(_("The webhook host %(host)s could not be resolved.", host=target.host))
    if not _allow_private():
        for address in addresses:
            if not is_public(address):
                raise PermanentActionError(
                    _(
                        "The webhook host %(host)s resolves to a private or reserved address (%(address)s).",
                        host=target.host,
                        address=address,
                    )
                )
    return addresses


def is_public(address: str) -> bool:
    """A globally routable unicast address (an IPv4-mapped IPv6 address is judged by its IPv4 part)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_private or ip.is_reserved or ip.is_link_local)


def body_of(ctx: ActionContext, customer_id: Any, sent_at: dt.datetime) -> bytes:
    """The exact bytes sent and signed."""
    document = {
        "rule": {"id": ctx.rule_id, "name": ctx.rule_name, "version": ctx.rule_version},
        "event": {"type": ctx.event_type, "id": ctx.event_id, "payload": dict(ctx.payload)},
        "customer_id": str(customer_id) if customer_id is not None else None,
        "delivery_id": ctx.delivery_id,
        "sent_at": sent_at.isoformat(),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False).encode()


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address; the Host header still names the host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """TLS to the checked address, the certificate verified against the host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def _post(target: Target, address: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    conn = kind(target.host, target.port, address, timeout)
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(MAX_RESPONSE)
        return response.status
    finally:
        conn.close()


def deliver(
    target: Target, addresses: list[str], body: bytes, *, timeout: float, delivery_id: str, sent_at: dt.datetime
) -> int:
    """POST ``body`` signed, trying each checked address until one connects; the HTTP status."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Coachdesk-Automation/1",
        DELIVERY_HEADER: delivery_id,
        SIGNATURE_HEADER: sign(body),
        TIMESTAMP_HEADER: str(int(sent_at.timestamp())),
    }
    refused: OSError | None = None
    for address in addresses:
        try:
            return _post(target, address, body, headers, timeout)
        except ssl.SSLCertVerificationError:
            raise PermanentActionError(
                _("The webhook host %(host)s presented a certificate that does not verify.", host=target.host)
            ) from None
        except TimeoutError:
            raise TransientActionError(
                _("The webhook did not answer within %(seconds)s seconds.", seconds=f"{timeout:g}")
            ) from None
        except ConnectionRefusedError as error:
            refused = error
        except (OSError, http.client.HTTPException):
            raise TransientActionError(
                _("The connection to the webhook host %(host)s failed.", host=target.host)
            ) from None
    raise TransientActionError(_("The webhook host %(host)s refused the connection.", host=target.host)) from refused


class Webhook(CatalogueAction):
    name = "WEBHOOK"
    label = _l("Call a webhook")
    description = _l(
        "Posts the rule, the event and the customer's id as signed JSON (HMAC-SHA256) to an allow-listed "
        "https address, with a timeout. Redirects are not followed."
    )
    params = (
        ActionParam(
            "url", URL, _l("Address"), max_length=MAX_URL, help=_l("An https:// address on an allow-listed host.")
        ),
    )
    external = True

    def check_values(self, values: Mapping[str, Any], db: Session | None) -> list[ParamProblem]:
        url = values.get("url")
        if not isinstance(url, str):
            return []
        try:
            resolve(parse_target(url))
        except (PermanentActionError, TransientActionError) as error:
            return [ParamProblem("url", error.args[0])]
        return []

    def _target(self, params: Mapping[str, Any]) -> Target:
        url = self.values(params).get("url")
        if not isinstance(url, str):
            raise PermanentActionError(_("The rule gives no webhook address."))
        return parse_target(url)

    def preview(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        target = self._target(params)
        if ctx.customer_id is not None:
            load_customer(db, ctx)
        return _("POST to %(host)s, signed JSON with %(keys)s.", host=target.host, keys=", ".join(BODY_KEYS))

    def perform(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        target = self._target(params)
        customer = load_customer(db, ctx) if ctx.customer_id is not None else None
        addresses = resolve(target)
        sent_at = dt.datetime.now(dt.UTC)
        body = body_of(ctx, customer.id if customer is not None else None, sent_at)
        timeout = float(current_app.config.get("AUTOMATION_WEBHOOK_TIMEOUT", 5))
        status = deliver(target, addresses, body, timeout=timeout, delivery_id=ctx.delivery_id, sent_at=sent_at)
        if 200 <= status < 300:
            return _("HTTP %(status)s", status=status)
        if 300 <= status < 400:
            raise PermanentActionError(
                _("The webhook answered with a redirect (HTTP %(status)s), which is not followed.", status=status)
            )
        if status == 429 or status >= 500:
            raise TransientActionError(_("The webhook answered HTTP %(status)s.", status=status))
        raise PermanentActionError(_("The webhook refused the call: HTTP %(status)s.", status=status))


WEBHOOK = Webhook()
