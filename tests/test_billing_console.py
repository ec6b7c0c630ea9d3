"""The billing pages as Support and a Manager use them: create a subscription, move it through the
transitions its page offers, pay and refund its invoice, and follow the timeline's links."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import sqlalchemy as sa

from app.extensions import db
from app.models.base import utcnow
from app.models.commerce import Invoice, InvoiceStatus, Payment, Promotion, Subscription, SubscriptionStatus
from app.models.identity import PlatformUser
from tests.support import billing_support as bs
from tests.support.web import csrf_token, login


def _customer_email(app, name: str = "Cara") -> str:
    with app.app_context():
        cid = bs.customer(name)
        return db.session.get(PlatformUser, cid).email


def _buttons(page: str) -> set[str]:
    return set(re.findall(r'class="form-inline cd-transition cd-transition-([a-z_]+)"', page))


def _create(app, client, email: str, *, promo: str = "") -> tuple[int, int]:
    with app.app_context():
        product_id = bs.product("50.00").id
    token = csrf_token(client, "/subscriptions/add")
    resp = client.post(
        "/subscriptions/add",
        data={"customer": email, "product": str(product_id), "start_date": "", "promotion_code": promo,
              "csrf_token": token},
    )  # fmt: skip
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    sub_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    return sub_id, product_id


def test_support_creates_pauses_resumes_and_cancels_through_the_offered_transitions(app, accounts):
    email = _customer_email(app)
    with app.app_context():
        bs.promotion("WELCOME20", value="20.00", limit=5)
    client = app.test_client()
    login(client, "support", "support-Passw0rd!")
    sub_id, _product = _create(app, client, email, promo="welcome20")
    page = client.get(f"/subscriptions/show/{sub_id}").get_data(as_text=True)
    assert _buttons(page) == {"pause", "cancel_at_period_end", "cancel_now"}
    with app.app_context():
        (invoice,) = db.session.scalars(sa.select(Invoice).where(Invoice.subscription_id == sub_id)).all()
        assert (invoice.subtotal, invoice.discount_amount, invoice.amount) == (
            Decimal("50.00"), Decimal("10.00"), Decimal("40.00"),
        )  # fmt: skip
        assert db.session.scalar(sa.select(Promotion.times_redeemed).where(Promotion.code == "WELCOME20")) == 1
        reference = invoice.external_reference
    # The timeline's invoice line links to the invoice page, which opens and names the invoice.
    link = re.search(r'<a href="(/invoices/show/\d+)">[^<]*</a>', page)
    assert link is not None and "Invoice issued" in page
    opened = client.get(link.group(1))
    assert opened.status_code == 200 and reference in opened.get_data(as_text=True)

    token = csrf_token(client, f"/subscriptions/show/{sub_id}")
    # Resume is not offered to an active subscription, and asking for it anyway changes nothing.
    refused = client.post(
        f"/subscriptions/transition/{sub_id}", data={"action": "resume", "csrf_token": token}, follow_redirects=True
    )
    assert "cannot" in refused.get_data(as_text=True)
    # A resume date in the past is refused with the service's words.
    past = client.post(
        f"/subscriptions/transition/{sub_id}",
        data={"action": "pause", "pause_until": "2001-01-01", "csrf_token": token},
        follow_redirects=True,
    )
    assert "The resume date must be after today" in past.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Subscription, sub_id).status == SubscriptionStatus.ACTIVE

    until = (utcnow().date() + dt.timedelta(days=10)).isoformat()
    paused = client.post(
        f"/subscriptions/transition/{sub_id}",
        data={"action": "pause", "pause_until": until, "csrf_token": token},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert _buttons(paused) == {"resume", "cancel_now"}
    with app.app_context():
        sub = db.session.get(Subscription, sub_id)
        assert (sub.status, sub.pause_until.isoformat()) == (SubscriptionStatus.PAUSED, until)
    resumed = client.post(
        f"/subscriptions/transition/{sub_id}", data={"action": "resume", "csrf_token": token}, follow_redirects=True
    ).get_data(as_text=True)
    assert _buttons(resumed) == {"pause", "cancel_at_period_end", "cancel_now"}
    ending = client.post(
        f"/subscriptions/transition/{sub_id}",
        data={"action": "cancel_at_period_end", "csrf_token": token},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "reactivate" in _buttons(ending) and "cancel_at_period_end" not in _buttons(ending)
    assert "Cancellation at period end scheduled" in ending
    # Without the CSRF token nothing happens.
    assert client.post(f"/subscriptions/transition/{sub_id}", data={"action": "cancel_now"}).status_code == 400
    with app.app_context():
        sub = db.session.get(Subscription, sub_id)
        assert sub.status == SubscriptionStatus.ACTIVE and sub.cancel_at_period_end


def test_invoice_partial_then_full_payment_then_partial_refund(app, accounts):
    email = _customer_email(app, "Dan")
    client = app.test_client()
    login(client, "support", "support-Passw0rd!")
    sub_id, _product = _create(app, client, email)
    with app.app_context():
        invoice_id = db.session.scalar(sa.select(Invoice.id).where(Invoice.subscription_id == sub_id))
    url = f"/invoices/show/{invoice_id}"
    token = csrf_token(client, url)
    page = client.post(
        f"/invoices/record-payment/{invoice_id}",
        data={"amount": "20.00", "method": "CARD", "csrf_token": token},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Outstanding: 30.00 EUR" in page
    with app.app_context():
        inv = db.session.get(Invoice, invoice_id)
        assert (inv.status, inv.amount_paid, inv.paid_at) == (InvoiceStatus.OPEN, Decimal("20.00"), None)
    # A figure that is not money changes nothing.
    bad = client.post(
        f"/invoices/record-payment/{invoice_id}",
        data={"amount": "1e400", "method": "CARD", "csrf_token": token},
        follow_redirects=True,
    )
    assert bad.status_code == 200 and "Give an amount" in bad.get_data(as_text=True)
    client.post(
        f"/invoices/record-payment/{invoice_id}", data={"amount": "30.00", "method": "SEPA_DEBIT", "csrf_token": token}
    )
    with app.app_context():
        inv = db.session.get(Invoice, invoice_id)
        assert (inv.status, inv.amount_paid) == (InvoiceStatus.PAID, Decimal("50.00")) and inv.paid_at is not None
        paid = sum(p.amount for p in db.session.scalars(sa.select(Payment).where(Payment.invoice_id == invoice_id)))
        assert paid == inv.amount
        payment_id = db.session.scalar(
            sa.select(Payment.id).where(Payment.invoice_id == invoice_id, Payment.amount == Decimal("30.00"))
        )
    # A paid invoice offers no payment form any more.
    assert "cd-record-payment" not in client.get(url).get_data(as_text=True)

    purl = f"/payments/show/{payment_id}"
    assert "cd-refund" in client.get(purl).get_data(as_text=True)
    token = csrf_token(client, purl)
    too_much = client.post(
        f"/payments/refund/{payment_id}", data={"amount": "31.00", "csrf_token": token}, follow_redirects=True
    )
    assert "at most the 30.00 EUR not yet refunded" in too_much.get_data(as_text=True)
    client.post(f"/payments/refund/{payment_id}", data={"amount": "12.50", "csrf_token": token})
    with app.app_context():
        pay, inv = db.session.get(Payment, payment_id), db.session.get(Invoice, invoice_id)
        assert (pay.refunded_amount, inv.amount_refunded, inv.status) == (
            Decimal("12.50"), Decimal("12.50"), InvoiceStatus.PAID,
        )  # fmt: skip
    timeline = client.get(f"/subscriptions/show/{sub_id}").get_data(as_text=True)
    assert "Refund" in timeline and "12.50 EUR" in timeline and "Invoice paid" in timeline


def test_form_edits_are_gone_and_read_only_roles_see_no_buttons(app, accounts):
    email = _customer_email(app, "Eve")
    client = app.test_client()
    login(client, "support", "support-Passw0rd!")
    sub_id, _product = _create(app, client, email)
    with app.app_context():
        invoice_id = db.session.scalar(sa.select(Invoice.id).where(Invoice.subscription_id == sub_id))
    for url in (
        f"/subscriptions/edit/{sub_id}", "/invoices/add", f"/invoices/edit/{invoice_id}", "/payments/add",
    ):  # fmt: skip
        assert client.get(url).status_code == 404, url
    assert client.get("/subscriptions/show/99999999").status_code == 404
    assert client.get("/subscriptions/show/abc").status_code == 404

    manager = app.test_client()
    login(manager, "manager", "manager-Passw0rd!")
    page = manager.get(f"/subscriptions/show/{sub_id}").get_data(as_text=True)
    assert "Timeline" in page and _buttons(page) == set()
    assert "cd-record-payment" not in manager.get(f"/invoices/show/{invoice_id}").get_data(as_text=True)
    token = csrf_token(manager, f"/subscriptions/show/{sub_id}")
    manager.post(f"/subscriptions/transition/{sub_id}", data={"action": "cancel_now", "csrf_token": token})
    with app.app_context():
        assert db.session.get(Subscription, sub_id).status == SubscriptionStatus.ACTIVE


def test_new_subscription_form_refuses_bad_input_and_creates_nothing(app, accounts):
    email = _customer_email(app, "Finn")
    with app.app_context():
        product_id = bs.product("10.00").id
        bs.promotion("GONE", start="2020-01-01", end="2020-02-01")
    client = app.test_client()
    login(client, "support", "support-Passw0rd!")
    token = csrf_token(client, "/subscriptions/add")
    cases = [
        ({"customer": "nobody@nowhere.test", "product": str(product_id)}, "No customer with this email."),
        ({"customer": email, "product": "999999"}, "Not a valid choice"),
        ({"customer": email, "product": str(product_id), "promotion_code": "GONE"}, None),
        ({"customer": email, "product": str(product_id), "start_date": "2026-02-30"}, None),
    ]
    for data, message in cases:
        resp = client.post("/subscriptions/add", data={**data, "csrf_token": token})
        assert resp.status_code == 400, data
        if message:
            assert message in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 0
