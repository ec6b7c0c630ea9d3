"""Money as ``Decimal`` rounded to each currency's minor units; a float is refused wherever money enters.

Amounts are stored as ``Numeric(12, 2)``; a currency with fewer minor units (JPY) is still rounded to
its own unit before it is stored, so what is billed is what a customer can pay.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from app.i18n import _l
from app.services.billing.errors import BillingError

# ISO 4217 minor units of the currencies we may sell in; any other 3-letter code gets 2.
MINOR_UNITS: dict[str, int] = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CAD": 2,
    "AUD": 2,
    "JPY": 0,
    "KRW": 0,
    "HUF": 2,
    "CZK": 2,
    "BHD": 3,
    "KWD": 3,
}
ZERO = Decimal(0)
HUNDRED = Decimal(100)


def exponent(currency: str) -> Decimal:
    """The smallest unit of ``currency`` as a Decimal exponent (``0.01`` for EUR, ``1`` for JPY)."""
    return Decimal(1).scaleb(-MINOR_UNITS.get(currency.upper(), 2))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up to the currency's minor unit."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    return amount.quantize(exponent(currency), rounding=ROUND_HALF_UP)


def parse_amount(value: object, currency: str, *, field: str = "amount") -> Decimal:
    """A positive-or-zero amount from a Decimal, int or decimal string; floats are refused (binary rounding)."""
    if isinstance(value, bool | float):
        raise BillingError(_l("Amounts must be exact decimals, not floating-point numbers."), field=field)
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise BillingError(_l("%(value)s is not an amount.", value=str(value)[:40]), field=field) from None
    if not amount.is_finite() or amount < 0:
        raise BillingError(_l("An amount must be zero or more."), field=field)
    rounded = quantize(amount, currency)
    if rounded != amount:
        raise BillingError(
            _l("%(currency)s amounts have at most %(n)s decimals.", currency=currency, n=MINOR_UNITS.get(currency, 2)),
            field=field,
        )
    if rounded >= Decimal("10000000000"):
        raise BillingError(_l("The amount is too large."), field=field)
    return rounded


def percent_of(amount: Decimal, percent: Decimal, currency: str) -> Decimal:
    """``percent`` % of ``amount``, rounded to the minor unit (never more than ``amount``)."""
    return min(amount, quantize(amount * percent / HUNDRED, currency))
