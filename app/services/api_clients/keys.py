"""API keys: issued once, stored as a hash, looked up by their public prefix, compared in constant time.

A key reads ``cdk_<prefix>_<secret>``: the 10-character prefix finds the row (unique, indexed), the
SHA-256 of the whole key is compared with ``hmac.compare_digest``. Keys are 256-bit random, so a fast
hash is the right one (as GitHub and FAB's own API keys do); a slow password hash would only cost
every request. There is no cache: each request reads the row, so a revocation holds on every web
process at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, lazyload

from app.models.automation import APIClient, ClientStatus
from app.services.api_clients.scopes import SCOPES

KEY_MARK = "cdk_"
PREFIX_LENGTH = 10


@dataclass(frozen=True)
class IssuedKey:
    key: str  # shown once, never stored
    prefix: str
    key_hash: str


@dataclass(frozen=True)
class ApiPrincipal:
    """Who calls the API: the client, what it may call, and whom it acts for (at most one subject)."""

    client_id: int
    name: str
    scopes: frozenset[str]
    rate_limit: int  # requests per minute
    coach_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key() -> IssuedKey:
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    key = f"{KEY_MARK}{prefix}_{secrets.token_urlsafe(32)}"
    return IssuedKey(key=key, prefix=prefix, key_hash=hash_key(key))


def split_key(key: str) -> str | None:
    """The prefix of a well-formed key, or None."""
    if not key.startswith(KEY_MARK) or len(key) > 200:
        return None
    prefix, sep, secret = key[len(KEY_MARK) :].partition("_")
    if not sep or len(prefix) != PREFIX_LENGTH or not secret:
        return None
    return prefix


def authenticate(session: Session, key: str, now: dt.datetime | None = None) -> ApiPrincipal | None:
    """The principal a key stands for, or None (unknown, wrong, suspended, revoked or expired key).

    The previous key of a rotation is accepted until its overlap window closes.
    """
    prefix = split_key(key)
    if prefix is None:
        return None
    now = now or dt.datetime.now(dt.UTC)
    client = session.scalar(
        sa.select(APIClient)
        .where(sa.or_(APIClient.key_prefix == prefix, APIClient.previous_key_prefix == prefix))
        .options(lazyload("*"))  # every request runs this: the row alone, not its subjects joined in
    )
    if client is None:
        return None
    digest = hash_key(key)
    if client.key_prefix == prefix:
        ok = hmac.compare_digest(digest, client.api_key_hash)
    else:
        expires = client.previous_key_expires_at
        ok = bool(client.previous_key_hash) and expires is not None and now < expires
        ok = hmac.compare_digest(digest, client.previous_key_hash or "") and ok
    if not ok or client.status != ClientStatus.ACTIVE or client.revoked_at is not None:
        return None
    if client.expires_at is not None and now >= client.expires_at:
        return None
    return ApiPrincipal(
        client_id=client.id,
        name=client.name,
        scopes=frozenset(client.scopes.split()) & SCOPES.keys(),  # a retired scope grants nothing
        rate_limit=client.rate_limit,
        coach_id=client.coach_id,
        customer_id=client.customer_id,
    )
