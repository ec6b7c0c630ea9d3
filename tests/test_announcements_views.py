"""The announcements console on SQLite and PostgreSQL: who may do what (and anonymous), CSRF, bad input
answered 4xx with nothing changed, and compose -> preview -> schedule, then send, as a person clicks it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.base import utcnow
from app.models.engagement import Announcement, AnnouncementStatus, MessageDelivery
from app.models.identity import ConsoleUser
from app.models.jobs import JobRun
from app.services.engagement import announcements as svc
from app.services.jobs.context import execute_run
from tests.support.apps import ROLE_ACCOUNTS
from tests.support.jobworker import jobs_env  # noqa: F401  (a fixture)
from tests.support.web import login, session_csrf
from tests.test_announcements_service import _world

ROLES = ("Admin", "Manager", "Support", "Coach", "Compliance")
READERS, WRITERS = {"Admin", "Manager", "Support"}, {"Admin", "Manager"}


class Clients:
    def __init__(self, app: Flask, roles: tuple[str, ...]) -> None:
        self.app, self.clients, self.tokens = app, {}, {}
        for role in (None, *roles):
            client = app.test_client()
            if role is not None:
                username = ROLE_ACCOUNTS[role]
                login(client, username, f"{username}-Passw0rd!")
            self.clients[role], self.tokens[role] = client, session_csrf(app, client)

    def get(self, role: str | None, url: str) -> Any:
        return self.clients[role].get(url)

    def post(self, role: str | None, url: str, data: dict | None = None, *, csrf: bool = True) -> Any:
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.tokens[role]
        return self.clients[role].post(url, data=form)


def _snapshot(app: Flask) -> tuple:
    with app.app_context():
        rows = db.session.execute(sa.select(Announcement.id, Announcement.status, Announcement.title,
                                            Announcement.scheduled_at, Announcement.segment_json)).all()  # fmt: skip
        deliveries = db.session.scalar(sa.select(sa.func.count()).select_from(MessageDelivery))
        return sorted(map(tuple, rows), key=lambda r: r[0]), deliveries


def _world_in(app: Flask) -> dict:
    with app.app_context():
        return _world()


def _draft(app: Flask, **criteria: Any) -> int:
    with app.app_context():
        row = svc.create_draft(db.session, svc.Draft("Hello", "News", "EMAIL", criteria), created_by=None)
        db.session.commit()
        return row.id


def _form(w: dict, **extra: Any) -> dict:
    return {"title": "Spring offer", "body": "20% off this week", "channel": "EMAIL", "is_marketing": "1",
            "product_ids": [str(w["gold"])], **extra}  # fmt: skip


def _local(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")  # the test accounts' zone is UTC


def test_each_role_reaches_what_its_grants_say_and_anonymous_is_sent_to_sign_in(app: Flask, accounts) -> None:
    w = _world_in(app)
    draft = _draft(app)
    web = Clients(app, ROLES)
    later = _local(utcnow() + dt.timedelta(days=1))
    for role in ROLES:
        for url in ("/announcements/", f"/announcements/{draft}", f"/announcements/{draft}/progress"):
            assert web.get(role, url).status_code == (200 if role in READERS else 403), (role, url)
        expected = 200 if role in WRITERS else 403
        assert web.get(role, "/announcements/new").status_code == expected, role
        assert web.get(role, f"/announcements/{draft}/edit").status_code == expected, role
        if role not in WRITERS:
            before = _snapshot(app)
            for url, data in ((f"/announcements/{draft}/schedule", {"scheduled_at": later}),
                              (f"/announcements/{draft}/send", {}), (f"/announcements/{draft}/cancel", {}),
                              ("/announcements/new", _form(w))):  # fmt: skip
                assert web.post(role, url, data).status_code == 403, (role, url)
            assert _snapshot(app) == before
    for url in ("/announcements/", "/announcements/new", f"/announcements/{draft}"):
        resp = web.get(None, url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url
    before = _snapshot(app)
    assert web.post(None, f"/announcements/{draft}/cancel").status_code in (302, 401)
    assert _snapshot(app) == before
    assert web.get("Admin", "/announcements/987654321").status_code == 404
    assert 'href="/announcements/"' in web.get("Manager", "/").get_data(as_text=True)


def test_compose_preview_schedule_through_the_console(app: Flask, accounts) -> None:
    w = _world_in(app)
    web = Clients(app, ("Manager",))
    before = _snapshot(app)
    shown = web.post("Manager", "/announcements/new", {**_form(w), "step": "preview"})
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200
    # Gold: Ann (consented) and Bob (revoked): two in the audience, one excluded, one receives it.
    assert re.search(r'id="cd-audience-size">2<', html) and re.search(r'id="cd-audience-excluded">1<', html)
    assert "Spring offer" in html and _snapshot(app) == before  # previewing saves nothing
    saved = web.post("Manager", "/announcements/new", {**_form(w), "step": "save"})
    assert saved.status_code == 302
    with app.app_context():
        row = db.session.scalars(sa.select(Announcement)).one()
        manager = db.session.scalars(sa.select(ConsoleUser).where(ConsoleUser.username == "manager")).one()
        assert row.status == AnnouncementStatus.DRAFT and row.created_by_id == manager.platform_user_id
        assert row.segment_json == {"product_ids": [w["gold"]]} and row.target_segment == "Product: Gold"
        announcement_id = row.id
    page = web.get("Manager", saved.headers["Location"]).get_data(as_text=True)
    assert 'id="cd-audience-size">2<' in page and 'id="cd-announcement-schedule"' in page
    at = utcnow().replace(second=0, microsecond=0) + dt.timedelta(days=2)
    done = web.post("Manager", f"/announcements/{announcement_id}/schedule", {"scheduled_at": _local(at)})
    assert done.status_code == 302
    with app.app_context():
        row = db.session.get(Announcement, announcement_id)
        assert row.status == AnnouncementStatus.SCHEDULED and row.scheduled_at == at
    listing = web.get("Manager", "/announcements/").get_data(as_text=True)
    assert "Spring offer" in listing and "Product: Gold" in listing


BAD_COMPOSE = [
    ({"product_ids": ["987654"]}, 422),  # no such product
    ({"product_ids": ["99999999999999999999"]}, 400),  # a number no widget sends
    ({"coach_ids": ["0b5e2a8e-1c4d-4d8e-9f00-000000000000"]}, 422),
    ({"cohort_months": ["2026-13"]}, 422),
    ({"active_within_days": "99999"}, 422),
    ({"active_within_days": "-3"}, 400),
    ({"title": ""}, 422),
    ({"channel": "FAX"}, 422),
    ({"title": "Null\x00byte"}, 400),
]


def test_bad_compose_input_is_refused_with_a_message_and_nothing_saved(app: Flask, accounts) -> None:
    w = _world_in(app)
    draft = _draft(app)
    web = Clients(app, ("Admin",))
    before = _snapshot(app)
    for data, status in BAD_COMPOSE:
        for url in ("/announcements/new", f"/announcements/{draft}/edit"):
            for step in ("preview", "save"):
                resp = web.post("Admin", url, {**_form(w), **data, "step": step})
                assert resp.status_code == status, (data, url, step, resp.get_data(as_text=True)[:400])
                assert _snapshot(app) == before


def test_schedule_refusals_and_csrf_change_nothing(app: Flask, accounts) -> None:
    _world_in(app)
    draft = _draft(app)
    web = Clients(app, ("Admin",))
    before = _snapshot(app)
    url = f"/announcements/{draft}/schedule"
    for value, status in (
        (_local(utcnow() - dt.timedelta(hours=1)), 422),  # the past
        (_local(utcnow() + dt.timedelta(days=4000)), 422),  # absurd future
        ("99999-01-01T00:00", 400),
        ("tomorrow", 400),
        ("", 400),
    ):
        resp = web.post("Admin", url, {"scheduled_at": value})
        assert resp.status_code == status, (value, resp.status_code)
        assert 'id="cd-announcement-error"' in resp.get_data(as_text=True)
    later = _local(utcnow() + dt.timedelta(days=1))
    assert web.post("Admin", url, {"scheduled_at": later}, csrf=False).status_code == 400
    assert web.post("Admin", f"/announcements/{draft}/send", csrf=False).status_code == 400
    assert web.post("Admin", f"/announcements/{draft}/cancel", csrf=False).status_code == 400
    assert web.post("Admin", "/announcements/new", {"title": "x", "body": "y", "channel": "EMAIL"},
                    csrf=False).status_code == 400  # fmt: skip
    assert _snapshot(app) == before
    assert web.post("Admin", f"/announcements/{draft}/cancel").status_code == 302
    cancelled = _snapshot(app)
    assert web.post("Admin", f"/announcements/{draft}/send").status_code == 409  # cancelled: nothing to send
    assert web.post("Admin", f"/announcements/{draft}/schedule", {"scheduled_at": later}).status_code == 409
    assert _snapshot(app) == cancelled


@pytest.mark.usefixtures("jobs_env")
def test_send_now_queues_the_consenting_audience_once_and_the_page_shows_the_counts(app: Flask, accounts) -> None:
    w = _world_in(app)
    draft = _draft(app, product_ids=[w["gold"], w["silver"]])
    web = Clients(app, ("Admin",))
    assert web.post("Admin", f"/announcements/{draft}/send").status_code == 302
    with app.app_context():
        run = db.session.scalars(sa.select(JobRun).where(JobRun.kind == svc.SEND_KIND)).one()
        assert execute_run(run.id).status == "succeeded"
        again = svc.start_send(draft, enqueue=False)
        assert again.id == run.id  # one send run per announcement
        row = db.session.get(Announcement, draft)
        assert row.status == AnnouncementStatus.SENT
        # Gold or silver: Ann, Bob, Cat; Bob revoked his consent.
        assert (row.audience_size, row.skipped_count) == (3, 1)
        assert set(db.session.scalars(sa.select(MessageDelivery.recipient_id))) == {w["ann"], w["cat"]}
    page = web.get("Admin", f"/announcements/{draft}").get_data(as_text=True)
    assert '<td data-count="QUEUED">2</td>' in page
    progress = web.get("Admin", f"/announcements/{draft}/progress").get_json()
    assert progress["counts"]["QUEUED"] == 2 and progress["status"] == "SENT"
    assert web.post("Admin", f"/announcements/{draft}/send").status_code == 409
