"""API client lifecycle: create, rotate, suspend, reactivate, revoke.

The one place that changes a client's key columns: the console and ``flask api-clients`` both
call here, so the rules hold whichever door is used. Each function changes rows in the caller's
session and flushes; the caller commits. Row changes are audited by the ORM hooks (the hash
columns are marked secret, so they are never copied into the trail); each step also appends one
``api_client.<step>`` audit event with the intent and writes a structured ``coachdesk.auth`` log
line. A key is returned once, by ``create`` and ``rotate``, and never stored.

Rules: a client acts for at most one subject; a coach subject must hold the COACH role and may only
get scopes the console's Coach role grants (``app.policy.roles``); a customer subject must hold the
CUSTOMER role. Revocation is final. Rotation keeps the previous key valid for an overlap window
(``DEFAULT_OVERLAP``, 0 allowed); a second rotation inside the window drops the older key at once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.models.automation import APIClient, ClientStatus
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole
from app.policy import roles
from app.services.api_clients import keys
from app.services.api_clients.scopes import SCOPES, ScopeError, format_scopes, parse_scopes
from app.services.audit import chain as audit

log = logging.getLogger("coachdesk.auth")

DEFAULT_OVERLAP = dt.timedelta(hours=24)
MAX_OVERLAP = dt.timedelta(days=30)
DEFAULT_RATE_LIMIT = 60
MAX_RATE_LIMIT = 100_000
NAME_MAX = 100


class ClientRefused(ValueError):
    """A lifecycle step refused; ``str()`` is the (translated) reason, meant for the person asking."""

    def __init__(self, message: object, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class IssuedClientKey:
    """A client and its new key: the only moment the key exists outside the caller's hands."""

    client: APIClient
    key: str


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def coach_scopes() -> frozenset[str]:
    """The scopes a coach subject may hold: those whose resource the Coach role may read (or write)."""
    allowed = set()
    for scope, (resource, write, _label) in SCOPES.items():
        if roles.allowed(roles.COACH, resource, roles.WRITE if write else roles.READ):
            allowed.add(scope)
    return frozenset(allowed)


def check_scopes(scopes: str | Iterable[str], coach: PlatformUser | None = None) -> frozenset[str]:
    """The scopes, validated against the catalogue (and the Coach role's grants for a coach subject)."""
    text = scopes if isinstance(scopes, str) else " ".join(scopes)
    try:
        names = parse_scopes(text)
    except ScopeError as exc:
        raise ClientRefused(_l("Unknown scopes: %(names)s.", names=str(exc)), "scopes") from None
    if not names:
        raise ClientRefused(_l("Give the client at least one scope."), "scopes")
    if coach is not None:
        beyond = sorted(names - coach_scopes())
        if beyond:
            raise ClientRefused(
                _l("A client acting for a coach cannot have: %(names)s.", names=", ".join(beyond)), "scopes"
            )
    return names


def check_rate_limit(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RATE_LIMIT:
        raise ClientRefused(
            _l("The rate limit must be a whole number from 1 to %(max)s requests a minute.", max=MAX_RATE_LIMIT),
            "rate_limit",
        )
    return value


def _check_name(session: Session, name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX or any(ord(ch) < 32 for ch in name):
        raise ClientRefused(_l("Give the client a name of 1 to %(max)s characters.", max=NAME_MAX), "name")
    if session.scalar(sa.select(APIClient.id).where(APIClient.name == name)) is not None:
        raise ClientRefused(_l("An API client named %(name)s already exists.", name=name), "name")
    return name


def _holds(session: Session, user: PlatformUser, role: RoleCode) -> bool:
    query = (
        sa.select(UserRole.user_id)
        .join(PlatformRole, PlatformRole.id == UserRole.role_id)
        .where(UserRole.user_id == user.id, PlatformRole.code == role)
    )
    return session.scalar(query) is not None


def _check_subject(session: Session, user: PlatformUser | None, role: RoleCode, field: str) -> None:
    if user is None:
        return
    if not _holds(session, user, role):
        message = (
            _l("%(who)s is not a coach.", who=user.email)
            if role == RoleCode.COACH
            else _l("%(who)s is not a customer.", who=user.email)
        )
        raise ClientRefused(message, field)


def find_subject(session: Session, email: str, role: RoleCode) -> PlatformUser:
    """The platform user with this email holding ``role`` (for the CLI's ``--coach``/``--customer``)."""
    user = session.scalar(sa.select(PlatformUser).where(sa.func.lower(PlatformUser.email) == email.strip().lower()))
    field = "coach" if role == RoleCode.COACH else "customer"
    if user is None:
        raise ClientRefused(_l("No platform user with the email %(email)s.", email=email.strip()[:320]), field)
    _check_subject(session, user, role, field)
    return user


def _event(action: str, client: APIClient, **metadata: object) -> None:
    details = {"client": client.name, "key_prefix": client.key_prefix, **metadata}
    audit.record(f"api_client.{action}", "api_clients", client.id, details)
    log.info(json.dumps({"event": f"api_client_{action}", "client_id": client.id, **details}, default=str))


def create(
    session: Session,
    *,
    name: str,
    scopes: str | Iterable[str],
    rate_limit: int = DEFAULT_RATE_LIMIT,
    coach: PlatformUser | None = None,
    customer: PlatformUser | None = None,
    expires_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> IssuedClientKey:
    """A new active client and its key (returned once)."""
    name = _check_name(session, name)
    if coach is not None and customer is not None:
        raise ClientRefused(_l("A client acts for one coach or one customer, not both."), "customer")
    _check_subject(session, coach, RoleCode.COACH, "coach")
    _check_subject(session, customer, RoleCode.CUSTOMER, "customer")
    names = check_scopes(scopes, coach)
    check_rate_limit(rate_limit)
    if expires_at is not None:
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=dt.UTC)
        if expires_at <= _now(now):
            raise ClientRefused(_l("The expiry must lie in the future."), "expires_at")
    issued = keys.issue_key()
    client = APIClient(
        name=name,
        api_key_hash=issued.key_hash,
        key_prefix=issued.prefix,
        scopes=format_scopes(names),
        rate_limit=rate_limit,
        status=ClientStatus.ACTIVE,
        coach_id=coach.id if coach is not None else None,
        customer_id=customer.id if customer is not None else None,
        expires_at=expires_at,
    )
    session.add(client)
    session.flush()
    _event("created", client, scopes=client.scopes, rate_limit=rate_limit)
    return IssuedClientKey(client, issued.key)


def _refuse_revoked(client: APIClient) -> None:
    if client.status == ClientStatus.REVOKED or client.revoked_at is not None:
        raise ClientRefused(_l("%(name)s is revoked; a revoked client cannot be changed.", name=client.name))


def rotate(
    session: Session, client: APIClient, overlap: dt.timedelta = DEFAULT_OVERLAP, now: dt.datetime | None = None
) -> IssuedClientKey:
    """A new key now; the current one stays valid for ``overlap`` (0: it stops at once)."""
    _refuse_revoked(client)
    if overlap < dt.timedelta(0) or overlap > MAX_OVERLAP:
        raise ClientRefused(
            _l("The overlap must be from 0 to %(max)s hours.", max=int(MAX_OVERLAP.total_seconds() // 3600)),
            "overlap",
        )
    issued = keys.issue_key()
    if overlap > dt.timedelta(0) and client.key_prefix:
        client.previous_key_prefix = client.key_prefix
        client.previous_key_hash = client.api_key_hash
        client.previous_key_expires_at = _now(now) + overlap
    else:
        client.previous_key_prefix = client.previous_key_hash = client.previous_key_expires_at = None
    client.key_prefix = issued.prefix
    client.api_key_hash = issued.key_hash
    session.flush()
    _event("rotated", client, overlap_hours=round(overlap.total_seconds() / 3600, 2))
    return IssuedClientKey(client, issued.key)


def _set_status(session: Session, client: APIClient, status: ClientStatus, action: str) -> bool:
    _refuse_revoked(client)
    if client.status == status:
        return False
    client.status = status
    session.flush()
    _event(action, client)
    return True


def suspend(session: Session, client: APIClient) -> bool:
    """Stop the client's keys until it is reactivated; False if it already was suspended."""
    return _set_status(session, client, ClientStatus.SUSPENDED, "suspended")


def reactivate(session: Session, client: APIClient) -> bool:
    """Accept a suspended client's keys again; False if it was active."""
    return _set_status(session, client, ClientStatus.ACTIVE, "reactivated")


def revoke(session: Session, client: APIClient, now: dt.datetime | None = None) -> bool:
    """End the client for good (both keys); False if it already was revoked."""
    if client.status == ClientStatus.REVOKED and client.revoked_at is not None:
        return False
    client.status = ClientStatus.REVOKED
    client.revoked_at = client.revoked_at or _now(now)
    client.previous_key_prefix = client.previous_key_hash = client.previous_key_expires_at = None
    session.flush()
    _event("revoked", client)
    return True


def by_name(session: Session, name: str) -> APIClient:
    client = session.scalar(sa.select(APIClient).where(APIClient.name == (name or "").strip()))
    if client is None:
        raise ClientRefused(_l("No API client named %(name)s.", name=(name or "").strip()[:NAME_MAX]), "name")
    return client
