"""Authentication events: sign-ins, failed sign-ins, sign-outs, lock-outs (ASVS 16.3.1).

The security manager calls ``record_auth_event`` with what it knows about the
request; this module never touches ``flask.request``. For now each event is one
structured (JSON) log line and one AuditLogs row (action ``auth.<event>``),
committed at once so a failed sign-in is recorded even though nothing else is.

Never pass passwords or hashes. Names typed for unknown accounts are logged only
as a short digest: people sometimes type their password into the username field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from app.services.audit import chain as audit
from app.services.audit.context import inert_text, valid_ip

log = logging.getLogger("coachdesk.auth")

LOGIN_SUCCEEDED = "login_succeeded"
LOGIN_FAILED = "login_failed"
LOGOUT = "logout"
LOGIN_RATE_LIMITED = "login_rate_limited"
SESSION_EXPIRED = "session_expired"
# Second factor and sign-in sessions (app.services.signin).
MFA_ENROLLED = "mfa_enrolled"
MFA_SUCCEEDED = "mfa_succeeded"
MFA_FAILED = "mfa_failed"
MFA_RECOVERY_USED = "mfa_recovery_code_used"
MFA_DISABLED = "mfa_disabled"
SESSION_ENDED = "session_ended"
EVENTS = (
    LOGIN_SUCCEEDED, LOGIN_FAILED, LOGOUT, LOGIN_RATE_LIMITED, SESSION_EXPIRED,
    MFA_ENROLLED, MFA_SUCCEEDED, MFA_FAILED, MFA_RECOVERY_USED, MFA_DISABLED, SESSION_ENDED,
)  # fmt: skip


@dataclass
class AuthEvent:
    event: str
    at: str
    user_id: int | None = None
    username: str | None = None
    attempted_name_digest: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    fail_login_count: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def name_digest(name: str | None) -> str | None:
    """A short, stable digest of an untrusted name, to correlate bursts without storing it."""
    if not name:
        return None
    return hashlib.sha256(name.strip().lower().encode()).hexdigest()[:16]


def record_auth_event(
    event: str,
    *,
    user: Any = None,
    attempted_name: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuthEvent:
    """Record one authentication event; returns what was recorded."""
    if event not in EVENTS:
        raise ValueError(f"unknown auth event {event!r}")
    record = AuthEvent(
        event=event,
        at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        user_id=getattr(user, "id", None),
        username=getattr(user, "username", None),
        attempted_name_digest=None if user is not None else name_digest(attempted_name),
        ip=valid_ip(ip),
        user_agent=inert_text(user_agent, 200),
        fail_login_count=getattr(user, "fail_login_count", None) if event == LOGIN_FAILED else None,
        detail=dict(detail or {}),
    )
    log.info(json.dumps({k: v for k, v in asdict(record).items() if v not in (None, {})}, sort_keys=True))
    _audit(record, user)
    return record


def _audit(record: AuthEvent, user: Any) -> None:
    metadata: dict[str, Any] = {"event": record.event}
    if record.attempted_name_digest:
        metadata["attempted_name_digest"] = record.attempted_name_digest
    if record.fail_login_count is not None:
        metadata["fail_login_count"] = record.fail_login_count
    metadata.update({k: v for k, v in record.detail.items() if isinstance(v, (str, int, float, bool))})
    audit.record(
        f"auth.{record.event}",
        "ab_user",
        record.user_id,
        metadata,
        actor_id=getattr(user, "platform_user_id", None),
        commit=True,
    )
