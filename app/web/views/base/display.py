"""Column values as people read them (lists, show pages) and as files carry them (CSV export)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
from typing import Any

from babel import dates as babel_dates
from flask import g, has_request_context
from flask_babel import format_date, format_datetime, format_decimal, get_locale, get_timezone
from flask_babel import gettext as _

from app.models.labels import code_label, enum_label
from app.web.views.base import references

# Text columns holding codes of a set in app.models.labels (shown by label; free text as written).
CODE_COLUMNS: dict[tuple[str, str], str] = {("Program", "goal"): "goal"}


def display_value(item: Any, column: str, money_columns: dict[str, str] | None = None) -> str:
    """A column value as a person reads it: names (linked for references), labels, money with currency, local dates."""
    if "." not in column:
        if references.is_reference(item, column):
            return references.reference_html(item, column)
        code_set = CODE_COLUMNS.get((type(item).__name__, column))
        if code_set is not None:
            return code_label(code_set, getattr(item, column, None))
    value: Any = item
    for part in column.split("."):
        value = getattr(value, part, None) if value is not None else None
    money_columns = money_columns or {}
    if column in money_columns and value is not None:
        return format_money(value, getattr(item, money_columns[column], None))
    return format_value(value)


def format_money(amount: Any, currency: str | None) -> str:
    """An amount with its currency, as lists and show pages print money ("1,234.50 EUR")."""
    return f"{format_decimal(amount, format='#,##0.00')} {currency or ''}".strip()


def minutes_pattern(locale: Any) -> str:
    """The locale's medium date with its short time: "Dec 3, 2026, 7:55 PM", "03.12.2026, 19:55" (no seconds)."""
    return (
        str(locale.datetime_formats["medium"])
        .replace("{1}", locale.date_formats["medium"].pattern)
        .replace("{0}", locale.time_formats["short"].pattern)
    )


def _local_datetime(value: dt.datetime) -> str:
    """A datetime in the viewer's locale and zone to the minute, both looked up once per request.

    Flask-Babel resolves both on every call (a dozen context-local lookups); a 100-row list
    formats a hundred times or more."""
    if not has_request_context():
        locale = get_locale()
        return format_datetime(value, minutes_pattern(locale)) if locale else format_datetime(value, "medium")
    viewer = g.__dict__.get("cd_datetime_viewer")
    if viewer is None:
        locale = get_locale()
        viewer = g.cd_datetime_viewer = (locale, get_timezone(), minutes_pattern(locale))
    locale, zone, pattern = viewer
    return babel_dates.format_datetime(value.astimezone(zone), pattern, locale=locale)


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, enum.Enum):
        return enum_label(value)
    if isinstance(value, dt.datetime):
        return _local_datetime(value) if value.tzinfo else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return format_date(value, "medium")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, decimal.Decimal):
        return format_decimal(value)
    if isinstance(value, (list, tuple, set)) and value and not isinstance(next(iter(value)), (str, int, float, dict)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def export_value(item: Any, column: str) -> str:
    """A column value for CSV: machine-readable (codes for enums, ISO dates, plain decimals, names for relations)."""
    value: Any = item
    for part in column.split("."):
        value = getattr(value, part, None) if value is not None else None
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).isoformat()  # files stay in UTC whatever the viewer's zone
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)) and value and not isinstance(next(iter(value)), (str, int, float, dict)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
