"""The workspaces' layout in Chromium: panels side by side at 1,400 px, stacked with no sideways scroll
at 390 px (the CSS media query), for a person holding every role. Screenshots go to the test's tmp dir.

Chromium missing: the test fails when CI=true and is skipped otherwise.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.e2e.browser import live_app, pass_mfa, recording_page

pytestmark = pytest.mark.e2e


def test_workspace_panels_side_by_side_wide_and_stacked_at_390px(tmp_path: Path) -> None:
    from app.extensions import db
    from app.models.base import utcnow
    from app.models.engagement import SupportTicket
    from app.models.identity import PlatformUser

    with live_app(tmp_path) as (base, app):
        with app.app_context():
            sm = app.appbuilder.sm
            user = sm.find_user(username="coach")
            for role in ("Support", "Manager", "Compliance", "Admin"):
                user.roles.append(sm.find_role(role))
            customer = PlatformUser(email="wide@example.test", full_name="A Customer With A Rather Long Name")
            db.session.add(customer)
            db.session.flush()
            subject = "A support ticket subject long enough to wrap on a narrow phone screen"
            db.session.add(SupportTicket(requester_id=customer.id, subject=subject, sla_due_at=utcnow()))
            db.session.add(
                SupportTicket(requester_id=customer.id, subject="Later", sla_due_at=utcnow() + dt.timedelta(1))
            )
            db.session.commit()
        with recording_page(base, locale="en-US", viewport={"width": 1400, "height": 900}) as page:
            page.goto("/login/")
            page.fill("input[name=username]", "coach")
            page.fill("input[name=password]", "coach-Passw0rd!")
            page.click("form[name=login] [type=submit]")
            pass_mfa(page, app, "coach")
            page.goto("/")
            page.wait_for_selector('[data-role="Admin"] [data-panel="services"]')
            for role in ("Coach", "Support", "Manager", "Compliance", "Admin"):
                assert page.locator(f'.cd-ws-section[data-role="{role}"]').count() == 1, role
            page.screenshot(path=str(tmp_path / "workspaces-1400.png"), full_page=True)
            lefts = page.eval_on_selector_all(
                '[data-role="Support"] .cd-ws-panel', "els => els.map(e => e.getBoundingClientRect().left)"
            )
            assert len(set(lefts)) > 1, "panels should sit side by side at 1,400 px"

            page.set_viewport_size({"width": 390, "height": 844})
            page.reload()
            page.wait_for_selector('[data-role="Admin"] [data-panel="services"]')
            page.screenshot(path=str(tmp_path / "workspaces-390.png"), full_page=True)
            boxes = page.eval_on_selector_all(
                ".cd-ws-panel",
                "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.right]; })",
            )
            assert len({round(left) for left, _ in boxes}) == 1, "panels stack in one column"
            tiles = page.eval_on_selector_all(
                ".cd-ws-tile", "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.right]; })"
            )
            assert len({round(left) for left, _ in tiles}) == 2, "KPI tiles two to a row"
            assert all(right <= 390 for _, right in boxes + tiles), boxes + tiles
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            assert page.requested_hosts == {urlparse_host(base)}


def urlparse_host(base: str) -> str:
    return base.split("//", 1)[1]
