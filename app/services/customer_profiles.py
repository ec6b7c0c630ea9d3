"""A customer's own profile fields: the changes a client app may make, with their rules in one place.

Used by the REST API (``PATCH /api/v1/customers/<id>``); the console edits the same rows through its
record forms. The actor's grant (``Users`` write) and row scope (``for_write``) are checked here, so a
job or a shell cannot change a customer the console would not let them change. Flushes, never commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.customers import CustomerProfile, Gender
from app.models.identity import PlatformUser
from app.policy.roles import WRITE, allowed
from app.policy.scope import Actor, scope_criteria
from app.services.timezones import TimezoneError, clean_zone

# What a customer (or an app acting for them) may change about themselves.
USER_FIELDS = ("full_name", "phone", "locale")
PROFILE_FIELDS = ("timezone", "date_of_birth", "gender", "emergency_contact")
LOCALES = ("en", "es", "de")
EARLIEST_BIRTH = dt.date(1900, 1, 2)


class ProfileError(ValueError):
    """A refused change: ``field`` names the input, the message is translated."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ProfileNotFound(ProfileError):
    """No such customer, or not one the actor may change (not told apart)."""


def _check(changes: dict[str, Any]) -> dict[str, Any]:
    clean = dict(changes)
    if "full_name" in clean:
        name = " ".join(str(clean["full_name"] or "").split())
        if not name:
            raise ProfileError(_("The name cannot be empty."), "full_name")
        clean["full_name"] = name
    if "locale" in clean and clean["locale"] not in LOCALES:
        raise ProfileError(_("Choose one of: %(choices)s.", choices=", ".join(LOCALES)), "locale")
    if "timezone" in clean:
        try:
            clean["timezone"] = clean_zone(clean["timezone"]) or "UTC"
        except TimezoneError as error:
            raise ProfileError(str(error), "timezone") from None
    born = clean.get("date_of_birth")
    if born is not None and not EARLIEST_BIRTH <= born <= dt.date.today():
        raise ProfileError(_("The date of birth is not plausible."), "date_of_birth")
    if clean.get("gender") is not None and not isinstance(clean["gender"], Gender):
        raise ProfileError(_("Unknown gender value."), "gender")
    return clean


def update_profile(db: Session, actor: Actor, customer_id: uuid.UUID, changes: dict[str, Any]) -> PlatformUser:
    """Apply ``changes`` (keys of ``USER_FIELDS`` and ``PROFILE_FIELDS``) to the customer; flush."""
    if not any(allowed(role, "Users", WRITE) for role in actor.roles):
        raise ProfileNotFound(_("No such customer."))
    unknown = set(changes) - set(USER_FIELDS) - set(PROFILE_FIELDS)
    if unknown:
        raise ProfileError(_("These fields cannot be changed: %(fields)s.", fields=", ".join(sorted(unknown))))
    user = db.scalars(
        sa.select(PlatformUser).where(
            PlatformUser.id == customer_id, scope_criteria(PlatformUser, actor, for_write=True)
        )
    ).first()
    if user is None:
        raise ProfileNotFound(_("No such customer."))
    clean = _check(changes)
    for name in USER_FIELDS:
        if name in clean:
            setattr(user, name, clean[name])
    profile_changes = {name: clean[name] for name in PROFILE_FIELDS if name in clean}
    if profile_changes:
        profile = db.get(CustomerProfile, user.id)
        if profile is None:
            profile = CustomerProfile(user_id=user.id)
            db.add(profile)
        for name, value in profile_changes.items():
            setattr(profile, name, value)
    db.flush()
    return user
