"""Password policy and hashing parameters (OWASP ASVS 5, chapters 6.2 and 11.4).

Length is the only rule (12 to 128 characters, no composition rules, ASVS
6.2.1/6.2.5/6.2.9) plus an offline blocklist of common passwords (6.2.4), so
the console works in an air-gapped network.
"""

from __future__ import annotations

import re
import secrets
from functools import lru_cache
from pathlib import Path

from flask import current_app, has_app_context
from flask_appbuilder.exceptions import PasswordComplexityValidationError
from flask_babel import gettext as _
from werkzeug.security import generate_password_hash

DEFAULT_MIN_LENGTH = 12
DEFAULT_MAX_LENGTH = 128

# Common passwords and the words they are built from. Compared case-insensitively,
# both as typed and with leading/trailing digits and symbols stripped, so
# "Password2024!" and "!!qwerty123456" are refused too.
COMMON_PASSWORDS = frozenset(
    line.strip()
    for line in (Path(__file__).with_name("common_passwords.txt")).read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)

_EDGE_NOISE = re.compile(r"^[\W\d_]+|[\W\d_]+$")


def _too_common(password: str) -> bool:
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        return True
    core = _EDGE_NOISE.sub("", lowered)
    if core in COMMON_PASSWORDS:
        return True
    # One word repeated ("passwordpassword", "abcabcabcabc") or a single character.
    return len(set(lowered)) < 4 or any(
        len(lowered) % size == 0 and lowered == lowered[:size] * (len(lowered) // size) for size in range(1, 7)
    )


def password_problem(password: str, *, min_length: int | None = None, max_length: int | None = None) -> str | None:
    """Why ``password`` is refused, or None if it is acceptable."""
    if min_length is None or max_length is None:
        config = current_app.config if has_app_context() else {}
        min_length = min_length or config.get("PASSWORD_MIN_LENGTH", DEFAULT_MIN_LENGTH)
        max_length = max_length or config.get("PASSWORD_MAX_LENGTH", DEFAULT_MAX_LENGTH)
    length = len(password or "")  # code points, as ASVS counts them
    if length < min_length:
        return _("Use at least %(num)d characters; a few words make a good password.", num=min_length)
    if length > max_length:
        return _("Use at most %(num)d characters.", num=max_length)
    if _too_common(password):
        return _("This password is too common; choose something less predictable.")
    return None


def check_password_policy(password: str) -> None:
    """FAB's FAB_PASSWORD_COMPLEXITY_VALIDATOR: raise with a message the form shows."""
    problem = password_problem(password)
    if problem:
        raise PasswordComplexityValidationError(problem)


@lru_cache(maxsize=8)
def fake_password_hash(method: str) -> str:
    """A throw-away hash with the same method and cost as real ones (ASVS 6.3.8).

    FAB checks an unknown username's password against this hash so that it
    answers as slowly as a wrong password; its built-in default is scrypt
    N=2^15, four times cheaper than our N=2^17, which would reveal which
    usernames exist. Cached per method: one costly hash per process.
    """
    return generate_password_hash(secrets.token_urlsafe(24), method=method)


def hash_method_of(password_hash: str) -> str:
    """The method part of a werkzeug hash (``scrypt:131072:8:1``)."""
    return password_hash.split("$", 1)[0]
