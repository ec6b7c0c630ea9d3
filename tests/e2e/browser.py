"""What every browser test needs: Debian's Chromium (or a clear failure in CI) and the app on a real port."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying Google's hosts on this closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    """Chromium missing: fail in CI (CI=true), skip elsewhere."""
    if Path(CHROMIUM).exists():
        return
    message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` with werkzeug on a free localhost port; yields its base URL."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(timeout=10)


@contextmanager
def live_app(tmp_dir: Path, *, accounts: bool = True) -> Iterator[tuple[str, Flask]]:
    """A freshly migrated SQLite app (one console account per role) served on a free port: (base URL, app)."""
    from tests.support import databases
    from tests.support.apps import build_app, make_accounts

    require_chromium()
    app = build_app(databases.create_sqlite_database(tmp_dir))
    if accounts:
        make_accounts(app)
    with serving(app) as base:
        yield base, app


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """A headless Chromium for a module's tests (one launch, many pages)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def recording_page(base: str, **context_options: Any) -> Iterator[Any]:
    """A Chromium page on ``base`` whose ``requested_hosts`` collects every host it asked for
    (tests assert nothing left the server)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=base, **context_options)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.requested_hosts = set()
        page.on("request", lambda req: page.requested_hosts.add(urlparse(req.url).netloc))
        try:
            yield page
        finally:
            context.close()
            browser.close()


def pass_mfa(page: Any, app: Flask, username: str) -> None:
    """After the password: enrol at /mfa/setup (the key shown as text, a code from it) or enter a
    fresh code at /mfa/verify, as a person with an authenticator app would. No-op when not asked."""
    import pyotp

    from tests.support.web import MFA_SECRETS, fresh_code

    page.wait_for_load_state()
    key = (id(app), username)
    if "/mfa/setup" in page.url:
        secret = page.locator("#mfa-secret").inner_text().strip()
        MFA_SECRETS[key] = secret
        page.fill("#mfa-code", pyotp.TOTP(secret).now())
        page.click("[data-page=mfa-setup] [type=submit]")
        page.click("[data-page=mfa-recovery-codes] a.btn")
        page.wait_for_load_state()
    elif "/mfa/verify" in page.url:
        page.fill("#mfa-code", fresh_code(_AppClient(app), username, MFA_SECRETS[key]))
        page.click("[data-page=mfa-verify] [type=submit]")
        page.wait_for_load_state()


class _AppClient:
    """What ``fresh_code`` reads from a test client: its app."""

    def __init__(self, app: Flask) -> None:
        self.application = app
