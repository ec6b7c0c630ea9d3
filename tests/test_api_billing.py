"""``/subscriptions`` and ``/invoices``: a customer app reads its own billing and pauses, resumes and
cancels through the billing state machine; another customer's rows are a 404; coaches hold no grant."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.extensions import db
from app.models.base import utcnow
from app.models.commerce import Subscription, SubscriptionStatus
from app.models.identity import RoleCode
from app.services.api_clients import lifecycle
from app.services.billing import subscriptions
from tests.support import billing_support as bs
from tests.support.api_support import bearer, make_api_client
from tests.support.plan_support import make_user

BASE = "/api/v1"


@pytest.fixture
def world(app):
    with app.app_context():
        product = bs.product("50.00")
        promo = bs.promotion("HALF", value="50.00")
        cara, dan = bs.customer("Cara"), bs.customer("Dan")
        mine, invoice = subscriptions.create_subscription(
            db.session, cara, product.id, now=utcnow(), promotion_code=promo.code
        )
        other, _ = subscriptions.create_subscription(db.session, dan, product.id, now=utcnow())
        db.session.commit()
        scopes = "billing:read billing:write"
        _, app_key = make_api_client(scopes, customer_id=cara)
        _, partner_key = make_api_client("billing:read")
        return {"mine": mine.id, "other": other.id, "invoice": invoice.id, "app": app_key, "partner": partner_key}


def test_a_customer_app_reads_its_own_subscription_and_invoice_with_exact_amounts(app, world):
    client = app.test_client()
    resp = client.get(f"{BASE}/subscriptions", headers=bearer(world["app"]))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    listed = resp.get_json()
    assert [s["id"] for s in listed["data"]] == [world["mine"]]
    invoices = client.get(f"{BASE}/invoices", headers=bearer(world["app"])).get_json()["data"]
    assert [i["id"] for i in invoices] == [world["invoice"]]
    (invoice,) = invoices
    assert (invoice["subtotal"], invoice["discount_amount"], invoice["amount"], invoice["currency"]) == (
        "50.00", "25.00", "25.00", "EUR",
    )  # fmt: skip
    assert Decimal(invoice["subtotal"]) - Decimal(invoice["discount_amount"]) == Decimal(invoice["amount"])
    # Another customer's subscription is not there at all.
    assert client.get(f"{BASE}/subscriptions/{world['other']}", headers=bearer(world["app"])).status_code == 404
    # A partner reads every subscription but may not change one.
    every = client.get(f"{BASE}/subscriptions", headers=bearer(world["partner"])).get_json()["data"]
    assert {s["id"] for s in every} == {world["mine"], world["other"]}
    denied = client.post(f"{BASE}/subscriptions/{world['other']}/resume", headers=bearer(world["partner"]))
    assert denied.status_code == 403


def test_pause_resume_cancel_follow_the_state_machine(app, world):
    client = app.test_client()
    url = f"{BASE}/subscriptions/{world['mine']}"
    until = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    # Resuming an active subscription is a conflict, and changes nothing.
    refused = client.post(f"{url}/resume", headers=bearer(world["app"]))
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    bad = client.post(f"{url}/pause", json={"pause_until": "2001-01-01"}, headers=bearer(world["app"]))
    assert bad.status_code == 422 and "pause_until" in bad.get_json()["errors"]
    paused = client.post(f"{url}/pause", json={"pause_until": until}, headers=bearer(world["app"]))
    assert paused.status_code == 200, paused.get_data(as_text=True)
    assert (paused.get_json()["status"], paused.get_json()["pause_until"]) == ("PAUSED", until)
    assert client.post(f"{url}/resume", headers=bearer(world["app"])).get_json()["status"] == "ACTIVE"
    ending = client.post(f"{url}/cancel", json={}, headers=bearer(world["app"])).get_json()
    assert ending["status"] == "ACTIVE" and ending["cancel_at_period_end"] is True
    now = client.post(f"{url}/cancel", json={"at_period_end": False}, headers=bearer(world["app"])).get_json()
    assert now["status"] == "CANCELLED"
    with app.app_context():
        assert db.session.get(Subscription, world["mine"]).status == SubscriptionStatus.CANCELLED
    # Another customer's subscription cannot be touched: a 404, as if it did not exist.
    other = client.post(f"{BASE}/subscriptions/{world['other']}/cancel", json={}, headers=bearer(world["app"]))
    assert other.status_code == 404


def test_a_coach_client_cannot_hold_billing_scopes(app):
    with app.app_context():
        coach = make_user("Coach Ada", RoleCode.COACH)
        db.session.commit()
        with pytest.raises(lifecycle.ClientRefused):
            lifecycle.check_scopes("billing:read", coach)
