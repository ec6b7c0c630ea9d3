"""Declarative base, mixins and the JSON-Schema guard shared by every model.

All tables, FAB's ``ab_*`` security tables included, live in one metadata so
that Alembic sees the whole schema and console accounts can reference
platform users by foreign key.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import sqlalchemy as sa
from flask_appbuilder.models.sqla import Model

# FAB's security tables must be attached to the metadata before the naming
# convention is set, so their (unnamed) constraints stay identical whatever
# the import order: models and migrations then always agree.
from flask_appbuilder.security.sqla import models as _fab_security_models  # noqa: F401
from jsonschema import Draft202012Validator
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from app.models.types import JSONDocument, UTCDateTime

Model.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

__all__ = [
    "Model",
    "CreatedAtMixin",
    "TimestampMixin",
    "JSONValidationError",
    "json_column",
    "utcnow",
    "new_uuid",
    "fk",
    "trigram_index",
]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()


def fk(target: str, ondelete: str, **kwargs: Any) -> Any:
    """A foreign-key column that is always indexed and always says what happens on delete."""
    nullable = kwargs.pop("nullable", False)
    type_ = kwargs.pop("type_", None)
    args = [type_] if type_ is not None else []
    return mapped_column(
        *args,
        sa.ForeignKey(target, ondelete=ondelete),
        index=kwargs.pop("index", True),
        nullable=nullable,
        **kwargs,
    )


class CreatedAtMixin:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False, index=True)


class TimestampMixin(CreatedAtMixin):
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class JSONValidationError(ValueError):
    """Raised when a ``*_json`` value breaks its schema; the message names field and problem."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


def json_column(schema: dict[str, Any], nullable: bool = True, *, personal: bool | None = None) -> Any:
    """A JSON/JSONB column checked against ``schema`` every time it is assigned.

    ``personal``: whether it holds personal data (``app.models.classification``)."""
    Draft202012Validator.check_schema(schema)
    info: dict[str, Any] = {"json_schema": schema}
    if personal is not None:
        info["personal"] = personal
    return mapped_column(JSONDocument(), nullable=nullable, info=info)


def _describe(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path)
    return f"at '{where}': {error.message}" if where else error.message


def validate_json_value(field: str, schema: dict[str, Any], value: Any) -> Any:
    """Parse (if given text) and validate a JSON value; return the parsed value."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise JSONValidationError(field, f"not valid JSON ({exc})") from None
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise JSONValidationError(field, f"not JSON-serialisable ({exc})") from None
    errors = sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.path))
    if errors:
        raise JSONValidationError(field, _describe(errors[0]))
    return value


@event.listens_for(Mapper, "mapper_configured")
def _attach_json_validators(mapper: Mapper, cls: type) -> None:
    for prop in mapper.column_attrs:
        for column in prop.columns:
            schema = column.info.get("json_schema")
            if schema is None:
                continue
            field = f"{cls.__tablename__}.{prop.key}"

            def _validate(
                target: Any, value: Any, oldvalue: Any, initiator: Any, _field: str = field, _schema: dict = schema
            ) -> Any:
                return validate_json_value(_field, _schema, value)

            event.listen(getattr(cls, prop.key), "set", _validate, retval=True)


def trigram_index(table: str, column: str) -> sa.Index:
    """A GIN trigram index for "contains" search (``ILIKE '%x%'``) on PostgreSQL; a plain index on SQLite.

    The migration that creates it enables ``pg_trgm`` first (a trusted extension since PostgreSQL 13).
    """
    return sa.Index(
        f"ix_{table}_{column}_trgm", column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"}
    )
