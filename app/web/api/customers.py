"""``/customers``: read customers (their account and profile) and let a client app change profile fields.

Only platform users holding the CUSTOMER role are customers here; row scope narrows them further
(a coach's customers, a customer app's own customer). Changes go through
``app.services.customer_profiles`` (the rules for what a customer may change about themselves).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from marshmallow import Schema, fields, validate

from app.extensions import db
from app.models.customers import CustomerProfile, Gender
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole, UserStatus
from app.policy.scope import Actor
from app.services.customer_profiles import LOCALES, update_profile
from app.web.api.blueprint import api_bp
from app.web.api.query import at_least, equals
from app.web.api.refusals import service_refusals
from app.web.api.resource import CoachdeskModelRestApi


class CustomerSchema(Schema):
    id = fields.UUID(required=True)
    email = fields.String(required=True)
    full_name = fields.String(required=True)
    phone = fields.String(allow_none=True)
    locale = fields.String(required=True)
    status = fields.Enum(UserStatus, required=True)
    timezone = fields.String(required=True, metadata={"description": "IANA zone of the customer's calendar."})
    date_of_birth = fields.Date(allow_none=True)
    gender = fields.Enum(Gender, allow_none=True)
    emergency_contact = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class CustomerUpdateSchema(Schema):
    full_name = fields.String(validate=validate.Length(1, 200))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    locale = fields.String(validate=validate.OneOf(LOCALES))
    timezone = fields.String(validate=validate.Length(1, 64))
    date_of_birth = fields.Date(allow_none=True)
    gender = fields.Enum(Gender, allow_none=True)
    emergency_contact = fields.String(allow_none=True, validate=validate.Length(max=300))


def _is_customer() -> Any:
    holders = sa.select(UserRole.user_id).join(PlatformRole).where(PlatformRole.code == RoleCode.CUSTOMER)
    return PlatformUser.id.in_(holders)


class CustomerApi(CoachdeskModelRestApi):
    model = PlatformUser
    schema = CustomerSchema
    update_schema = CustomerUpdateSchema
    name, path, tag = "customers", "/customers", "Customers"
    key_type = "uuid"
    read_scope, write_scope = "customers:read", "customers:write"
    summary_list, summary_get, summary_update = "List customers", "One customer", "Change a customer's profile"
    filters = {
        "status": equals(PlatformUser.status, fields.Enum(UserStatus)),
        "email": equals(PlatformUser.email, fields.String(validate=validate.Length(1, 320))),
        "updated_since": at_least(
            PlatformUser.updated_at,
            fields.AwareDateTime(default_timezone=dt.UTC, metadata={"description": "ISO 8601."}),
        ),
    }

    @classmethod
    def scoped(cls, *criteria: Any, for_write: bool = False, actor: Actor | None = None) -> sa.Select:
        return super().scoped(_is_customer(), *criteria, for_write=for_write, actor=actor)

    @classmethod
    def preload(cls, rows: list[Any]) -> None:
        if rows:
            list(
                db.session.scalars(sa.select(CustomerProfile).where(CustomerProfile.user_id.in_([r.id for r in rows])))
            )

    @classmethod
    def represent(cls, row: Any) -> dict[str, Any]:
        profile = db.session.get(CustomerProfile, row.id)
        data = {name: getattr(row, name) for name in ("id", "email", "full_name", "phone", "locale", "status")}
        data |= {"created_at": row.created_at, "updated_at": row.updated_at}
        data["timezone"] = profile.timezone if profile else "UTC"
        for name in ("date_of_birth", "gender", "emergency_contact"):
            data[name] = getattr(profile, name) if profile else None
        return cls.dumper().dump(data)

    @classmethod
    def apply_update(cls, row: Any, data: dict[str, Any], actor: Actor) -> None:
        with service_refusals():
            update_profile(db.session, actor, row.id, data)


CustomerApi.register(api_bp)
