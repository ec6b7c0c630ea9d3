"""Chart labels from data show as text in a real browser: a payment's failure reason written as a link or a
styled span is neither a live link nor markup in the legend of ``/charts/payments/?by=failure_reason``.

Chromium missing: the test fails when CI=true and is skipped otherwise.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.e2e.browser import live_app, pass_mfa, recording_page

pytestmark = pytest.mark.e2e

LINK = '<a href="http://evil.example/">click me</a>'
SPAN = '<span style="color:red;font-size:90px">it\'s covered & gone</span>'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Flask]]:
    with live_app(tmp_path_factory.mktemp("e2e-chart-labels")) as served:
        yield served


def _failed_payments(app: Flask) -> None:
    from app import models as m
    from app.extensions import db
    from app.models.commerce import InvoiceStatus, PaymentMethod, PaymentStatus, ProductCategory, SubscriptionStatus

    day = dt.datetime(2025, 1, 15, 12, tzinfo=dt.UTC)
    with app.app_context():
        customer = m.PlatformUser(email="labels@example.test", full_name="Labels")
        product = m.Product(name="Plan", category=ProductCategory.COACHING, price=decimal.Decimal("10"))
        db.session.add_all([customer, product])
        db.session.flush()
        sub = m.Subscription(
            customer_id=customer.id, product_id=product.id, status=SubscriptionStatus.ACTIVE, start_date=day.date()
        )
        db.session.add(sub)
        db.session.flush()
        invoice = m.Invoice(
            subscription_id=sub.id, amount=decimal.Decimal("10"), due_date=day.date(), status=InvoiceStatus.OPEN
        )
        db.session.add(invoice)
        db.session.flush()
        for reason in (LINK, SPAN):
            db.session.add(
                m.Payment(
                    invoice_id=invoice.id,
                    provider="stripe",
                    method=PaymentMethod.CARD,
                    amount=decimal.Decimal("10"),
                    status=PaymentStatus.FAILED,
                    failure_reason=reason,
                    created_at=day,
                )
            )
        db.session.commit()


def test_legend_shows_markup_as_text(server):
    base, app = server
    _failed_payments(app)
    with recording_page(base, locale="en-US") as page:
        page.goto("/login/")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "admin-Passw0rd!")
        page.click("form[name=login] [type=submit]")
        pass_mfa(page, app, "admin")
        page.wait_for_url(f"{base}/")
        page.goto("/charts/payments/?by=failure_reason&from=2025-01-01&to=2025-01-31")
        legend = page.locator("#chart-entity .legend .legendtext")
        legend.first.wait_for()
        assert sorted(legend.all_text_contents()) == sorted([LINK, SPAN])  # the reasons, as text
        assert page.locator("#chart-entity svg a").count() == 0  # no link anywhere in the chart
        assert page.locator("#chart-entity .legend tspan[style]").count() == 0  # no styled span either
        assert page.requested_hosts == {base.removeprefix("http://")}
