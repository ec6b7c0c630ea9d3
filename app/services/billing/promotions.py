"""Promotions: redeem a code for a subscription, and the discount it gives each invoice while it lasts.

``usage_limit`` holds under concurrency because a redemption is one conditional UPDATE
(``times_redeemed + 1 WHERE times_redeemed < usage_limit``) whose row count says whether this
redemption got a use: two sessions racing for the last use serialise on the row, and the second
sees the limit reached (rowcount 0). The CHECK constraint backs it up.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.i18n import _l
from app.models.commerce import DiscountType, Promotion, PromotionRedemption, Subscription
from app.services.billing import money
from app.services.billing.errors import BillingError


def find_promotion(session: Session, code: str, *, on: dt.date, currency: str) -> Promotion:
    """The promotion with ``code`` valid ``on`` that date for ``currency``, or a refusal saying why not."""
    clean = (code or "").strip().upper()
    promotion = session.scalar(sa.select(Promotion).where(sa.func.upper(Promotion.code) == clean)) if clean else None
    if promotion is None:
        raise BillingError(_l("No promotion has the code %(code)s.", code=clean[:40]), field="promotion_code")
    if on < promotion.start_date or (promotion.end_date is not None and on > promotion.end_date):
        raise BillingError(
            _l("The promotion %(code)s is not valid on %(day)s.", code=promotion.code, day=on.isoformat()),
            field="promotion_code",
            code="promotion_expired",
        )
    if promotion.discount_type == DiscountType.FIXED and promotion.currency != currency:
        raise BillingError(
            _l(
                "The promotion %(code)s applies to %(currency)s prices only.",
                code=promotion.code,
                currency=promotion.currency or "",
            ),
            field="promotion_code",
            code="currency_mismatch",
        )
    if promotion.usage_limit is not None and promotion.times_redeemed >= promotion.usage_limit:
        raise _used_up(promotion)
    return promotion


def _used_up(promotion: Promotion) -> BillingError:
    return BillingError(
        _l("The promotion %(code)s has been used up.", code=promotion.code),
        field="promotion_code",
        code="promotion_used_up",
    )


def redeem(session: Session, promotion: Promotion, sub: Subscription, at: dt.datetime) -> PromotionRedemption:
    """Count one use of ``promotion`` (refused when none is left) and attach it to ``sub``."""
    if session.scalar(
        sa.select(PromotionRedemption.id).where(
            PromotionRedemption.promotion_id == promotion.id, PromotionRedemption.subscription_id == sub.id
        )
    ):
        raise BillingError(
            _l("The promotion %(code)s is already applied to this subscription.", code=promotion.code),
            field="promotion_code",
            code="already_redeemed",
        )
    table = Promotion.__table__
    result = session.execute(
        sa.update(table)
        .where(table.c.id == promotion.id)
        .where(sa.or_(table.c.usage_limit.is_(None), table.c.times_redeemed < table.c.usage_limit))
        .values(times_redeemed=table.c.times_redeemed + 1)
    )
    if result.rowcount != 1:
        raise _used_up(promotion)
    session.expire(promotion, ["times_redeemed"])
    redemption = PromotionRedemption(
        promotion_id=promotion.id,
        subscription_id=sub.id,
        customer_id=sub.customer_id,
        redeemed_at=at,
        periods_remaining=promotion.duration_periods,
    )
    session.add(redemption)
    session.flush()
    return redemption


def discount(promotion: Promotion, subtotal: Decimal, currency: str) -> Decimal:
    """What ``promotion`` takes off ``subtotal`` (never more than it; zero for a FIXED one in another currency)."""
    return compute_discount(promotion.discount_type, promotion.value, promotion.currency, subtotal, currency)


def compute_discount(
    kind: str, value: Decimal, promo_currency: str | None, subtotal: Decimal, currency: str
) -> Decimal:
    if kind == DiscountType.PERCENT:
        return money.percent_of(subtotal, value, currency)
    if promo_currency != currency:
        return money.ZERO
    return min(subtotal, money.quantize(value, currency))


def active_redemption(session: Session, sub_id: int) -> PromotionRedemption | None:
    """The redemption whose discount the subscription's next invoice gets (the oldest with periods left)."""
    return session.scalar(
        sa.select(PromotionRedemption)
        .where(PromotionRedemption.subscription_id == sub_id)
        .where(sa.or_(PromotionRedemption.periods_remaining.is_(None), PromotionRedemption.periods_remaining > 0))
        .order_by(PromotionRedemption.id)
        .limit(1)
    )


def consume_period(redemption: PromotionRedemption) -> None:
    if redemption.periods_remaining is not None:
        redemption.periods_remaining -= 1
