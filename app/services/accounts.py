"""Console accounts: a FAB login linked one-to-one to a platform user."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models.identity import ConsoleUser, PlatformRole, PlatformUser, RoleCode, UserRole
from app.policy.roles import CONSOLE_ROLES, PLATFORM_ROLE_FOR_CONSOLE_ROLE


class AccountError(ValueError):
    """A console account cannot be created as asked; the message says why."""


@dataclass
class NewAccount:
    username: str
    password: str
    role: str
    console_user: ConsoleUser


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def ensure_platform_role(code: RoleCode) -> PlatformRole:
    role = db.session.scalar(select(PlatformRole).where(PlatformRole.code == code))
    if role is None:
        role = PlatformRole(code=code, description=code.value.title())
        db.session.add(role)
        db.session.flush()
    return role


def create_console_account(
    sm: Any,
    *,
    username: str,
    email: str,
    full_name: str,
    role: str,
    password: str | None = None,
    platform_user: PlatformUser | None = None,
) -> NewAccount:
    """Create (or link) the platform user and the console account; commit."""
    if role not in CONSOLE_ROLES:
        raise AccountError(
            _(
                "unknown console role %(role)s; expected one of %(choices)s",
                role=repr(role),
                choices=", ".join(CONSOLE_ROLES),
            )
        )
    fab_role = sm.find_role(role)
    if fab_role is None:
        raise AccountError(_("role %(role)s does not exist yet: run `flask roles sync` first", role=repr(role)))
    if sm.find_user(username=username) is not None:
        raise AccountError(_("a console account named %(username)s already exists", username=repr(username)))
    email = email.strip().lower()
    if platform_user is None:
        platform_user = db.session.scalar(select(PlatformUser).where(PlatformUser.email == email))
    if platform_user is None:
        platform_user = PlatformUser(email=email, full_name=full_name, locale="en")
        db.session.add(platform_user)
        db.session.flush()
    code = RoleCode(PLATFORM_ROLE_FOR_CONSOLE_ROLE[role])
    platform_role = ensure_platform_role(code)
    if code.value not in {r.code.value for r in platform_user.roles}:
        db.session.add(UserRole(user_id=platform_user.id, role_id=platform_role.id))
    password = password or generate_password()
    first, _sep, last = full_name.partition(" ")
    user = sm.add_user(username, first or username, last or "-", email, fab_role, password=password)
    if not user:
        db.session.rollback()
        raise AccountError(
            _(
                "could not create console account %(username)s (is the email %(email)s taken?)",
                username=repr(username),
                email=email,
            )
        )
    user.platform_user_id = platform_user.id
    db.session.commit()
    return NewAccount(username=username, password=password, role=role, console_user=user)
