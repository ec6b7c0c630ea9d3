"""The inbox in a real browser: a coach opens the inbox, opens a conversation, replies and sees the reply.

Playwright (sync API) driving Debian's Chromium against a real server on a fresh SQLite file.
Chromium missing: fails when CI=true, else skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.e2e.browser import live_app, pass_mfa, recording_page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Flask]]:
    with live_app(tmp_path_factory.mktemp("e2e-inbox")) as served:
        yield served


def test_a_coach_opens_a_thread_replies_and_sees_the_reply(server) -> None:
    from playwright.sync_api import expect

    from app.extensions import db
    from app.models.engagement import Message, MessageDelivery
    from tests.support.inbox_world import build_inbox_world, unread_rows

    base, app = server
    world = build_inbox_world(app)
    with recording_page(base, locale="en-GB") as page:
        page.goto("/login/")
        page.fill("input[name=username]", "coach")
        page.fill("input[name=password]", "coach-Passw0rd!")
        page.click("form[name=login] [type=submit]")
        pass_mfa(page, app, "coach")
        page.wait_for_url(f"{base}/")

        page.click('.cd-menu-group[data-group="Engagement"] > .dropdown-toggle')  # the inbox sits under Engagement
        page.locator('.cd-menu-group[data-group="Engagement"] a[href="/inbox/"]').click()
        page.wait_for_url(f"{base}/inbox/")
        row = page.locator(f'tr.cd-inbox-thread[data-thread="{world.coaching}"]')
        expect(row).to_contain_text("Cara Customer")
        expect(row.locator(".cd-inbox-unread .badge")).to_have_text("2")
        expect(page.locator(f'tr.cd-inbox-thread[data-thread="{world.others}"]')).to_have_count(0)

        row.locator("a").click()
        expect(page.locator("h1")).to_have_text("Knee pain")
        expect(page.locator(".cd-inbox-message")).to_have_count(3)
        expect(page.locator(".cd-inbox-message").last).to_contain_text("Lunges hurt too.")

        page.fill("#cd-inbox-body", "Rest it for two days, then easy cycling.")
        page.click(".cd-inbox-reply [type=submit]")
        expect(page.locator(".cd-inbox-message")).to_have_count(4)
        last = page.locator(".cd-inbox-message").last
        expect(last).to_contain_text("Rest it for two days, then easy cycling.")
        expect(last.locator(".cd-inbox-sender")).to_have_text("Coach Person")

        page.goto("/inbox/")
        expect(
            page.locator(f'tr.cd-inbox-thread[data-thread="{world.coaching}"] .cd-inbox-unread .badge')
        ).to_have_count(0)
        assert page.requested_hosts == {base.removeprefix("http://")}

    with app.app_context():
        reply = db.session.scalars(sa.select(Message).order_by(Message.id.desc())).first()
        assert (reply.sender_id, reply.recipient_id) == (world.coach, world.cara)
        assert db.session.scalar(sa.select(sa.func.count()).where(MessageDelivery.message_id == reply.id)) == 1
        assert unread_rows(world.coaching) == 0
