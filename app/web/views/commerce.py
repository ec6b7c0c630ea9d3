"""Commerce and billing: products, subscriptions, invoices, payments, promotions."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import validators as wtv

from app.models.commerce import Invoice, Payment, Product, Promotion, Subscription
from app.services import console_actions
from app.web.views.base.area import register_area
from app.web.views.base.datamodel import ScopedSQLAInterface
from app.web.views.base.model_view import CoachdeskModelView
from app.web.views.billing_pages import InvoicePages, PaymentPages, SubscriptionPages

_CURRENCY = [wtv.Regexp(r"^[A-Z]{3}$", message=_l("Use a three-letter ISO 4217 code such as EUR."))]


class PaymentView(PaymentPages, CoachdeskModelView):
    route_base = "/payments"
    datamodel = ScopedSQLAInterface(Payment)
    class_permission_name = "Payments"
    list_title = show_title = _l("Payments")
    list_columns = ["invoice", "amount", "method", "provider", "status", "transaction_id", "created_at"]
    show_columns = [*list_columns, "failure_reason", "refunded_amount", "refunded_at"]
    # Payments are recorded on their invoice's page and refunded on their own, through the billing
    # services (so the invoice's paid total and status move with them); never typed in a form.
    exclude_route_methods = {"add", "edit", "delete"}
    add_columns = edit_columns = ["transaction_id"]
    show_template = "billing/payment_show.html"
    money_columns = {"amount": "currency", "refunded_amount": "currency"}
    validators_columns = {"currency": _CURRENCY}
    search_text_columns = ("provider", "transaction_id", "failure_reason")
    filter_columns = ("status", "method", "amount", "created_at", "invoice")
    base_order = ("created_at", "desc")
    label_columns = {
        "invoice": _l("Invoice"),
        "provider": _l("Provider"),
        "method": _l("Method"),
        "amount": _l("Amount"),
        "currency": _l("Currency"),
        "status": _l("Status"),
        "transaction_id": _l("Transaction"),
        "failure_reason": _l("Failure reason"),
        "refunded_amount": _l("Refunded"),
        "refunded_at": _l("Refunded at"),
        "created_at": _l("Created"),
    }


class InvoiceView(InvoicePages, CoachdeskModelView):
    route_base = "/invoices"
    datamodel = ScopedSQLAInterface(Invoice)
    class_permission_name = "Invoices"
    list_title = show_title = _l("Invoices")
    list_columns = ["external_reference", "subscription", "amount", "status", "due_date", "paid_at"]
    show_columns = [
        "external_reference", "subscription", "status", "period_start", "period_end", "subtotal",
        "discount_amount", "promotion", "amount", "amount_paid", "amount_refunded", "due_date", "issued_at",
        "paid_at", "voided_at",
    ]  # fmt: skip
    # Invoices are issued by subscriptions (creation and renewal) and change only through payments,
    # refunds, void and uncollectible: the amounts always agree with the payments behind them.
    exclude_route_methods = {"add", "edit", "delete"}
    add_columns = edit_columns = ["external_reference"]
    show_template = "billing/invoice_show.html"
    money_columns = {
        "amount": "currency", "subtotal": "currency", "discount_amount": "currency", "amount_paid": "currency",
        "amount_refunded": "currency",
    }  # fmt: skip
    validators_columns = {"currency": _CURRENCY}
    search_text_columns = ("external_reference",)
    filter_columns = ("status", "due_date", "paid_at", "amount", "subscription")
    base_order = ("due_date", "desc")
    related_views = [PaymentView]
    label_columns = {
        "external_reference": _l("Reference"),
        "subscription": _l("Subscription"),
        "amount": _l("Amount"),
        "currency": _l("Currency"),
        "status": _l("Status"),
        "due_date": _l("Due"),
        "paid_at": _l("Paid"),
        "period_start": _l("Period from"),
        "period_end": _l("Period until"),
        "subtotal": _l("Subtotal"),
        "discount_amount": _l("Discount"),
        "promotion": _l("Promotion"),
        "amount_paid": _l("Paid so far"),
        "amount_refunded": _l("Refunded"),
        "issued_at": _l("Issued"),
        "voided_at": _l("Voided"),
    }


class SubscriptionView(SubscriptionPages, CoachdeskModelView):
    route_base = "/subscriptions"
    datamodel = ScopedSQLAInterface(Subscription)
    class_permission_name = "Subscriptions"
    list_title = show_title = _l("Subscriptions")
    add_title = _l("Add subscription")
    list_columns = ["customer", "product", "status", "start_date", "end_date", "renewal_date", "pause_until"]
    show_columns = [
        "customer", "product", "status", "start_date", "trial_end", "current_period_start", "current_period_end",
        "renewal_date", "cancel_at_period_end", "pause_until", "end_date", "cancelled_at", "created_at",
    ]  # fmt: skip
    # A subscription changes only through the state machine's transitions (the buttons on its page)
    # and the daily billing jobs; ``add`` is the billing service's form, not FAB's.
    exclude_route_methods = {"edit", "delete"}
    add_columns = edit_columns = ["start_date"]
    show_template = "billing/subscription_show.html"
    search_text_columns = ("customer.full_name", "customer.email")
    filter_columns = ("status", "customer", "product", "start_date", "end_date")
    base_order = ("created_at", "desc")
    related_views = [InvoiceView]
    label_columns = {
        "customer": _l("Customer"),
        "product": _l("Product"),
        "status": _l("Status"),
        "start_date": _l("Start"),
        "end_date": _l("End"),
        "renewal_date": _l("Renews"),
        "pause_until": _l("Paused until"),
        "created_at": _l("Created"),
        "trial_end": _l("Trial ends"),
        "current_period_start": _l("Current period from"),
        "current_period_end": _l("Current period until"),
        "cancel_at_period_end": _l("Cancels at period end"),
        "cancelled_at": _l("Cancelled"),
    }

    @action("pause", _l("Pause"), _l("Pause the selected subscriptions for 30 days?"), "fa-pause")
    def pause(self, items: Any) -> Any:
        return self.run_bulk(items, console_actions.pause_subscriptions, _("%(count)s subscriptions paused."))


class ProductView(CoachdeskModelView):
    route_base = "/products"
    datamodel = ScopedSQLAInterface(Product)
    class_permission_name = "Products"
    list_title = show_title = _l("Products")
    add_title = _l("Add product")
    edit_title = _l("Edit product")
    list_columns = ["name", "category", "price", "interval_months", "duration_weeks"]
    show_columns = [
        "name", "category", "description", "price", "interval_months", "trial_days", "duration_weeks",
        "metadata_json",
    ]  # fmt: skip
    add_columns = edit_columns = [
        "name", "category", "description", "price", "currency", "interval_months", "trial_days", "duration_weeks",
        "metadata_json",
    ]  # fmt: skip
    money_columns = {"price": "currency"}
    validators_columns = {
        "currency": _CURRENCY,
        "duration_weeks": [wtv.Optional(), wtv.NumberRange(min=1)],
        "interval_months": [wtv.Optional(), wtv.NumberRange(min=1, max=36)],
        "trial_days": [wtv.Optional(), wtv.NumberRange(min=0, max=365)],
    }
    search_text_columns = ("name", "description")
    filter_columns = ("category", "price", "duration_weeks")
    related_views = [SubscriptionView]
    label_columns = {
        "name": _l("Name"),
        "category": _l("Category"),
        "description": _l("Description"),
        "price": _l("Price"),
        "currency": _l("Currency"),
        "duration_weeks": _l("Weeks"),
        "interval_months": _l("Renews every (months)"),
        "trial_days": _l("Trial days"),
        "metadata_json": _l("Metadata"),
    }


class PromotionView(CoachdeskModelView):
    route_base = "/promotions"
    datamodel = ScopedSQLAInterface(Promotion)
    class_permission_name = "Promotions"
    list_title = show_title = _l("Promotions")
    add_title = _l("Add promotion")
    edit_title = _l("Edit promotion")
    list_columns = ["code", "discount_type", "value", "currency", "start_date", "end_date", "usage_limit",
                    "times_redeemed"]  # fmt: skip
    show_columns = [*list_columns, "duration_periods"]
    # times_redeemed is counted by redemptions (one conditional UPDATE each), never typed.
    add_columns = edit_columns = [
        "code", "discount_type", "value", "currency", "start_date", "end_date", "usage_limit", "duration_periods",
    ]  # fmt: skip
    validators_columns = {
        "value": [wtv.NumberRange(min=0)],
        "usage_limit": [wtv.Optional(), wtv.NumberRange(min=0)],
        "duration_periods": [wtv.Optional(), wtv.NumberRange(min=1, max=120)],
        "currency": [
            wtv.Optional(),
            wtv.Regexp(r"^[A-Z]{3}$", message=_l("Use a three-letter ISO 4217 code such as EUR.")),
        ],
    }
    search_text_columns = ("code",)
    filter_columns = ("discount_type", "start_date", "end_date", "value")
    base_order = ("start_date", "desc")
    label_columns = {
        "code": _l("Code"),
        "discount_type": _l("Discount type"),
        "value": _l("Value"),
        "start_date": _l("Start"),
        "end_date": _l("End"),
        "usage_limit": _l("Usage limit"),
        "times_redeemed": _l("Times redeemed"),
        "duration_periods": _l("Applies to (billing periods)"),
        "currency": _l("Currency (fixed discounts)"),
    }


def register(appbuilder: Any) -> None:
    register_area(
        appbuilder,
        "Commerce",
        _l("Commerce"),
        "fa-shopping-cart",
        [
            (ProductView, "Products", _l("Products"), "fa-cube"),
            (SubscriptionView, "Subscriptions", _l("Subscriptions"), "fa-refresh"),
            (InvoiceView, "Invoices", _l("Invoices"), "fa-file-text-o"),
            (PaymentView, "Payments", _l("Payments"), "fa-credit-card"),
            (PromotionView, "Promotions", _l("Promotions"), "fa-ticket"),
        ],
    )
