"""Corrections of computed records and telemetry: the one way to change them after the fact.

Engagement events, cohort snapshots, challenge results, customer badges and recommendation logs are
written by the services and jobs that compute them; the console shows them read-only. A wrong row is
corrected here, by an Admin, with a reason: only the columns this module lists per table may change
(most tables allow only a delete: a badge revoked, a result or an event withdrawn), the row is read in
the actor's write scope, and one chained ``telemetry.corrected`` audit entry keeps the table, the row,
its values before and after (never personal or JSON values: their names only) and the reason.
Refusals are ``CorrectionRefused`` with an HTTP status; nothing is changed then. Flushes, never commits.
"""

from __future__ import annotations

import decimal
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.extensions import db
from app.models.analytics import CohortSnapshot, EngagementEvent, RecommendationLog
from app.models.classification import is_personal
from app.models.engagement import ChallengeResult
from app.models.training import CustomerBadge
from app.policy.roles import ADMIN
from app.policy.scope import Actor
from app.services.audit.chain import record
from app.services.data_access import get_scoped

ACTION = "telemetry.corrected"
REASON_MIN, REASON_MAX = 10, 500
MAX_VALUE_TEXT = 64
# Bidirectional overrides and isolates: they reorder what an auditor reads.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class CorrectionRefused(Exception):
    """A refused correction; nothing was changed. ``message`` is translated, for the person."""

    def __init__(self, message: Any, *, status: int = 400, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.status = status
        self.field = field


Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class Correctable:
    """A table that may be corrected: its model, the columns a correction may set, and whether rows may go."""

    model: type
    fields: Mapping[str, Parser] = field(default_factory=dict)
    deletable: bool = True


def decimal_parser(column: sa.Column) -> Parser:
    """A parser for a ``Numeric(p, s)`` column: a number within its digits, never a float, NaN or infinity."""
    precision, scale = column.type.precision, column.type.scale
    limit = decimal.Decimal(10) ** (precision - scale)

    def parse(raw: Any) -> decimal.Decimal:
        if isinstance(raw, bool) or not isinstance(raw, (str, int, decimal.Decimal)):
            raise CorrectionRefused(_l("Enter the value as a number written in digits."), field=column.key)
        text = str(raw).strip()
        if not text or len(text) > MAX_VALUE_TEXT or not text.isascii():
            raise CorrectionRefused(_l("Enter the value as a number written in digits."), field=column.key)
        try:
            value = decimal.Decimal(text)
        except decimal.InvalidOperation:
            raise CorrectionRefused(_l("Enter the value as a number written in digits."), field=column.key) from None
        if not value.is_finite():
            raise CorrectionRefused(_l("Enter the value as a number written in digits."), field=column.key)
        if abs(value) >= limit:
            raise CorrectionRefused(
                _l("The value must be smaller than %(limit)s in size.", limit=f"{limit:,}"), field=column.key
            )
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > scale:
            raise CorrectionRefused(
                _l("The value may have at most %(places)s decimal places.", places=scale), field=column.key
            )
        return value.quantize(decimal.Decimal(1).scaleb(-scale))

    return parse


CORRECTABLE: dict[str, Correctable] = {
    "engagement_events": Correctable(EngagementEvent),
    "cohort_snapshots": Correctable(CohortSnapshot, {"value": decimal_parser(CohortSnapshot.__table__.c.value)}),
    "challenge_results": Correctable(ChallengeResult),
    "customer_badges": Correctable(CustomerBadge),
    "recommendation_logs": Correctable(RecommendationLog),
}


@dataclass(frozen=True)
class Correction:
    """What was done: the row's recordable values before and after (``None`` after a delete)."""

    table: str
    row_id: str
    before: dict[str, Any]
    after: dict[str, Any] | None


def correctable(model: type | str) -> Correctable:
    """The table's correction rules; an unknown or computed-elsewhere table is a 404."""
    name = model if isinstance(model, str) else getattr(model, "__tablename__", None)
    entry = CORRECTABLE.get(name) if isinstance(name, str) else None
    if entry is None:
        raise CorrectionRefused(_l("This kind of record cannot be corrected."), status=404)
    return entry


def check_reason(reason: Any) -> str:
    """The reason, trimmed: required, 10 to 500 characters, one line of visible text."""
    if not isinstance(reason, str) or not reason.strip():
        raise CorrectionRefused(_l("Give the reason for the correction."), field="reason")
    text = reason.strip()
    if any(unicodedata.category(ch) in ("Cc", "Cs") or ch in _BIDI for ch in text):
        raise CorrectionRefused(_l("The reason may not contain control characters or line breaks."), field="reason")
    if not REASON_MIN <= len(text) <= REASON_MAX:
        raise CorrectionRefused(
            _l("The reason must be %(min)s to %(max)s characters long.", min=REASON_MIN, max=REASON_MAX),
            field="reason",
        )
    return text


def _recordable_keys(model: type) -> list[str]:
    """Columns whose values an audit entry may hold: never personal, secret or JSON ones."""
    return [
        c.key
        for c in sa.inspect(model).columns
        if not (is_personal(c) or c.info.get("secret") or c.info.get("json_schema") or isinstance(c.type, sa.JSON))
    ]


def recordable(row: Any) -> dict[str, Any]:
    return {key: getattr(row, key) for key in _recordable_keys(type(row))}


def withheld(model: type) -> list[str]:
    keys = set(_recordable_keys(model))
    return sorted(c.key for c in sa.inspect(model).columns if c.key not in keys)


def _parse_changes(entry: Correctable, changes: Any) -> dict[str, Any]:
    if not isinstance(changes, Mapping) or not changes:
        raise CorrectionRefused(_l("Say what to change, or delete the record."))
    parsed: dict[str, Any] = {}
    for name, raw in changes.items():
        parser = entry.fields.get(name) if isinstance(name, str) else None
        if parser is None:
            allowed = ", ".join(sorted(entry.fields)) or "-"
            raise CorrectionRefused(
                _l(
                    "%(column)s cannot be corrected here (allowed: %(allowed)s).",
                    column=str(name)[:50],
                    allowed=allowed,
                ),
                field=str(name)[:50],
            )
        parsed[name] = parser(raw)
    return parsed


def correct(
    model: type | str,
    row_id: Any,
    *,
    changes: dict[str, Any] | None,
    delete: bool,
    reason: str,
    actor: Any,
    session: Session | None = None,
) -> Correction:
    """Change the allowed columns of one computed row, or delete it, for an Admin with a reason; audited."""
    session = session or db.session
    entry = correctable(model)
    who = Actor.of(actor)
    if ADMIN not in who.roles:
        raise CorrectionRefused(_l("Only an Admin may correct computed records."), status=403)
    if delete is not True and delete is not False:
        raise CorrectionRefused(_l("Say what to change, or delete the record."))
    if delete and changes:
        raise CorrectionRefused(_l("Either change values or delete the record, not both."))
    if delete and not entry.deletable:
        raise CorrectionRefused(_l("Records of this kind cannot be deleted."))
    parsed = {} if delete else _parse_changes(entry, changes)
    text = check_reason(reason)
    row = get_scoped(session, entry.model, who, row_id, for_write=True) if _plain_id(row_id) else None
    if row is None:
        raise CorrectionRefused(_l("No such record."), status=404)
    table = entry.model.__tablename__
    before = recordable(row)
    if delete:
        session.delete(row)
    elif all(getattr(row, name) == value for name, value in parsed.items()):
        raise CorrectionRefused(_l("The new values are the same as the current ones: nothing to correct."))
    else:
        for name, value in parsed.items():
            setattr(row, name, value)
    session.flush()
    after = None if delete else recordable(row)
    row_key = str(before.get("id", row_id))
    record(
        ACTION,
        table,
        row_key,
        {
            "table": table,
            "row_id": row_key,
            "operation": "delete" if delete else "update",
            "before": before,
            "after": after,
            "withheld": withheld(entry.model),
            "reason": text,
        },
    )
    return Correction(table, row_key, before, after)


def _plain_id(row_id: Any) -> bool:
    """An id as the console sends it: a whole number (or its digits), nothing else reaches the query."""
    if isinstance(row_id, bool):
        return False
    if isinstance(row_id, int):
        return 0 < row_id < 2**63
    return isinstance(row_id, str) and row_id.isdigit() and row_id.isascii() and len(row_id) <= 19


def editable_fields(model: type | str) -> list[str]:
    """The columns a correction of this table may set (for the form)."""
    return sorted(correctable(model).fields)
