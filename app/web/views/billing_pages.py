"""The billing record pages' own routes: a subscription's transitions and timeline, an invoice's
payments, void and uncollectible, a payment's refund, and the new-subscription form.

Mixed into the commerce views (``app.web.views.commerce``). Every route reads its row through the
view's scoped data model (a row outside the person's scope is a 404), parses the form, calls one
billing service and commits; a refusal is shown as the service worded it and changes nothing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models.base import utcnow
from app.models.commerce import Invoice, InvoiceStatus, Payment, PaymentStatus, Product, Subscription
from app.models.identity import PlatformUser
from app.models.labels import label_of_code
from app.services.billing import invoices, payments, periods, states, subscriptions
from app.services.billing.errors import BillingError
from app.services.billing.timeline import Entry, timeline
from app.web.views.base.display import format_money
from app.web.views.billing_forms import NewSubscriptionForm, PaymentForm, RefundForm, TransitionForm, method_choices

MAX_PK_DIGITS = 18

ENTRY_LABELS = {
    ("state", "status"): _l("Status changed"),
    ("state", "renewed"): _l("Renewed"),
    ("state", "cancel_scheduled"): _l("Cancellation at period end scheduled"),
    ("state", "cancel_withdrawn"): _l("Cancellation withdrawn"),
    ("invoice", "issued"): _l("Invoice issued"),
    ("invoice", "paid"): _l("Invoice paid"),
    ("invoice", "voided"): _l("Invoice voided"),
    ("payment", "succeeded"): _l("Payment succeeded"),
    ("payment", "failed"): _l("Payment failed"),
    ("payment", "pending"): _l("Payment pending"),
    ("refund", "refunded"): _l("Refund"),
}


def entry_label(entry: Entry) -> str:
    """A timeline line's words: "Dunning retry 2", "Invoice paid", "Status changed"."""
    if entry.kind == "dunning":
        return _("Dunning retry %(n)s", n=entry.what.removeprefix("attempt_"))
    return str(ENTRY_LABELS.get((entry.kind, entry.what), entry.what))


def status_label(code: str | None) -> str:
    """A subscription, invoice, payment or dunning status by its label (app.models.labels)."""
    return label_of_code(code) if code else ""


def _row(view: Any, pk: str) -> Any:
    """The view's row with this key inside the person's scope, or 404 (a malformed key is a 404 too)."""
    item = view.datamodel.get(pk) if pk.isdigit() and len(pk) <= MAX_PK_DIGITS else None
    if item is None:
        abort(404)
    return item


def _refused(exc: BillingError) -> None:
    db.session.rollback()
    flash(str(exc.message), "danger")


class SubscriptionPages:
    """The subscription's page: its allowed transitions as buttons, its timeline; the service's add form."""

    @classmethod
    def _action_permissions(cls) -> dict[str, str]:
        return {**super()._action_permissions(), "transition": "write"}  # type: ignore[misc]

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: str) -> Any:
        sub: Subscription = _row(self, pk)
        widgets = self._show(pk)  # type: ignore[attr-defined]
        today = periods.customer_today(db.session, sub.customer_id, utcnow())
        return self.render_template(  # type: ignore[attr-defined]
            self.show_template, pk=pk, title=self.show_title, widgets=widgets,  # type: ignore[attr-defined]
            related_views=self.visible_related_views(), subscription=sub,  # type: ignore[attr-defined]
            transitions=states.allowed_transitions(sub, today), today=today,
            timeline=timeline(db.session, sub.id, limit=200), entry_label=entry_label, status_label=status_label,
            money=format_money,
        )  # fmt: skip

    @expose("/transition/<pk>", methods=["POST"])
    @has_access
    def transition(self, pk: str) -> Any:
        _row(self, pk)
        form = TransitionForm()
        if not form.validate():
            flash(_("Give a valid resume date (YYYY-MM-DD)."), "danger")
            return redirect(url_for(".show", pk=pk))
        try:
            sub = subscriptions.get_subscription(db.session, int(pk), lock=True)
            subscriptions.apply_action(
                db.session, sub, form.action.data, now=utcnow(), pause_until=form.pause_until.data
            )
            db.session.commit()
        except BillingError as exc:
            _refused(exc)
        else:
            flash(_("Subscription updated: %(status)s.", status=status_label(str(sub.status))), "success")
        return redirect(url_for(".show", pk=pk))

    def _new_form(self) -> NewSubscriptionForm:
        form = NewSubscriptionForm()
        products = db.session.execute(sa.select(Product.id, Product.name).order_by(Product.name)).all()
        form.product.choices = [(str(pid), name) for pid, name in products]
        return form

    def _new_page(self, form: NewSubscriptionForm, status: int = 200) -> Any:
        return self.render_template("billing/subscription_new.html", form=form, title=self.add_title), status  # type: ignore[attr-defined]

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self) -> Any:
        form = self._new_form()
        if request.method == "GET":
            return self._new_page(form)
        if not form.validate():
            return self._new_page(form, 400)
        email = (form.customer.data or "").strip().lower()
        customer = db.session.scalar(sa.select(PlatformUser).where(sa.func.lower(PlatformUser.email) == email))
        if customer is None:
            form.customer.errors = [*form.customer.errors, _("No customer with this email.")]
            return self._new_page(form, 400)
        try:
            sub, _invoice = subscriptions.create_subscription(
                db.session, customer.id, int(form.product.data), now=utcnow(), start_date=form.start_date.data,
                promotion_code=(form.promotion_code.data or "").strip() or None,
            )  # fmt: skip
            db.session.commit()
        except BillingError as exc:
            db.session.rollback()
            field = getattr(
                form, {"product_id": "product", "customer_id": "customer"}.get(exc.field or "", exc.field or ""), None
            )
            target = field if field is not None else form.promotion_code
            target.errors = [*target.errors, str(exc.message)]
            return self._new_page(form, 400)
        flash(_("Subscription created."), "success")
        return redirect(url_for(".show", pk=sub.id))


class InvoicePages:
    """The invoice's page: record a payment, void it, or mark it uncollectible while it is open."""

    @classmethod
    def _action_permissions(cls) -> dict[str, str]:
        extra = {"record_payment": "write", "void": "write", "uncollectible": "write"}
        return {**super()._action_permissions(), **extra}  # type: ignore[misc]

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: str) -> Any:
        invoice: Invoice = _row(self, pk)
        widgets = self._show(pk)  # type: ignore[attr-defined]
        form = PaymentForm()
        form.method.choices = method_choices()
        form.amount.data = invoices.outstanding(invoice)
        return self.render_template(  # type: ignore[attr-defined]
            self.show_template, pk=pk, title=self.show_title, widgets=widgets,  # type: ignore[attr-defined]
            related_views=self.visible_related_views(), invoice=invoice,  # type: ignore[attr-defined]
            is_open=invoice.status == InvoiceStatus.OPEN, outstanding=invoices.outstanding(invoice),
            payment_form=form, money=format_money,
        )  # fmt: skip

    def _locked(self, pk: str) -> Invoice:
        _row(self, pk)
        invoice = db.session.scalar(
            sa.select(Invoice).where(Invoice.id == int(pk)).with_for_update(of=Invoice.__table__)
            .execution_options(populate_existing=True)
        )  # fmt: skip
        assert invoice is not None
        return invoice

    @expose("/record-payment/<pk>", methods=["POST"])
    @has_access
    def record_payment(self, pk: str) -> Any:
        invoice = self._locked(pk)
        form = PaymentForm()
        form.method.choices = method_choices()
        if not form.validate():
            db.session.rollback()
            flash(_("Give an amount from 0 to %(max)s and a payment method.", max="1,000,000,000"), "danger")
            return redirect(url_for(".show", pk=pk))
        try:
            payments.record_payment(
                db.session, invoice, amount=form.amount.data, currency=invoice.currency, now=utcnow(),
                method=form.method.data, transaction_id=(form.transaction_id.data or "").strip() or None,
            )  # fmt: skip
            db.session.commit()
        except BillingError as exc:
            _refused(exc)
        else:
            flash(
                _("Payment recorded. The invoice is %(status)s.", status=status_label(str(invoice.status))), "success"
            )
        return redirect(url_for(".show", pk=pk))

    def _close(self, pk: str, change: Any, done: str) -> Any:
        invoice = self._locked(pk)
        try:
            change(db.session, invoice, now=utcnow())
            db.session.commit()
        except BillingError as exc:
            _refused(exc)
        else:
            flash(done, "success")
        return redirect(url_for(".show", pk=pk))

    @expose("/void/<pk>", methods=["POST"])
    @has_access
    def void(self, pk: str) -> Any:
        return self._close(pk, invoices.void_invoice, _("Invoice voided."))

    @expose("/uncollectible/<pk>", methods=["POST"])
    @has_access
    def uncollectible(self, pk: str) -> Any:
        return self._close(pk, invoices.mark_uncollectible, _("Invoice marked uncollectible."))


class PaymentPages:
    """The payment's page: refund all or part of a succeeded payment of a paid invoice."""

    @classmethod
    def _action_permissions(cls) -> dict[str, str]:
        return {**super()._action_permissions(), "refund": "write"}  # type: ignore[misc]

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: str) -> Any:
        payment: Payment = _row(self, pk)
        widgets = self._show(pk)  # type: ignore[attr-defined]
        refundable = payment.amount - payment.refunded_amount
        can_refund = (
            payment.status == PaymentStatus.SUCCEEDED
            and payment.invoice.status == InvoiceStatus.PAID
            and refundable > 0
        )
        return self.render_template(  # type: ignore[attr-defined]
            self.show_template, pk=pk, title=self.show_title, widgets=widgets,  # type: ignore[attr-defined]
            related_views=self.visible_related_views(), payment=payment,  # type: ignore[attr-defined]
            refundable=refundable, can_refund=can_refund, refund_form=RefundForm(), money=format_money,
        )  # fmt: skip

    @expose("/refund/<pk>", methods=["POST"])
    @has_access
    def refund(self, pk: str) -> Any:
        _row(self, pk)
        form = RefundForm()
        if not form.validate():
            flash(_("Give an amount to refund, or leave it empty to refund all that is left."), "danger")
            return redirect(url_for(".show", pk=pk))
        payment = db.session.scalar(
            sa.select(Payment).where(Payment.id == int(pk)).with_for_update(of=Payment.__table__)
            .execution_options(populate_existing=True)
        )  # fmt: skip
        assert payment is not None
        try:
            payments.refund_payment(db.session, payment, now=utcnow(), amount=form.amount.data)
            db.session.commit()
        except BillingError as exc:
            _refused(exc)
        else:
            flash(_("Refund recorded."), "success")
        return redirect(url_for(".show", pk=pk))


__all__ = ["InvoicePages", "PaymentPages", "SubscriptionPages"]
