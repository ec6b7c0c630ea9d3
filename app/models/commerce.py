"""Commerce and billing: products, subscriptions, invoices, payments, promotions."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models import json_schemas as js
from app.models.base import CreatedAtMixin, Model, fk, json_column
from app.models.identity import PlatformUser
from app.models.types import Money, UTCDateTime, enum_column_type


class ProductCategory(enum.StrEnum):
    COACHING = "COACHING"
    PROGRAM = "PROGRAM"
    NUTRITION = "NUTRITION"
    CLASS_PACK = "CLASS_PACK"
    MEMBERSHIP = "MEMBERSHIP"


class SubscriptionStatus(enum.StrEnum):
    TRIAL = "TRIAL"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    PAST_DUE = "PAST_DUE"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


class InvoiceStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    OPEN = "OPEN"
    PAID = "PAID"
    VOID = "VOID"
    UNCOLLECTIBLE = "UNCOLLECTIBLE"
    REFUNDED = "REFUNDED"


class PaymentStatus(enum.StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    REFUNDED = "REFUNDED"


class PaymentMethod(enum.StrEnum):
    CARD = "CARD"
    SEPA_DEBIT = "SEPA_DEBIT"
    BANK_TRANSFER = "BANK_TRANSFER"
    PAYPAL = "PAYPAL"
    APPLE_PAY = "APPLE_PAY"
    GOOGLE_PAY = "GOOGLE_PAY"


class DiscountType(enum.StrEnum):
    PERCENT = "PERCENT"
    FIXED = "FIXED"


_CURRENCY = sa.String(3)


def _currency_check() -> sa.CheckConstraint:
    return sa.CheckConstraint("length(currency) = 3 AND upper(currency) = currency", name="currency_iso")


class Product(Model):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    category: Mapped[ProductCategory] = mapped_column(
        enum_column_type(ProductCategory, "product_category"), nullable=False, index=True
    )
    description: Mapped[str | None] = mapped_column(sa.Text)
    price: Mapped[decimal.Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(_CURRENCY, nullable=False, default="EUR")
    duration_weeks: Mapped[int | None] = mapped_column(sa.Integer)
    metadata_json = json_column(js.PRODUCT_METADATA)

    __table_args__ = (
        sa.CheckConstraint("price >= 0", name="price_non_negative"),
        sa.CheckConstraint("duration_weeks IS NULL OR duration_weeks > 0", name="duration_positive"),
        _currency_check(),
    )

    def __str__(self) -> str:
        return self.name


class Subscription(CreatedAtMixin, Model):
    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    product_id: Mapped[int] = fk("products.id", "RESTRICT")
    status: Mapped[SubscriptionStatus] = mapped_column(
        enum_column_type(SubscriptionStatus, "subscription_status"), nullable=False, index=True
    )
    start_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False, index=True, info={"personal": False})
    end_date: Mapped[dt.date | None] = mapped_column(sa.Date, info={"personal": False})
    renewal_date: Mapped[dt.date | None] = mapped_column(sa.Date, info={"personal": False})
    pause_until: Mapped[dt.date | None] = mapped_column(sa.Date, info={"personal": False})

    customer: Mapped[PlatformUser] = relationship(lazy="joined")
    product: Mapped[Product] = relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),)

    def __str__(self) -> str:
        return f"#{self.id}"


class Invoice(Model):
    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = fk("subscriptions.id", "RESTRICT")
    amount: Mapped[decimal.Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(_CURRENCY, nullable=False, default="EUR")
    due_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False, index=True)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[InvoiceStatus] = mapped_column(
        enum_column_type(InvoiceStatus, "invoice_status"), nullable=False, index=True
    )
    external_reference: Mapped[str | None] = mapped_column(sa.String(100), unique=True)

    subscription: Mapped[Subscription] = relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount_non_negative"), _currency_check())

    def __str__(self) -> str:
        return self.external_reference or f"#{self.id}"


class Payment(CreatedAtMixin, Model):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = fk("invoices.id", "RESTRICT")
    provider: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    method: Mapped[PaymentMethod] = mapped_column(enum_column_type(PaymentMethod, "payment_method"), nullable=False)
    amount: Mapped[decimal.Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(_CURRENCY, nullable=False, default="EUR")
    status: Mapped[PaymentStatus] = mapped_column(
        enum_column_type(PaymentStatus, "payment_status"), nullable=False, index=True
    )
    transaction_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    failure_reason: Mapped[str | None] = mapped_column(sa.String(200))

    invoice: Mapped[Invoice] = relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount_non_negative"), _currency_check())


class Promotion(Model):
    __tablename__ = "promotions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), nullable=False, unique=True)
    discount_type: Mapped[DiscountType] = mapped_column(enum_column_type(DiscountType, "discount_type"), nullable=False)
    value: Mapped[decimal.Decimal] = mapped_column(Money, nullable=False)
    start_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False, index=True)
    end_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    usage_limit: Mapped[int | None] = mapped_column(sa.Integer)

    __table_args__ = (
        sa.CheckConstraint("value >= 0", name="value_non_negative"),
        sa.CheckConstraint("discount_type <> 'PERCENT' OR value <= 100", name="percent_max_100"),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        sa.CheckConstraint("usage_limit IS NULL OR usage_limit >= 0", name="usage_limit_non_negative"),
    )

    def __str__(self) -> str:
        return self.code
