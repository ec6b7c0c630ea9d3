"""What the actions of the catalogue share: the parameter checks every kind needs, and the people they act for.

``CatalogueAction`` implements ``ActionType``'s ``check`` in two passes: the generic one (unknown,
missing and wrongly typed parameters, lengths, ranges, enum choices) from the declared
``ActionParam``s, then, when those pass, the action's own ``check_values``, which therefore
never sees a value of the wrong type. ``load_customer`` and
``primary_coach`` raise ``PermanentActionError`` with a reason fit for the run log: the run log
(``automation_executions.result_details``) holds no personal data, so no message here names
anyone; ids only.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.customers import CoachAssignment, CustomerProfile
from app.models.identity import PlatformUser, UserStatus
from app.services.automation.actions.base import (
    ENUM,
    NUMBER,
    TEMPLATE,
    ActionContext,
    ActionParam,
    ParamProblem,
    PermanentActionError,
)

# Units a NUMBER parameter may carry (``ActionParam.unit`` holds the code), for messages and the editor.
UNIT_LABELS: dict[str, Any] = {"hours": _l("hours")}
ERASED_DOMAIN = "@erased.invalid"  # app.services.compliance.data_subject gives erased users this address
_CONTROL = {chr(c) for c in range(32)} | {"\x7f"}
_TEMPLATE_WHITESPACE = {"\n", "\r", "\t"}


class CatalogueAction:
    """A base for the catalogue's actions: declared parameters, the generic check, the editor's description."""

    name: str = ""
    label: Any = ""
    description: Any = ""
    params: tuple[ActionParam, ...] = ()
    sends_message: bool = False
    external: bool = False

    def check(self, params: Mapping[str, Any], db: Session | None = None) -> list[ParamProblem]:
        problems = check_params(self.params, params)
        if problems or not isinstance(params, Mapping):
            # The action's own rules only once every value has the right type (no follow-up noise).
            return problems
        return self.check_values(self.values(params), db)

    def check_values(self, values: Mapping[str, Any], db: Session | None) -> list[ParamProblem]:
        """The action's own checks, on values of the right type (absent ones are None or their default)."""
        return []

    def values(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Every declared parameter's value: blank ones are None, absent optional ones their default."""
        out: dict[str, Any] = {}
        for param in self.params:
            value = params.get(param.name)
            out[param.name] = param.default if _blank(value) else value
        return out

    def describe(self) -> dict[str, Any]:
        """What the rule editor needs to draw this action's form (labels in the current language)."""
        return {
            "code": self.name,
            "label": str(self.label),
            "description": str(self.description),
            "params": [_describe_param(p) for p in self.params],
            "sends_message": self.sends_message,
            "external": self.external,
            "placeholders": [],
        }


def _describe_param(param: ActionParam) -> dict[str, Any]:
    out = param.describe()
    if param.unit:
        out["unit_label"] = str(UNIT_LABELS.get(param.unit, param.unit))
    return out


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_params(declared: tuple[ActionParam, ...], params: Any) -> list[ParamProblem]:
    """Unknown, missing and wrongly typed parameters, one problem per parameter at most."""
    if not isinstance(params, Mapping):
        return [ParamProblem("", _("The action's parameters must be an object of names and values."))]
    known = {p.name for p in declared}
    problems = [
        ParamProblem(str(key)[:64], _("%(name)s is not a parameter of this action.", name=str(key)[:64]))
        for key in params
        if key not in known
    ]
    for param in declared:
        value = params.get(param.name)
        if _blank(value):
            if param.required and param.default is None:
                problems.append(ParamProblem(param.name, _("%(label)s is required.", label=str(param.label))))
            continue
        message = _value_problem(param, value)
        if message:
            problems.append(ParamProblem(param.name, message))
    return problems


def _value_problem(param: ActionParam, value: Any) -> str | None:
    label = str(param.label)
    if param.kind == NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return _("%(label)s must be a number.", label=label)
        low = param.minimum if param.minimum is not None else -math.inf
        high = param.maximum if param.maximum is not None else math.inf
        if not low <= value <= high:
            bounds = {"label": label, "minimum": _number(low), "maximum": _number(high)}
            if param.unit:
                unit = str(UNIT_LABELS.get(param.unit, param.unit))
                return _("%(label)s must be between %(minimum)s and %(maximum)s %(unit)s.", unit=unit, **bounds)
            return _("%(label)s must be between %(minimum)s and %(maximum)s.", **bounds)
        return None
    if not isinstance(value, str):
        return _("%(label)s must be text.", label=label)
    if param.kind == ENUM:
        codes = [code for code, _label in param.choices]
        if value not in codes:
            return _("%(label)s must be one of: %(choices)s.", label=label, choices=", ".join(codes))
        return None
    if param.max_length is not None and len(value) > param.max_length:
        return _("%(label)s is longer than %(limit)s characters.", label=label, limit=param.max_length)
    allowed = _TEMPLATE_WHITESPACE if param.kind == TEMPLATE else set()
    if any(ch in _CONTROL and ch not in allowed for ch in value):
        return _("%(label)s contains control characters.", label=label)
    return None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# --- the people an action acts for -----------------------------------------------------------


def is_erased(user: PlatformUser) -> bool:
    """Erased by a data-subject request (or otherwise deleted): nothing more is done for them."""
    return user.status == UserStatus.DELETED or user.email.endswith(ERASED_DOMAIN)


def load_customer(db: Session, ctx: ActionContext) -> PlatformUser:
    """The customer the execution is for; PermanentActionError when there is none, or none left to act for."""
    if ctx.customer_id is None:
        raise PermanentActionError(_("This action needs a customer, and the occurrence has none."))
    customer = db.get(PlatformUser, ctx.customer_id)
    if customer is None:
        raise PermanentActionError(_("Customer %(id)s no longer exists.", id=str(ctx.customer_id)))
    if is_erased(customer):
        raise PermanentActionError(_("Customer %(id)s was erased: nothing is done for them.", id=str(customer.id)))
    return customer


def primary_assignment(db: Session, customer_id: uuid.UUID) -> CoachAssignment | None:
    """The customer's primary coach assignment (the latest, should there be several)."""
    stmt = (
        sa.select(CoachAssignment)
        .where(CoachAssignment.customer_id == customer_id, CoachAssignment.is_primary.is_(True))
        .order_by(CoachAssignment.assigned_at.desc(), CoachAssignment.id.desc())
        .limit(1)
    )
    return db.scalars(stmt).first()


def primary_coach(db: Session, customer: PlatformUser) -> tuple[CoachAssignment, PlatformUser]:
    """The customer's primary assignment and coach; PermanentActionError when there is no coach to act through."""
    assignment = primary_assignment(db, customer.id)
    if assignment is None:
        raise PermanentActionError(_("Customer %(id)s has no primary coach.", id=str(customer.id)))
    coach = db.get(PlatformUser, assignment.coach_id)
    if coach is None or is_erased(coach) or coach.status == UserStatus.SUSPENDED:
        raise PermanentActionError(
            _("The primary coach of customer %(id)s has no active account.", id=str(customer.id))
        )
    return assignment, coach


def language_of(user: PlatformUser | None) -> str:
    """The user's language if the console ships it (``de_AT`` -> ``de``), else the default."""
    default = current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
    raw = (user.locale if user is not None else "") or ""
    lang = raw.replace("-", "_").split("_", 1)[0].strip().lower()
    return lang if lang in current_app.config.get("LANGUAGES", {}) else default


def zone_of(db: Session, customer: PlatformUser | None) -> ZoneInfo:
    """The customer's own time zone (their profile), UTC when unknown."""
    name = None
    if customer is not None:
        name = db.scalar(sa.select(CustomerProfile.timezone).where(CustomerProfile.user_id == customer.id))
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def add_once(db: Session, row: Any) -> bool:
    """Insert ``row`` in a savepoint; False when a unique constraint says it is there already.

    Two executions racing to add the same membership or badge: the loser's savepoint rolls back
    and it reports "already there", instead of failing the engine's whole transaction. Not on
    SQLite: pysqlite starts no transaction before a write, so releasing a savepoint taken first
    would commit the row on its own, before the engine counts the step. There the row is added
    plainly (SQLite has one writer at a time; a lost race fails the step, and its retry finds
    the row there).
    """
    if db.get_bind().dialect.name == "sqlite":
        db.add(row)
        db.flush()
        return True
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        return False
    return True
