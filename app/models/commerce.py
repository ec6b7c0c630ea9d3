"""Commerce and billing: products, subscriptions, invoices, payments, promotions."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models import json_schemas as js
from app.models.base import CreatedAtMixin, Model, fk, json_column, trigram_index, utcnow
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


class DunningStatus(enum.StrEnum):
    SCHEDULED = "SCHEDULED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


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
    # Months between renewals of a subscription to it; NULL for a one-off purchase (never renews).
    interval_months: Mapped[int | None] = mapped_column(sa.SmallInteger)
    trial_days: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False, default=0, server_default="0")
    metadata_json = json_column(js.PRODUCT_METADATA)

    __table_args__ = (
        sa.CheckConstraint("price >= 0", name="price_non_negative"),
        sa.CheckConstraint("duration_weeks IS NULL OR duration_weeks > 0", name="duration_positive"),
        sa.CheckConstraint("interval_months IS NULL OR interval_months BETWEEN 1 AND 36", name="interval_range"),
        sa.CheckConstraint("trial_days BETWEEN 0 AND 365", name="trial_days_range"),
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
    # The billed period [start, end): renewal_date is the next period's start (= current_period_end).
    current_period_start: Mapped[dt.date | None] = mapped_column(sa.Date, info={"personal": False})
    current_period_end: Mapped[dt.date | None] = mapped_column(sa.Date, info={"personal": False})
    # The day of month renewals fall on (29-31 clamp to a short month's last day, then spring back).
    billing_anchor_day: Mapped[int | None] = mapped_column(sa.SmallInteger, info={"personal": False})
    trial_end: Mapped[dt.date | None] = mapped_column(sa.Date, info={"personal": False})
    cancel_at_period_end: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    paused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    customer: Mapped[PlatformUser] = relationship(lazy="joined")
    product: Mapped[Product] = relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        sa.CheckConstraint("billing_anchor_day IS NULL OR billing_anchor_day BETWEEN 1 AND 31", name="anchor_day"),
        sa.CheckConstraint(
            "current_period_end IS NULL OR current_period_end > current_period_start", name="period_order"
        ),
        # The daily renewal job's scan: due subscriptions by state and date.
        sa.Index(None, "status", "renewal_date"),
    )

    def __str__(self) -> str:
        """Its product and customer, as people name a subscription (both relations load with it)."""
        if self.product is not None and self.customer is not None:
            return f"{self.product} · {self.customer}"
        return f"#{self.id}"


def _param(context: Any, name: str) -> Any:
    return context.get_current_parameters().get(name)


def _default_subtotal(context: Any) -> decimal.Decimal:
    """A row written without a subtotal had no discount: its subtotal is its amount (plus any discount)."""
    return (_param(context, "amount") or 0) + (_param(context, "discount_amount") or 0)


def _default_paid(context: Any) -> decimal.Decimal:
    """A row written as PAID or REFUNDED without the paid total was paid in full."""
    settled = str(_param(context, "status") or "") in (InvoiceStatus.PAID, InvoiceStatus.REFUNDED)
    return (_param(context, "amount") or decimal.Decimal(0)) if settled else decimal.Decimal(0)


def _default_refunded(context: Any) -> decimal.Decimal:
    refunded = str(_param(context, "status") or "") == InvoiceStatus.REFUNDED
    return (_param(context, "amount") or decimal.Decimal(0)) if refunded else decimal.Decimal(0)


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
    # The billed period: one invoice per subscription and period (the renewal job's idempotency key).
    period_start: Mapped[dt.date | None] = mapped_column(sa.Date)
    period_end: Mapped[dt.date | None] = mapped_column(sa.Date)
    # amount = subtotal - discount_amount; what was paid and refunded, kept by the payment service.
    subtotal: Mapped[decimal.Decimal] = mapped_column(
        Money, nullable=False, default=_default_subtotal, server_default="0"
    )
    discount_amount: Mapped[decimal.Decimal] = mapped_column(Money, nullable=False, default=0, server_default="0")
    promotion_id: Mapped[int | None] = fk("promotions.id", "SET NULL", nullable=True)
    amount_paid: Mapped[decimal.Decimal] = mapped_column(
        Money, nullable=False, default=_default_paid, server_default="0"
    )
    amount_refunded: Mapped[decimal.Decimal] = mapped_column(
        Money, nullable=False, default=_default_refunded, server_default="0"
    )
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    subscription: Mapped[Subscription] = relationship(lazy="joined")
    promotion: Mapped[Promotion | None] = relationship(lazy="select")

    __table_args__ = (
        sa.CheckConstraint("amount >= 0", name="amount_non_negative"),
        _currency_check(),
        sa.UniqueConstraint("subscription_id", "period_start"),
        trigram_index("invoices", "external_reference"),
        sa.CheckConstraint("amount = subtotal - discount_amount", name="amount_is_subtotal_less_discount"),
        sa.CheckConstraint("discount_amount >= 0 AND discount_amount <= subtotal", name="discount_range"),
        sa.CheckConstraint("amount_paid >= 0 AND amount_refunded >= 0", name="paid_non_negative"),
        sa.CheckConstraint("amount_refunded <= amount_paid", name="refund_within_paid"),
        sa.CheckConstraint("status <> 'PAID' OR paid_at IS NOT NULL", name="paid_has_time"),
        sa.CheckConstraint("period_end IS NULL OR period_end > period_start", name="period_order"),
    )

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
    refunded_amount: Mapped[decimal.Decimal] = mapped_column(Money, nullable=False, default=0, server_default="0")
    refunded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    invoice: Mapped[Invoice] = relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("amount >= 0", name="amount_non_negative"),
        _currency_check(),
        sa.CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refund_within_amount"),
    )


class Promotion(Model):
    __tablename__ = "promotions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), nullable=False, unique=True)
    discount_type: Mapped[DiscountType] = mapped_column(enum_column_type(DiscountType, "discount_type"), nullable=False)
    value: Mapped[decimal.Decimal] = mapped_column(Money, nullable=False)
    start_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False, index=True)
    end_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    usage_limit: Mapped[int | None] = mapped_column(sa.Integer)
    # Raised by one conditional UPDATE per redemption, so usage_limit holds under concurrency.
    times_redeemed: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    # How many billing periods the discount applies to once redeemed; NULL for every period.
    duration_periods: Mapped[int | None] = mapped_column(sa.SmallInteger, default=1)
    # A FIXED discount's currency: it applies only to invoices in that currency.
    currency: Mapped[str | None] = mapped_column(_CURRENCY)

    __table_args__ = (
        sa.CheckConstraint("usage_limit IS NULL OR times_redeemed <= usage_limit", name="redeemed_within_limit"),
        sa.CheckConstraint("times_redeemed >= 0", name="redeemed_non_negative"),
        sa.CheckConstraint("duration_periods IS NULL OR duration_periods >= 1", name="duration_positive"),
        sa.CheckConstraint("discount_type <> 'FIXED' OR currency IS NOT NULL", name="fixed_has_currency"),
        sa.CheckConstraint("value >= 0", name="value_non_negative"),
        sa.CheckConstraint("discount_type <> 'PERCENT' OR value <= 100", name="percent_max_100"),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        sa.CheckConstraint("usage_limit IS NULL OR usage_limit >= 0", name="usage_limit_non_negative"),
    )

    def __str__(self) -> str:
        return self.code


class PromotionRedemption(Model):
    """A promotion applied to one subscription: counted against ``usage_limit`` once, at redemption."""

    __tablename__ = "promotion_redemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed as the leading column of uq_promotion_redemptions_promotion_id_subscription_id.
    promotion_id: Mapped[int] = fk("promotions.id", "RESTRICT", index=False)
    subscription_id: Mapped[int] = fk("subscriptions.id", "CASCADE")
    customer_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    redeemed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    # Billing periods the discount still applies to; NULL for every period.
    periods_remaining: Mapped[int | None] = mapped_column(sa.SmallInteger)

    promotion: Mapped[Promotion] = relationship(lazy="joined")
    subscription: Mapped[Subscription] = relationship(lazy="select")

    __table_args__ = (
        sa.UniqueConstraint("promotion_id", "subscription_id"),
        sa.CheckConstraint("periods_remaining IS NULL OR periods_remaining >= 0", name="periods_non_negative"),
    )


class DunningStep(CreatedAtMixin, Model):
    """One scheduled retry of a failed invoice payment (dunning), shown on the subscription's timeline."""

    __tablename__ = "dunning_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed as the leading column of uq_dunning_steps_invoice_id_attempt.
    invoice_id: Mapped[int] = fk("invoices.id", "CASCADE", index=False)
    subscription_id: Mapped[int] = fk("subscriptions.id", "CASCADE")
    attempt: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
    scheduled_for: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    status: Mapped[DunningStatus] = mapped_column(
        enum_column_type(DunningStatus, "dunning_status"), nullable=False, default=DunningStatus.SCHEDULED
    )
    attempted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    payment_id: Mapped[int | None] = fk("payments.id", "SET NULL", nullable=True)

    invoice: Mapped[Invoice] = relationship(lazy="select")

    __table_args__ = (
        sa.UniqueConstraint("invoice_id", "attempt"),
        sa.CheckConstraint("attempt >= 1", name="attempt_positive"),
        # The retry job's scan: due steps.
        sa.Index(None, "status", "scheduled_for"),
    )
