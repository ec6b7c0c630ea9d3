"""The console's widgets in Chromium: a list filter's relation picker wide enough to read (it was a 40 px Select2
stub), and the Admin's "Raw JSON" disclosure that, opened, makes the form save the JSON typed there.

Chromium missing: the test fails when CI=true and is skipped otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.e2e.browser import live_app, pass_mfa, recording_page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Flask]]:
    with live_app(tmp_path_factory.mktemp("e2e-widgets")) as served:
        yield served


def test_filter_pickers_are_readable_and_the_raw_json_toggle_saves_json(server) -> None:
    from playwright.sync_api import expect

    from app.extensions import db
    from app.models.training import Meal

    base, app = server
    with recording_page(base, locale="en-US", viewport={"width": 1400, "height": 900}) as page:
        page.goto("/login/")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "admin-Passw0rd!")
        page.click("form[name=login] [type=submit]")
        pass_mfa(page, app, "admin")

        page.goto("/plan-items/list/")
        container = page.locator(".cd-filter[data-kind=relation] .select2-container").first
        container.wait_for()
        assert container.bounding_box()["width"] >= 120
        enum_filter = page.locator(".cd-filter[data-kind=enum] .select2-container").first
        assert enum_filter.bounding_box()["width"] >= 120

        page.goto("/meals/add")
        page.fill("#name", "Raw soup")
        page.fill("#macros_json-kcal", "100")  # what the fields say; the raw JSON below wins once opened
        page.click(".cd-json-raw summary")
        expect(page.locator("input.cd-json-use-raw")).to_be_checked()
        page.fill("textarea[name='macros_json.__raw']", '{"kcal": 250, "fat_g": 3}')
        page.click("#model_form [type=submit]")
        page.wait_for_url(lambda url: "/meals/add" not in url)  # saved: the form is gone
        assert page.requested_hosts == {urlparse_host(base)}
    with app.app_context():
        saved = db.session.query(Meal).filter(Meal.name == "Raw soup").one()
        assert saved.macros_json == {"kcal": 250, "fat_g": 3}


def urlparse_host(base: str) -> str:
    return base.split("//", 1)[1]
