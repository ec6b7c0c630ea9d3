"""Composing an announcement in a real browser: the typed segment widgets (a product picked from the
multi-select, a status ticked, a language ticked), "Preview audience" showing the size and the consent
exclusions, then saving and scheduling. Playwright (sync API) driving Debian's Chromium.

Chromium missing: the test fails when CI=true and is skipped otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.e2e.browser import live_app, pass_mfa, recording_page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Flask]]:
    with live_app(tmp_path_factory.mktemp("e2e-announce")) as served:
        yield served


def test_compose_with_the_segment_widgets_preview_and_schedule(server) -> None:
    import sqlalchemy as sa

    from app.extensions import db
    from app.models.engagement import Announcement, AnnouncementStatus
    from tests.test_announcements_service import _world

    base, app = server
    with app.app_context():
        w = _world()
    with recording_page(base, locale="en-US") as page:
        page.goto("/login/")
        page.fill("input[name=username]", "manager")
        page.fill("input[name=password]", "manager-Passw0rd!")
        page.click("form[name=login] [type=submit]")
        pass_mfa(page, app, "manager")
        page.goto("/announcements/")
        page.click("#cd-announcement-new")
        page.fill("#cd-title", "Gold members, in German")
        page.fill("#cd-body", "Neue Kurse ab Montag.")
        page.select_option("#cd-channel", "INAPP")
        page.select_option("#cd-products", [str(w["gold"])])
        page.check("input[name=subscription_statuses][value=ACTIVE]")
        page.click("#cd-announcement-preview-button")
        # Gold and active: Ann and... Bob's gold subscription is past due: only Ann, who consented.
        assert page.locator("#cd-audience-size").inner_text() == "1"
        assert page.locator("#cd-audience-excluded").inner_text() == "0"
        # The widgets keep their values across the preview; widen to any status, only German speakers.
        assert page.locator("#cd-title").input_value() == "Gold members, in German"
        page.uncheck("input[name=subscription_statuses][value=ACTIVE]")
        page.check("input[name=locales][value=de]")
        page.click("#cd-announcement-preview-button")
        assert page.locator("#cd-audience-size").inner_text() == "1"
        page.uncheck("input[name=locales][value=de]")
        page.click("#cd-announcement-preview-button")
        assert page.locator("#cd-audience-size").inner_text() == "2"  # Ann and Bob (revoked consent)
        assert page.locator("#cd-audience-excluded").inner_text() == "1"
        page.click("#cd-announcement-save")
        page.wait_for_url(f"{base}/announcements/*")
        assert page.locator("#cd-audience-size").inner_text() == "2"
        at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
        page.fill("#cd-scheduled-at", at)
        page.click("#cd-announcement-schedule")
        page.wait_for_load_state()
        assert "Announcement scheduled." in page.content()
        assert page.requested_hosts == {urlparse_netloc(base)}
    with app.app_context():
        row = db.session.scalars(sa.select(Announcement)).one()
        assert row.status == AnnouncementStatus.SCHEDULED and row.segment_json == {"product_ids": [w["gold"]]}


def urlparse_netloc(url: str) -> str:
    from urllib.parse import urlparse

    return urlparse(url).netloc
