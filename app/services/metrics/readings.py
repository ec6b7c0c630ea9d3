"""One submitted reading, checked and normalised before anything is written.

A reading comes from JSON (a client app or a wearable bridge), so every field is checked for its
type as well as its value: a string where a number belongs is refused, not coerced. Bounds:

- ``value``: a JSON number that fits ``Numeric(14, 3)`` (|value| < 10^11), rounded half-even to
  three decimals (the column keeps three; a wearable sending 72.3333 is not wrong);
  the known metrics below also have a plausible range and their units.
- ``recorded_at``: ISO 8601 with an offset (a reading without one is ambiguous by up to a day),
  not before 2000 and not more than an hour ahead of the server (clock skew), stored in UTC;
  absent means now.
- ``metric_type``: a lowercase code (``weight``, ``resting_heart_rate``), ``unit`` a short code
  (``kg``, ``%``, ``bpm``). Unknown metric types are accepted, so a new device needs no release;
  a known type must use one of its units.
- ``source``: ``MANUAL`` (default) or ``WEARABLE``; a WEARABLE reading also needs an unrevoked
  wearable authorization of the customer, which ``ingest`` checks (it needs the database).
- ``client_key``: the sender's id for the reading (1-64 of ``A-Z a-z 0-9 . _ : ~ -``), optional;
  without it a retried request inserts the reading again.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.i18n import service_gettext as _
from app.models.analytics import MetricSource

FIELDS = frozenset({"customer_id", "metric_type", "value", "unit", "recorded_at", "source", "client_key"})
OLDEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
FUTURE_SKEW = dt.timedelta(hours=1)
LIMIT = decimal.Decimal("100000000000")  # 10^11: Numeric(14, 3) holds 11 digits before the point
QUANTUM = decimal.Decimal("0.001")
_KEY = re.compile(r"[A-Za-z0-9._:~-]{1,64}")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,49}")
_UNIT = re.compile(r"[A-Za-z%][A-Za-z0-9%/._-]{0,19}")
_D = decimal.Decimal

# metric type -> (its units, lowest and highest plausible value)
KNOWN_METRICS: dict[str, tuple[frozenset[str], decimal.Decimal, decimal.Decimal]] = {
    "weight": (frozenset({"kg", "lb"}), _D(0), _D(1500)),
    "body_fat": (frozenset({"%"}), _D(0), _D(100)),
    "steps": (frozenset({"steps"}), _D(0), _D(200000)),
    "resting_heart_rate": (frozenset({"bpm"}), _D(20), _D(300)),
    "sleep_hours": (frozenset({"h"}), _D(0), _D(24)),
}


@dataclass(frozen=True, slots=True)
class Reading:
    """A checked reading, ready for the INSERT."""

    customer_id: uuid.UUID
    metric_type: str
    value: decimal.Decimal
    unit: str
    recorded_at: dt.datetime
    source: MetricSource
    client_key: str | None

    def row(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "metric_type": self.metric_type,
            "value": self.value,
            "unit": self.unit,
            "recorded_at": self.recorded_at,
            "source": self.source,
            "client_key": self.client_key,
        }


def parse(item: Any, *, now: dt.datetime, default_customer: uuid.UUID | None) -> tuple[Reading | None, dict[str, str]]:
    """The reading, or None and the problems (field -> message) that refuse it."""
    if not isinstance(item, Mapping):
        return None, {"": _("Each reading must be an object.")}
    errors: dict[str, str] = {}
    if not item.keys() <= FIELDS:
        unknown = sorted(str(key)[:64] for key in item if key not in FIELDS)[0]
        errors[unknown] = _("%(name)s is not a field of a reading.", name=unknown)
    customer = _customer(item.get("customer_id"), default_customer, errors)
    metric_type = _code(item.get("metric_type"), "metric_type", _CODE, errors)
    unit = _code(item.get("unit"), "unit", _UNIT, errors)
    value = _value(item.get("value"), errors)
    recorded_at = _instant(item.get("recorded_at"), now, errors)
    source = _source(item.get("source"), errors)
    client_key = _client_key(item.get("client_key"), errors)
    if metric_type in KNOWN_METRICS and unit is not None and value is not None:
        units, low, high = KNOWN_METRICS[metric_type]
        if unit not in units:
            names = ", ".join(sorted(units))
            errors["unit"] = _("%(metric)s is measured in %(units)s.", metric=metric_type, units=names)
        elif not low <= value <= high:
            errors["value"] = _(
                "%(metric)s must be between %(low)s and %(high)s.", metric=metric_type, low=low, high=high
            )
    if errors:
        return None, errors
    return Reading(customer, metric_type, value, unit, recorded_at, source, client_key), {}  # type: ignore[arg-type]


def _customer(raw: Any, default: uuid.UUID | None, errors: dict[str, str]) -> uuid.UUID | None:
    if raw is None:
        if default is None:
            errors["customer_id"] = _("customer_id is required.")
        return default
    if isinstance(raw, uuid.UUID):
        return raw
    if isinstance(raw, str) and len(raw) <= 40:
        try:
            return uuid.UUID(raw)
        except ValueError:
            pass
    errors["customer_id"] = _("customer_id must be a customer's UUID.")
    return None


def _code(raw: Any, name: str, pattern: re.Pattern[str], errors: dict[str, str]) -> str | None:
    if raw is None:
        errors[name] = _("%(name)s is required.", name=name)
    elif not isinstance(raw, str) or not pattern.fullmatch(raw):
        if name == "unit":
            errors[name] = _("unit must be a short code such as kg, bpm or steps (at most 20 characters).")
        else:
            errors[name] = _("metric_type must be a lowercase code such as weight or resting_heart_rate.")
    else:
        return raw
    return None


def _value(raw: Any, errors: dict[str, str]) -> decimal.Decimal | None:
    if raw is None:
        errors["value"] = _("value is required.")
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float, decimal.Decimal)):
        errors["value"] = _("value must be a number.")
        return None
    if isinstance(raw, float) and not math.isfinite(raw):
        errors["value"] = _("value must be a finite number.")
        return None
    try:
        number = _D(repr(raw)) if isinstance(raw, float) else _D(raw)
        if not number.is_finite() or abs(number) >= LIMIT:
            raise decimal.InvalidOperation
        return number.quantize(QUANTUM, rounding=decimal.ROUND_HALF_EVEN)
    except (decimal.InvalidOperation, ValueError, OverflowError):
        errors["value"] = _("value must be smaller than 10^11 in size.")
        return None


def _instant(raw: Any, now: dt.datetime, errors: dict[str, str]) -> dt.datetime | None:
    if raw is None:
        return now
    when = None
    if isinstance(raw, str) and 10 <= len(raw) <= 40:
        try:
            when = dt.datetime.fromisoformat(raw)
        except ValueError:
            when = None
    if when is None:
        errors["recorded_at"] = _("recorded_at must be an ISO 8601 date and time, e.g. 2026-03-01T07:30:00Z.")
        return None
    if when.tzinfo is None or when.utcoffset() is None:
        errors["recorded_at"] = _("recorded_at needs a time zone offset (Z or +01:00).")
        return None
    try:
        when = when.astimezone(dt.UTC)
    except OverflowError:  # year 1 or 9999 moved across midnight by its offset
        when = None
    if when is None or when < OLDEST or when > now + FUTURE_SKEW:
        errors["recorded_at"] = _("recorded_at must lie between 2000-01-01 and now.")
        return None
    return when


def _source(raw: Any, errors: dict[str, str]) -> MetricSource | None:
    if raw is None:
        return MetricSource.MANUAL
    if isinstance(raw, str) and raw in MetricSource.__members__:
        return MetricSource(raw)
    errors["source"] = _("source must be MANUAL or WEARABLE.")
    return None


def _client_key(raw: Any, errors: dict[str, str]) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str) and _KEY.fullmatch(raw):
        return raw
    errors["client_key"] = _("client_key must be 1-64 letters, digits or . _ : ~ -")
    return None
