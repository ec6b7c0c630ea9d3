"""TOTP multi-factor authentication: enrolment, code checks with replay refusal, recovery codes.

The TOTP secret must be read back to check a code, so it is encrypted (Fernet, with a key
derived from ``SECRET_KEY`` by HKDF-SHA256), not hashed. A pending enrolment keeps its
secret with ``mfa_enrolled_at`` empty, so reloading the setup page shows the same QR code.
A code is accepted once per 30-second step: ``mfa_last_step`` remembers the last accepted
step and refuses it and every earlier one (RFC 6238 section 5.2). Recovery codes are random,
shown once, stored as keyed HMAC-SHA256 digests and single use.

Services flush and audit; callers commit. Audit events go through ``auth_events`` (which
commits its row at once, so a failed check is recorded even if nothing else is).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask_babel import gettext as _
from sqlalchemy import delete, select

from app.extensions import db
from app.models.identity import ConsoleUser, MfaRecoveryCode
from app.services.audit import auth_events

STEP_SECONDS = 30
VALID_WINDOW = 1  # one step either side: clocks drift and people type slowly
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed by hand
RECOVERY_CODE_LENGTH = 10
MAX_CODE_INPUT = 64  # anything longer is not a code; refused before any work


class MfaError(ValueError):
    """An MFA change cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class Enrolment:
    """What the setup page shows: the secret as text, its otpauth URI and the QR code as inline SVG."""

    secret: str
    uri: str
    qr_svg: str


def _derive(secret_key: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret_key.encode())


def _fernet(secret_key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(secret_key, b"coachdesk mfa totp secret v1")))


def encrypt_secret(secret: str, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(secret.encode()).decode()


def decrypt_secret(token: str, secret_key: str) -> str:
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise MfaError(_("The MFA secret cannot be read (was SECRET_KEY changed?). Ask an administrator.")) from None


def is_enrolled(user: ConsoleUser) -> bool:
    return user.mfa_enrolled_at is not None and bool(user.mfa_secret)


def role_names(user: Any) -> set[str]:
    return {role.name for role in getattr(user, "roles", None) or ()}


def mfa_required(user: Any, required_roles: Iterable[str]) -> bool:
    """True when one of the account's roles must use MFA (``MFA_REQUIRED_ROLES``)."""
    return bool(role_names(user) & set(required_roles))


def qr_svg(uri: str) -> str:
    """The provisioning URI as an inline SVG (drawn here: no image service, no network)."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff", title="QR")


def start_enrolment(user: ConsoleUser, *, secret_key: str, issuer: str) -> Enrolment:
    """A new secret for ``user`` (or the pending one again); flushed, not yet active."""
    if is_enrolled(user):
        raise MfaError(_("Two-step sign-in is already set up for this account."))
    secret = decrypt_secret(user.mfa_secret, secret_key) if user.mfa_secret else pyotp.random_base32()
    if not user.mfa_secret:
        user.mfa_secret = encrypt_secret(secret, secret_key)
        user.mfa_last_step = None
        db.session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=issuer)
    return Enrolment(secret=secret, uri=uri, qr_svg=qr_svg(uri))


def normalise_code(code: str | None) -> str | None:
    """Six digits (spaces allowed), else None."""
    if not isinstance(code, str) or len(code) > MAX_CODE_INPUT:
        return None
    digits = "".join(code.split())
    return digits if len(digits) == 6 and digits.isascii() and digits.isdigit() else None


def _accepted_step(secret: str, code: str, last_step: int | None, now: float) -> int | None:
    """The time step ``code`` belongs to, if it is within the window and newer than ``last_step``."""
    totp = pyotp.TOTP(secret)
    current = int(now // STEP_SECONDS)
    found = None
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code) and (last_step is None or step > last_step):
            found = step
    return found


def check_totp(user: ConsoleUser, code: str | None, *, secret_key: str, now: float) -> bool:
    """Accept a code once: a match in the window, newer than the last accepted step. Flushes the step."""
    digits = normalise_code(code)
    if digits is None or not user.mfa_secret:
        return False
    step = _accepted_step(decrypt_secret(user.mfa_secret, secret_key), digits, user.mfa_last_step, now)
    if step is None:
        return False
    user.mfa_last_step = step
    db.session.flush()
    return True


def confirm_enrolment(user: ConsoleUser, code: str | None, *, secret_key: str, now: float, **audit: Any) -> list[str]:
    """Activate the pending secret with a valid code; returns the ten recovery codes (shown once)."""
    if is_enrolled(user):
        raise MfaError(_("Two-step sign-in is already set up for this account."))
    if not user.mfa_secret:
        raise MfaError(_("Start the setup again: no code is pending."))
    if not check_totp(user, code, secret_key=secret_key, now=now):
        auth_events.record_auth_event(auth_events.MFA_FAILED, user=user, detail={"stage": "enrolment"}, **audit)
        raise MfaError(_("That code is not valid. Check the time on your phone and enter the current code."))
    user.mfa_enrolled_at = dt.datetime.fromtimestamp(now, dt.UTC)
    codes = _replace_recovery_codes(user, secret_key)
    auth_events.record_auth_event(auth_events.MFA_ENROLLED, user=user, **audit)
    return codes


def verify(user: ConsoleUser, code: str | None, *, secret_key: str, now: float, **audit: Any) -> bool:
    """A sign-in or step-up check with a TOTP code; audited either way."""
    ok = is_enrolled(user) and check_totp(user, code, secret_key=secret_key, now=now)
    event = auth_events.MFA_SUCCEEDED if ok else auth_events.MFA_FAILED
    auth_events.record_auth_event(event, user=user, detail={"method": "totp"}, **audit)
    return ok


def _code_digest(code: str, secret_key: str) -> str:
    key = _derive(secret_key, b"coachdesk mfa recovery code v1")
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def normalise_recovery_code(code: str | None) -> str | None:
    if not isinstance(code, str) or len(code) > MAX_CODE_INPUT:
        return None
    cleaned = "".join(ch for ch in code.lower() if ch not in " -\t")
    ok = len(cleaned) == RECOVERY_CODE_LENGTH and all(ch in RECOVERY_ALPHABET for ch in cleaned)
    return cleaned if ok else None


def _new_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def _replace_recovery_codes(user: ConsoleUser, secret_key: str) -> list[str]:
    db.session.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.console_user_id == user.id))
    codes = [_new_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        digest = _code_digest(code.replace("-", ""), secret_key)
        db.session.add(MfaRecoveryCode(console_user_id=user.id, code_hash=digest))
    db.session.flush()
    return codes


def regenerate_recovery_codes(user: ConsoleUser, *, secret_key: str) -> list[str]:
    """Ten new codes; the old ones stop working."""
    if not is_enrolled(user):
        raise MfaError(_("Set up two-step sign-in first."))
    return _replace_recovery_codes(user, secret_key)


def remaining_recovery_codes(user_id: int) -> int:
    query = select(db.func.count()).where(MfaRecoveryCode.console_user_id == user_id, MfaRecoveryCode.used_at.is_(None))
    return int(db.session.scalar(query) or 0)


def use_recovery_code(user: ConsoleUser, code: str | None, *, secret_key: str, now: float, **audit: Any) -> bool:
    """Consume one unused recovery code (single use); audited either way."""
    cleaned = normalise_recovery_code(code)
    row = None
    if cleaned is not None and is_enrolled(user):
        row = db.session.scalar(
            select(MfaRecoveryCode)
            .where(
                MfaRecoveryCode.console_user_id == user.id,
                MfaRecoveryCode.code_hash == _code_digest(cleaned, secret_key),
                MfaRecoveryCode.used_at.is_(None),
            )
            .with_for_update()
        )
    if row is None:
        auth_events.record_auth_event(auth_events.MFA_FAILED, user=user, detail={"method": "recovery"}, **audit)
        return False
    row.used_at = dt.datetime.fromtimestamp(now, dt.UTC)
    db.session.flush()
    left = remaining_recovery_codes(user.id)
    auth_events.record_auth_event(auth_events.MFA_RECOVERY_USED, user=user, detail={"remaining": left}, **audit)
    return True


def disable(user: ConsoleUser, *, required_roles: Iterable[str], **audit: Any) -> None:
    """Turn MFA off for an account whose roles do not require it; its recovery codes go too."""
    if mfa_required(user, required_roles):
        raise MfaError(_("Your role requires two-step sign-in; it cannot be turned off."))
    user.mfa_secret = None
    user.mfa_enrolled_at = None
    user.mfa_last_step = None
    db.session.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.console_user_id == user.id))
    db.session.flush()
    auth_events.record_auth_event(auth_events.MFA_DISABLED, user=user, **audit)
