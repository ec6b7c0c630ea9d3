"""Billing that runs itself, message delivery and announcements, computed badges and challenges (issue 16)

- ``products``: months between renewals (NULL: a one-off purchase) and trial days.
- ``subscriptions``: the billed period, the renewal anchor day, trial end, cancel at period end,
  cancellation and pause times; (status, renewal_date) for the daily renewal scan.
- ``invoices``: the billed period (unique per subscription: renewals are idempotent), subtotal, discount
  and promotion, amounts paid and refunded, issue and void times; checks that the amounts agree.
- ``payments``: the refunded part of a payment. ``promotions``: times redeemed (never above the usage
  limit), how many periods a discount lasts, a FIXED discount's currency.
- ``promotion_redemptions`` and ``dunning_steps`` (retries of a failed payment).
- ``message_deliveries``: a message or announcement to one recipient over one channel, with retries.
- ``announcements``: typed segment criteria, marketing flag, audience size and send counts, author.
- ``challenges``: last ranking and finalization; ``challenge_results.joined_at``.

Existing rows are backfilled so the new checks hold: an invoice's subtotal is its amount, a PAID one
was paid in full (at its due date when no time was kept), a REFUNDED one paid and refunded in full.

Revision ID: 0016_billing_engagement
Revises: 0015_api_mfa
"""

import sqlalchemy as sa
from alembic import op

import app.models.types as cdtypes  # noqa: F401

revision = "0016_billing_engagement"
down_revision = "0015_api_mfa"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "promotion_redemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("promotion_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("redeemed_at", cdtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("periods_remaining", sa.SmallInteger(), nullable=True),
        sa.CheckConstraint(
            "periods_remaining IS NULL OR periods_remaining >= 0",
            name=op.f("ck_promotion_redemptions_periods_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["users.id"], name=op.f("fk_promotion_redemptions_customer_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotions.id"],
            name=op.f("fk_promotion_redemptions_promotion_id_promotions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_promotion_redemptions_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_redemptions")),
        sa.UniqueConstraint(
            "promotion_id", "subscription_id", name=op.f("uq_promotion_redemptions_promotion_id_subscription_id")
        ),
    )
    with op.batch_alter_table("promotion_redemptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_promotion_redemptions_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_promotion_redemptions_subscription_id"), ["subscription_id"], unique=False)

    op.create_table(
        "message_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("announcement_id", sa.Integer(), nullable=True),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("EMAIL", "SMS", "PUSH", "INAPP", name="channel", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "QUEUED", "SENT", "FAILED", "SKIPPED", name="delivery_status", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", cdtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("sent_at", cdtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", cdtypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(message_id IS NULL) <> (announcement_id IS NULL)", name=op.f("ck_message_deliveries_one_source")
        ),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_message_deliveries_announcement_id_announcements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_message_deliveries_message_id_messages"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["users.id"], name=op.f("fk_message_deliveries_recipient_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_deliveries")),
        sa.UniqueConstraint(
            "announcement_id",
            "recipient_id",
            "channel",
            name=op.f("uq_message_deliveries_announcement_id_recipient_id_channel"),
        ),
        sa.UniqueConstraint("message_id", "channel", name=op.f("uq_message_deliveries_message_id_channel")),
    )
    with op.batch_alter_table("message_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_deliveries_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_message_deliveries_recipient_id"), ["recipient_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_message_deliveries_status_next_attempt_at"), ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "dunning_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.SmallInteger(), nullable=False),
        sa.Column("scheduled_for", cdtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "SCHEDULED",
                "SUCCEEDED",
                "FAILED",
                "CANCELLED",
                name="dunning_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("attempted_at", cdtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("created_at", cdtypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("attempt >= 1", name=op.f("ck_dunning_steps_attempt_positive")),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_dunning_steps_invoice_id_invoices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_dunning_steps_payment_id_payments"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_dunning_steps_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_steps")),
        sa.UniqueConstraint("invoice_id", "attempt", name=op.f("uq_dunning_steps_invoice_id_attempt")),
    )
    with op.batch_alter_table("dunning_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dunning_steps_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_dunning_steps_payment_id"), ["payment_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_dunning_steps_status_scheduled_for"), ["status", "scheduled_for"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_dunning_steps_subscription_id"), ["subscription_id"], unique=False)

    with op.batch_alter_table("announcements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("segment_json", cdtypes.JSONDocument(), nullable=True))
        batch_op.add_column(sa.Column("is_marketing", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("audience_size", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("sent_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("skipped_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("failed_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("created_by_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_announcements_created_by_id"), ["created_by_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_announcements_created_by_id_users"), "users", ["created_by_id"], ["id"], ondelete="SET NULL"
        )

    with op.batch_alter_table("challenge_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("joined_at", cdtypes.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ranked_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("finalized_at", cdtypes.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("period_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("period_end", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("subtotal", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("discount_amount", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("promotion_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("amount_paid", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("amount_refunded", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("issued_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("voided_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_invoices_promotion_id"), ["promotion_id"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_invoices_subscription_id_period_start"), ["subscription_id", "period_start"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_invoices_promotion_id_promotions"),
            "promotions",
            ["promotion_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.execute("UPDATE invoices SET subtotal = amount")
    op.execute("UPDATE invoices SET paid_at = due_date WHERE status IN ('PAID', 'REFUNDED') AND paid_at IS NULL")
    op.execute("UPDATE invoices SET amount_paid = amount WHERE status IN ('PAID', 'REFUNDED')")
    op.execute("UPDATE invoices SET amount_refunded = amount WHERE status = 'REFUNDED'")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_check_constraint(
            batch_op.f("ck_invoices_amount_is_subtotal_less_discount"), "amount = subtotal - discount_amount"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_invoices_discount_range"), "discount_amount >= 0 AND discount_amount <= subtotal"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_invoices_paid_non_negative"), "amount_paid >= 0 AND amount_refunded >= 0"
        )
        batch_op.create_check_constraint(batch_op.f("ck_invoices_refund_within_paid"), "amount_refunded <= amount_paid")
        batch_op.create_check_constraint(
            batch_op.f("ck_invoices_paid_has_time"), "status <> 'PAID' OR paid_at IS NOT NULL"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_invoices_period_order"), "period_end IS NULL OR period_end > period_start"
        )

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("refunded_amount", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("refunded_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE payments SET refunded_amount = amount WHERE status = 'REFUNDED'")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_check_constraint(
            batch_op.f("ck_payments_refund_within_amount"), "refunded_amount >= 0 AND refunded_amount <= amount"
        )

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("interval_months", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("trial_days", sa.SmallInteger(), server_default="0", nullable=False))
        batch_op.create_check_constraint(
            batch_op.f("ck_products_interval_range"), "interval_months IS NULL OR interval_months BETWEEN 1 AND 36"
        )
        batch_op.create_check_constraint(batch_op.f("ck_products_trial_days_range"), "trial_days BETWEEN 0 AND 365")
    op.execute("UPDATE products SET interval_months = 1 WHERE category IN ('COACHING', 'MEMBERSHIP', 'NUTRITION')")

    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("times_redeemed", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("duration_periods", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
    op.execute("UPDATE promotions SET currency = 'EUR' WHERE discount_type = 'FIXED'")
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.create_check_constraint(
            batch_op.f("ck_promotions_redeemed_within_limit"), "usage_limit IS NULL OR times_redeemed <= usage_limit"
        )
        batch_op.create_check_constraint(batch_op.f("ck_promotions_redeemed_non_negative"), "times_redeemed >= 0")
        batch_op.create_check_constraint(
            batch_op.f("ck_promotions_duration_positive"), "duration_periods IS NULL OR duration_periods >= 1"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_promotions_fixed_has_currency"), "discount_type <> 'FIXED' OR currency IS NOT NULL"
        )

    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("current_period_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("current_period_end", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("billing_anchor_day", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("trial_end", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("cancel_at_period_end", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("cancelled_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("paused_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_subscriptions_status_renewal_date"), ["status", "renewal_date"], unique=False
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_subscriptions_anchor_day"),
            "billing_anchor_day IS NULL OR billing_anchor_day BETWEEN 1 AND 31",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_subscriptions_period_order"),
            "current_period_end IS NULL OR current_period_end > current_period_start",
        )


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_subscriptions_period_order"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_subscriptions_anchor_day"), type_="check")
        batch_op.drop_index(batch_op.f("ix_subscriptions_status_renewal_date"))
        batch_op.drop_column("paused_at")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("cancel_at_period_end")
        batch_op.drop_column("trial_end")
        batch_op.drop_column("billing_anchor_day")
        batch_op.drop_column("current_period_end")
        batch_op.drop_column("current_period_start")

    with op.batch_alter_table("promotions", schema=None) as batch_op:
        for name in ("fixed_has_currency", "duration_positive", "redeemed_non_negative", "redeemed_within_limit"):
            batch_op.drop_constraint(batch_op.f(f"ck_promotions_{name}"), type_="check")
        batch_op.drop_column("currency")
        batch_op.drop_column("duration_periods")
        batch_op.drop_column("times_redeemed")

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_products_trial_days_range"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_products_interval_range"), type_="check")
        batch_op.drop_column("trial_days")
        batch_op.drop_column("interval_months")

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_payments_refund_within_amount"), type_="check")
        batch_op.drop_column("refunded_at")
        batch_op.drop_column("refunded_amount")

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        for name in (
            "period_order",
            "paid_has_time",
            "refund_within_paid",
            "paid_non_negative",
            "discount_range",
            "amount_is_subtotal_less_discount",
        ):
            batch_op.drop_constraint(batch_op.f(f"ck_invoices_{name}"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_invoices_promotion_id_promotions"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_invoices_subscription_id_period_start"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_invoices_promotion_id"))
        batch_op.drop_column("voided_at")
        batch_op.drop_column("issued_at")
        batch_op.drop_column("amount_refunded")
        batch_op.drop_column("amount_paid")
        batch_op.drop_column("promotion_id")
        batch_op.drop_column("discount_amount")
        batch_op.drop_column("subtotal")
        batch_op.drop_column("period_end")
        batch_op.drop_column("period_start")

    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.drop_column("finalized_at")
        batch_op.drop_column("ranked_at")

    with op.batch_alter_table("challenge_results", schema=None) as batch_op:
        batch_op.drop_column("joined_at")

    with op.batch_alter_table("announcements", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_announcements_created_by_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_announcements_created_by_id"))
        batch_op.drop_column("created_by_id")
        batch_op.drop_column("failed_count")
        batch_op.drop_column("skipped_count")
        batch_op.drop_column("sent_count")
        batch_op.drop_column("audience_size")
        batch_op.drop_column("is_marketing")
        batch_op.drop_column("segment_json")

    with op.batch_alter_table("dunning_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dunning_steps_subscription_id"))
        batch_op.drop_index(batch_op.f("ix_dunning_steps_status_scheduled_for"))
        batch_op.drop_index(batch_op.f("ix_dunning_steps_payment_id"))
        batch_op.drop_index(batch_op.f("ix_dunning_steps_created_at"))

    op.drop_table("dunning_steps")
    with op.batch_alter_table("message_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_deliveries_status_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_message_deliveries_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_message_deliveries_created_at"))

    op.drop_table("message_deliveries")
    with op.batch_alter_table("promotion_redemptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promotion_redemptions_subscription_id"))
        batch_op.drop_index(batch_op.f("ix_promotion_redemptions_customer_id"))

    op.drop_table("promotion_redemptions")
