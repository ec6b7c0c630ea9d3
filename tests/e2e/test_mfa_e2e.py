"""A person enrols an Admin account in two-step sign-in in Chromium, signs out and back in with a code."""

from __future__ import annotations

from collections.abc import Iterator

import pyotp
import pytest
from flask import Flask

from tests.e2e.browser import live_app, recording_page
from tests.support.web import fresh_code


class _AppClient:
    def __init__(self, app: Flask) -> None:
        self.application = app


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Flask]]:
    with live_app(tmp_path_factory.mktemp("e2e-mfa")) as served:
        yield served


def _password(page, base: str) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "admin-Passw0rd!")
    page.click("form[name=login] [type=submit]")
    page.wait_for_load_state()


def test_admin_enrols_signs_out_and_back_in_with_a_code(server) -> None:
    from playwright.sync_api import expect

    base, app = server
    with recording_page(base, locale="en-GB") as page:
        _password(page, base)
        assert "/mfa/setup" in page.url
        assert page.locator(".cd-mfa-qr svg").count() == 1
        secret = page.locator("#mfa-secret").inner_text().strip()
        page.fill("#mfa-code", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
        page.click("[data-page=mfa-setup] [type=submit]")
        expect(page.locator("[data-page=mfa-setup] .alert-danger")).to_have_count(1)
        page.fill("#mfa-code", pyotp.TOTP(secret).now())
        page.click("[data-page=mfa-setup] [type=submit]")
        expect(page.locator(".cd-recovery-code")).to_have_count(10)
        page.click("[data-page=mfa-recovery-codes] a.btn")
        page.wait_for_url(f"{base}/")

        page.goto("/account/sessions/")
        expect(page.locator("[data-session]")).to_have_count(1)
        page.click(".navbar-right .dropdown-toggle >> nth=-1")
        page.click(".navbar-right .dropdown.open button.cd-menu-button:has(.fa-sign-out)")
        page.wait_for_load_state()

        _password(page, base)
        assert "/mfa/verify" in page.url
        page.fill("#mfa-code", fresh_code(_AppClient(app), "admin", secret))
        page.click("[data-page=mfa-verify] [type=submit]")
        page.wait_for_url(f"{base}/")
        assert page.locator("form.cd-menu-form").count() >= 1
        assert page.requested_hosts <= {urlhost(base)}


def urlhost(base: str) -> str:
    return base.split("//", 1)[1]
