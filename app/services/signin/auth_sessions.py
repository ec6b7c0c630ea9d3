"""Server-side sign-in sessions: one ``auth_sessions`` row per console sign-in.

The browser's session cookie carries the row's id; each request checks the row (there, not
ended, before its absolute expiry, used within the idle timeout), so ending a row signs that
browser out on its next request. ``last_seen_at`` is written at most once a minute, with a
plain UPDATE (a heartbeat, not a change worth an audit row). Starting and ending rows go
through the ORM and are audited. Callers commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from app.extensions import db
from app.models.identity import AuthSession, ConsoleUser, PlatformUser

TOUCH_EVERY = dt.timedelta(minutes=1)

# Why a row ended (revoked_reason, 30 characters at most).
LOGOUT = "logout"
ENDED_BY_USER = "ended_by_user"
ENDED_BY_ADMIN = "ended_by_admin"
PASSWORD_CHANGED = "password_changed"  # noqa: S105 (a reason, not a secret)
EXPIRED = "expired"
IDLE = "idle"


@dataclass(frozen=True)
class Check:
    """A request's look at its session row: the row when it is valid, else why not."""

    row: AuthSession | None
    reason: str | None = None


def network_of(ip: str | None) -> str:
    """The /24 (IPv4) or /48 (IPv6) an address belongs to: a phone moving between cells keeps its session's device."""
    try:
        addr = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return "unknown"
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


def device_fingerprint(user_agent: str | None, ip: str | None) -> str:
    return hashlib.sha256(f"{user_agent or ''}\n{network_of(ip)}".encode()).hexdigest()


def platform_user_of(account: ConsoleUser) -> PlatformUser:
    """The person a sign-in session row names (``auth_sessions.user_id`` must be a platform user).

    A linked account: its platform user. An account without one (made in FAB's account admin,
    or unlinked on purpose) is NOT linked here: the link decides row scope, and an unlinked
    coach must keep seeing nothing. Its row names the platform user with the account's email,
    made (with no role) if there is none.
    """
    if account.platform_user is not None:
        return account.platform_user
    email = (account.email or "").strip().lower() or f"{account.username}@console.invalid"
    person = db.session.scalar(select(PlatformUser).where(PlatformUser.email == email))
    if person is None:
        full_name = f"{account.first_name or ''} {account.last_name or ''}".strip() or account.username
        person = PlatformUser(email=email, full_name=full_name[:200], locale="en")
        db.session.add(person)
        db.session.flush()
    return person


def _text(value: str | None, limit: int) -> str | None:
    if not value:
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable())
    return cleaned[:limit] or None


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def start(
    account: ConsoleUser,
    *,
    ip: str | None,
    user_agent: str | None,
    now: dt.datetime,
    absolute: dt.timedelta,
) -> AuthSession:
    """The row for a new sign-in (flushed): the cookie will carry its id."""
    row = AuthSession(
        user_id=platform_user_of(account).id,
        console_user_id=account.id,
        issued_at=now,
        expires_at=now + absolute,
        last_seen_at=now,
        device_fingerprint=device_fingerprint(user_agent, ip),
        mfa_verified=False,
        ip_address=_text(ip, 45),
        user_agent=_text(user_agent, 300),
    )
    db.session.add(row)
    db.session.flush()
    return row


def check(session_id: Any, account_id: Any, *, now: dt.datetime, idle: dt.timedelta) -> Check:
    """Is the cookie's session row still good for this account?"""
    if not isinstance(session_id, int) or isinstance(session_id, bool) or not 0 < session_id < 2**63:
        return Check(None, "missing")
    row = db.session.get(AuthSession, session_id)
    if row is None or str(row.console_user_id) != str(account_id):
        return Check(None, "missing")
    if row.revoked_at is not None:
        return Check(None, row.revoked_reason or "revoked")
    if now >= _utc(row.expires_at):
        return Check(None, EXPIRED)
    seen = _utc(row.last_seen_at) or _utc(row.issued_at)
    if now - seen > idle:
        return Check(None, IDLE)
    return Check(row)


def touch(row: AuthSession, now: dt.datetime) -> bool:
    """Move ``last_seen_at`` on, at most once a minute (a plain statement, not audited). True when written."""
    seen = _utc(row.last_seen_at)
    if seen is not None and now - seen < TOUCH_EVERY:
        return False
    table = AuthSession.__table__
    db.session.execute(update(table).where(table.c.id == row.id).values(last_seen_at=now))
    db.session.expire(row, ["last_seen_at"])
    return True


def mark_mfa_verified(row: AuthSession, now: dt.datetime) -> None:
    """The person passed a TOTP or recovery-code check in this session (flushed)."""
    row.mfa_verified = True
    row.mfa_verified_at = now
    db.session.flush()


def mfa_age(row: AuthSession | None, now: dt.datetime) -> dt.timedelta | None:
    """How long ago this session last passed an MFA check (None: never)."""
    at = _utc(row.mfa_verified_at) if row is not None else None
    return None if at is None else now - at


def end(row: AuthSession, reason: str, now: dt.datetime) -> bool:
    """End one session (flushed); False when it had already ended."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = now
    row.revoked_reason = reason[:30]
    db.session.flush()
    return True


def end_all(account_id: int, reason: str, now: dt.datetime, *, except_id: int | None = None) -> int:
    """End every open session of an account (but ``except_id``); returns how many."""
    rows = db.session.scalars(
        select(AuthSession).where(AuthSession.console_user_id == account_id, AuthSession.revoked_at.is_(None))
    ).all()
    count = 0
    for row in rows:
        if row.id != except_id and end(row, reason, now):
            count += 1
    return count


def get_own(account_id: int, session_id: Any) -> AuthSession | None:
    """One of this account's rows by id (None for another's or an unknown id)."""
    if not isinstance(session_id, int) or not 0 < session_id < 2**63:
        return None
    row = db.session.get(AuthSession, session_id)
    return row if row is not None and row.console_user_id == account_id else None


def list_open(account_id: int, now: dt.datetime, *, limit: int = 100) -> list[AuthSession]:
    """The account's sessions that can still be used, newest first."""
    query = (
        select(AuthSession)
        .where(
            AuthSession.console_user_id == account_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
        )
        .order_by(AuthSession.issued_at.desc(), AuthSession.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def end_selected(session: Any, rows: list[AuthSession], actor: Any) -> int:
    """An Admin ends sessions picked in the console (the bulk-action signature); returns how many."""
    now = dt.datetime.now(dt.UTC)
    return sum(1 for row in rows if end(row, ENDED_BY_ADMIN, now))
