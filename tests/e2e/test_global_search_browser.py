"""Global search in a real browser: `/` focuses the box, typing lists results, ArrowDown + Enter opens the record.

Playwright (sync API) driving Debian's Chromium against a real server on a fresh SQLite file.
Chromium missing: fails when CI=true, else skipped.
"""

from __future__ import annotations

import pytest

from tests.e2e.browser import live_app, pass_mfa, recording_page

pytestmark = pytest.mark.e2e


def test_slash_type_arrow_enter_opens_the_customer(tmp_path_factory: pytest.TempPathFactory) -> None:
    from playwright.sync_api import expect

    from app.extensions import db
    from app.models.training import Program, ProgramLevel
    from tests.support.plan_support import make_customer

    with live_app(tmp_path_factory.mktemp("e2e-search")) as (base, app):
        with app.app_context():
            make_customer("Zora Quillfeather")
            db.session.add(Program(title="Quill Mobility", level=ProgramLevel.BEGINNER))
            db.session.commit()
        with recording_page(base, locale="en-GB") as page:
            page.goto("/login/")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", "admin-Passw0rd!")
            page.click("form[name=login] [type=submit]")
            pass_mfa(page, app, "admin")
            page.wait_for_url(f"{base}/")

            box = page.locator("#cd-global-search-q")
            expect(box).not_to_be_focused()
            page.locator("body").press("/")
            expect(box).to_be_focused()
            box.press_sequentially("quill")
            options = page.locator("#cd-global-search-list [role=option]")
            expect(options).to_have_count(2)
            expect(page.locator('#cd-global-search-list [data-kind="customers"]')).to_contain_text("Zora Quillfeather")
            expect(page.locator('#cd-global-search-list [data-kind="programs"]')).to_contain_text("Quill Mobility")

            box.press("ArrowDown")
            expect(options.first).to_have_attribute("aria-selected", "true")
            href = options.first.get_attribute("href")
            box.press("Enter")
            page.wait_for_url(f"{base}{href}")
            expect(page.locator("body")).to_contain_text("Zora Quillfeather")
            assert page.requested_hosts == {base.removeprefix("http://")}
