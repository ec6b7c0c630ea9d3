"""One import column: its header, whether it is required, and how a cell's text becomes a value.

A cell is text (CSV) or whatever openpyxl read (XLSX: numbers, dates); ``Column.convert`` turns it
into the Python value the insert needs, or raises ``CellError`` with a message a person can act on.
Enums are accepted by code or by label in any of the console's languages, so a file exported with
labels imports back.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from app.models.labels import enum_label, humanize
from app.services.timezones import is_valid_zone

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
CURRENCY = re.compile(r"[A-Z]{3}")
URL = re.compile(r"https?://\S+")
MAX_MONEY = decimal.Decimal("9999999999.99")


class CellError(ValueError):
    """A cell that cannot become the column's value; the message says why."""


@dataclass(frozen=True)
class Column:
    """A header the file may carry and the rule for its cells."""

    name: str
    kind: str = "text"  # text | email | int | decimal | date | enum | currency | zone | url | bool
    required: bool = False
    max_length: int | None = None
    minimum: Any = None
    maximum: Any = None
    enum_cls: type[enum.Enum] | None = None
    default: Any = None
    help: str = ""
    _lookup: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def convert(self, raw: Any) -> Any:
        """The cell's value (``default`` when empty), or ``CellError``."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if self.required:
                raise CellError(_("required"))
            return self.default
        handler: Callable[[Any], Any] = getattr(self, f"_as_{self.kind}")
        return handler(raw)

    def _text(self, raw: Any) -> str:
        text = raw.isoformat() if isinstance(raw, dt.date) else str(raw)
        text = text.strip()
        if "\x00" in text:
            raise CellError(_("contains a NUL byte"))
        if self.max_length is not None and len(text) > self.max_length:
            raise CellError(_("longer than %(n)s characters", n=self.max_length))
        return text

    def _as_text(self, raw: Any) -> str:
        return self._text(raw)

    def _as_email(self, raw: Any) -> str:
        text = self._text(raw).lower()
        if not EMAIL.fullmatch(text):
            raise CellError(_("not an email address"))
        return text

    def _as_url(self, raw: Any) -> str:
        text = self._text(raw)
        if not URL.fullmatch(text):
            raise CellError(_("not an http(s) address"))
        return text

    def _as_currency(self, raw: Any) -> str:
        text = self._text(raw).upper()
        if not CURRENCY.fullmatch(text):
            raise CellError(_("not a three-letter currency code"))
        return text

    def _as_zone(self, raw: Any) -> str:
        text = self._text(raw)
        if not is_valid_zone(text):
            raise CellError(_("not a known time zone"))
        return text

    def _as_int(self, raw: Any) -> int:
        if isinstance(raw, bool):
            raise CellError(_("not a whole number"))
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        try:
            value = int(str(raw).strip()) if not isinstance(raw, int) else raw
        except ValueError:
            raise CellError(_("not a whole number")) from None
        self._bounds(value)
        return value

    def _as_decimal(self, raw: Any) -> decimal.Decimal:
        try:
            value = decimal.Decimal(str(raw).strip().replace(",", "."))
        except decimal.InvalidOperation:
            raise CellError(_("not a number")) from None
        if not value.is_finite() or abs(value) > MAX_MONEY:
            raise CellError(_("not a number"))
        if value != value.quantize(decimal.Decimal("0.01")):
            raise CellError(_("more than two decimal places"))
        self._bounds(value)
        return value.quantize(decimal.Decimal("0.01"))

    def _bounds(self, value: Any) -> None:
        if self.minimum is not None and value < self.minimum:
            raise CellError(_("less than %(n)s", n=self.minimum))
        if self.maximum is not None and value > self.maximum:
            raise CellError(_("more than %(n)s", n=self.maximum))

    def _as_date(self, raw: Any) -> dt.date:
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        try:
            value = dt.date.fromisoformat(str(raw).strip())
        except ValueError:
            raise CellError(_("not a date (YYYY-MM-DD)")) from None
        if not dt.date(1900, 1, 2) <= value <= dt.date(2200, 12, 31):
            raise CellError(_("a date out of range"))
        return value

    def _as_bool(self, raw: Any) -> bool:
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "y"):
            return True
        if text in ("0", "false", "no", "n"):
            return False
        raise CellError(_("not yes or no"))

    def _as_enum(self, raw: Any) -> str:
        text = self._text(raw).casefold()
        if not self._lookup:
            self._lookup.update(enum_lookup(self.enum_cls))
        code = self._lookup.get(text)
        if code is None:
            allowed = ", ".join(str(m.value) for m in self.enum_cls or ())
            raise CellError(_("not one of %(allowed)s", allowed=allowed))
        return code


def enum_lookup(enum_cls: type[enum.Enum] | None) -> dict[str, str]:
    """Every spelling a person may use for a member (code, readable code, label in each language) -> code."""
    lookup: dict[str, str] = {}
    for member in enum_cls or ():
        code = str(member.value)
        lookup[code.casefold()] = code
        lookup[humanize(code).casefold()] = code
    languages = current_app.config.get("LANGUAGES") or {"en": "English"}
    for language in languages:
        with force_locale(language):
            for member in enum_cls or ():
                lookup.setdefault(enum_label(member).casefold(), str(member.value))
    return lookup
