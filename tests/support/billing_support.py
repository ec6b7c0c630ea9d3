"""Billing test helpers: a product, a promotion, a customer in a zone, a fixed clock."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from app.extensions import db
from app.models.commerce import DiscountType, Product, ProductCategory, Promotion
from tests.support.plan_support import make_customer


def at(day: str, hour: int = 12) -> dt.datetime:
    """Noon UTC (or ``hour``) of an ISO date: the services' ``now``."""
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=dt.UTC)


def product(
    price: str = "50.00",
    currency: str = "EUR",
    *,
    interval: int | None = 1,
    trial_days: int = 0,
    weeks: int | None = None,
) -> Product:
    item = Product(
        name=f"Plan {uuid.uuid4().hex[:6]}",
        category=ProductCategory.COACHING,
        price=Decimal(price),
        currency=currency,
        interval_months=interval,
        trial_days=trial_days,
        duration_weeks=weeks,
    )
    db.session.add(item)
    db.session.commit()
    return item


def promotion(
    code: str = "SAVE10",
    kind: str = "PERCENT",
    value: str = "10.00",
    *,
    start: str = "2020-01-01",
    end: str | None = None,
    limit: int | None = None,
    periods: int | None = 1,
    currency: str | None = None,
) -> Promotion:
    promo = Promotion(
        code=code,
        discount_type=DiscountType(kind),
        value=Decimal(value),
        start_date=dt.date.fromisoformat(start),
        end_date=end and dt.date.fromisoformat(end),
        usage_limit=limit,
        duration_periods=periods,
        currency=currency or ("EUR" if kind == "FIXED" else None),
    )
    db.session.add(promo)
    db.session.commit()
    return promo


def customer(name: str = "Cara", zone: str = "UTC") -> uuid.UUID:
    return make_customer(name, timezone=zone)
