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

_CURRENCY = [wtv.Regexp(r"^[A-Z]{3}$", message=_l("Use a three-letter ISO 4217 code such as EUR."))]


class PaymentView(CoachdeskModelView):
    route_base = "/payments"
    datamodel = ScopedSQLAInterface(Payment)
    class_permission_name = "Payments"
    list_title = show_title = _l("Payments")
    add_title = _l("Record payment")
    edit_title = _l("Edit payment")
    list_columns = ["invoice", "amount", "method", "provider", "status", "transaction_id", "created_at"]
    show_columns = [*list_columns, "failure_reason"]
    add_columns = edit_columns = [
        "invoice", "provider", "method", "amount", "currency", "status", "transaction_id", "failure_reason",
    ]  # fmt: skip
    money_columns = {"amount": "currency"}
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
        "created_at": _l("Created"),
    }


class InvoiceView(CoachdeskModelView):
    route_base = "/invoices"
    datamodel = ScopedSQLAInterface(Invoice)
    class_permission_name = "Invoices"
    list_title = show_title = _l("Invoices")
    add_title = _l("Add invoice")
    edit_title = _l("Edit invoice")
    list_columns = ["external_reference", "subscription", "amount", "status", "due_date", "paid_at"]
    show_columns = list_columns
    add_columns = edit_columns = [
        "subscription", "amount", "currency", "status", "due_date", "paid_at", "external_reference",
    ]  # fmt: skip
    money_columns = {"amount": "currency"}
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
    }


class SubscriptionView(CoachdeskModelView):
    route_base = "/subscriptions"
    datamodel = ScopedSQLAInterface(Subscription)
    class_permission_name = "Subscriptions"
    list_title = show_title = _l("Subscriptions")
    add_title = _l("Add subscription")
    edit_title = _l("Edit subscription")
    list_columns = ["customer", "product", "status", "start_date", "end_date", "renewal_date", "pause_until"]
    show_columns = [*list_columns, "created_at"]
    add_columns = edit_columns = [
        "customer", "product", "status", "start_date", "end_date", "renewal_date", "pause_until",
    ]  # fmt: skip
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
    list_columns = ["name", "category", "price", "duration_weeks"]
    show_columns = ["name", "category", "description", "price", "duration_weeks", "metadata_json"]
    add_columns = edit_columns = [
        "name", "category", "description", "price", "currency", "duration_weeks", "metadata_json",
    ]  # fmt: skip
    money_columns = {"price": "currency"}
    validators_columns = {"currency": _CURRENCY, "duration_weeks": [wtv.Optional(), wtv.NumberRange(min=1)]}
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
        "metadata_json": _l("Metadata (JSON)"),
    }


class PromotionView(CoachdeskModelView):
    route_base = "/promotions"
    datamodel = ScopedSQLAInterface(Promotion)
    class_permission_name = "Promotions"
    list_title = show_title = _l("Promotions")
    add_title = _l("Add promotion")
    edit_title = _l("Edit promotion")
    list_columns = ["code", "discount_type", "value", "start_date", "end_date", "usage_limit"]
    show_columns = list_columns
    add_columns = edit_columns = list_columns
    validators_columns = {
        "value": [wtv.NumberRange(min=0)],
        "usage_limit": [wtv.Optional(), wtv.NumberRange(min=0)],
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
