"""Catalogue grids in a real browser: x-editable inline edits carry the CSRF token, bad values show a message,
and no request leaves the server. Playwright (sync API) driving Debian's Chromium against a real server.

Chromium missing: the test fails when CI=true and is skipped otherwise.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from flask import Flask

from tests.e2e.browser import live_app, recording_page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Flask]]:
    with live_app(tmp_path_factory.mktemp("e2e-admin")) as served:
        yield served


@pytest.fixture
def page(server):
    with recording_page(server[0]) as page:
        yield page


def _price(app: Flask, product_id: int) -> decimal.Decimal:
    from app.extensions import db
    from app.models.commerce import Product

    with app.app_context():
        db.session.expire_all()
        return db.session.get(Product, product_id).price


def test_inline_edit_in_the_browser(server, page):
    from app.extensions import db
    from app.models.commerce import Product, ProductCategory

    base, app = server
    with app.app_context():
        product = Product(name="Coaching", category=ProductCategory.COACHING, price=decimal.Decimal("99.00"))
        db.session.add(product)
        db.session.commit()
        product_id = product.id

    page.goto("/login/")
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", "manager-Passw0rd!")
    page.click("form[name=login] [type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto("/admin/products/")
    assert page.locator("a.navbar-brand").inner_text().startswith("Coachdesk")

    cell = page.locator('a[data-role="x-editable"][name="price"]').first
    cell.click()
    editor = page.locator(".editable-input input").first
    editor.fill("-5")
    with page.expect_response(lambda r: r.url.endswith("/ajax/update/")) as refused:
        page.locator(".editable-submit").first.click()
    assert refused.value.status == 400
    page.locator(".editable-error-block").filter(has_text="zero or more").wait_for()
    assert _price(app, product_id) == decimal.Decimal("99.00")

    editor.fill("79.50")
    with page.expect_response(lambda r: r.url.endswith("/ajax/update/")) as saved:
        page.locator(".editable-submit").first.click()
    assert saved.value.status == 200
    assert _price(app, product_id) == decimal.Decimal("79.50")

    assert page.requested_hosts == {urlparse(base).netloc}  # type: ignore[attr-defined]
