"""The time zone setting in a real browser: a searchable Select2 list served by the app, saved with the
form's CSRF token, and pages then read in the chosen zone. Playwright (sync API) driving Debian's Chromium.

Chromium missing: the test fails when CI=true and is skipped otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from flask import Flask

from tests.e2e.browser import live_app, recording_page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Flask]]:
    with live_app(tmp_path_factory.mktemp("e2e-tz")) as served:
        yield served


@pytest.fixture
def page(server):
    with recording_page(server[0], locale="en-US") as page:
        yield page


def test_pick_a_zone_from_the_searchable_list(server, page):
    from app.extensions import db
    from app.models.identity import PlatformUser

    base, app = server
    with app.app_context():
        created = dt.datetime(2026, 1, 15, 23, 30, tzinfo=dt.UTC)
        db.session.add(PlatformUser(email="tz@example.test", full_name="Tz Person", locale="en", created_at=created))
        db.session.commit()

    page.goto("/login/")
    page.fill("input[name=username]", "support")
    page.fill("input[name=password]", "support-Passw0rd!")
    page.click("form[name=login] [type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto("/account/settings/")
    page.click(".select2-selection")  # Select2 replaced the plain select
    page.fill(".select2-search__field", "Berlin")
    options = page.locator(".select2-results__option")
    assert options.count() == 1 and options.first.inner_text() == "Europe/Berlin"
    options.first.click()
    page.click("form.cd-account-settings [type=submit]")
    page.wait_for_url(f"{base}/account/settings/")
    assert "Times are now shown in Europe/Berlin." in page.content()
    assert "Times are shown in Europe/Berlin" in page.locator(".cd-timezone-note").inner_text()

    page.goto("/platform-users/list/?q=Tz")
    assert "Jan 16, 2026, 12:30" in page.locator("body").inner_text()
    assert page.requested_hosts == {urlparse(base).netloc}
