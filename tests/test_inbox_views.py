"""The inbox pages (/inbox/) signed in as each role: the list, a conversation, the reply form.

Who may open them (anonymous goes to the login page; roles without the inbox get 403), a coach
never reaches another coach's thread (404), CSRF on the reply, bad bodies answered with a 4xx and a
message that change nothing, and a reply that lands as the signed-in person with its delivery queued.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.engagement import DeliveryStatus, Message, MessageDelivery, Thread
from app.services.engagement.messages import MAX_BODY
from tests.support.apps import ROLE_ACCOUNTS, make_accounts
from tests.support.inbox_world import InboxWorld, build_inbox_world, state, unread_rows
from tests.support.web import login, session_csrf


@pytest.fixture
def world(app: Flask, accounts: dict) -> InboxWorld:
    return build_inbox_world(app)


def signed_in(app: Flask, role: str | None) -> tuple[Any, str]:
    client = app.test_client()
    if role is not None:
        username = ROLE_ACCOUNTS[role]
        login(client, username, f"{username}-Passw0rd!")
    return client, session_csrf(app, client)


def _unread_cells(html: str) -> dict[int, int]:
    rows = re.findall(r'data-thread="(\d+)".*?class="cd-inbox-unread" data-unread="(\d+)"', html, re.S)
    return {int(t): int(n) for t, n in rows}


def test_roles_and_anonymous(sqlite_app: Flask) -> None:
    make_accounts(sqlite_app)
    world = build_inbox_world(sqlite_app)
    for role in ("Manager", "Compliance"):
        client, _token = signed_in(sqlite_app, role)
        for url in ("/inbox/", f"/inbox/{world.ticket}"):
            assert client.get(url).status_code == 403, (role, url)
        token = session_csrf(sqlite_app, client)
        refused = client.post(f"/inbox/{world.ticket}/reply", data={"body": "hi", "csrf_token": token})
        assert refused.status_code == 403
        assert 'href="/inbox/"' not in client.get("/").get_data(as_text=True)
    anonymous, token = signed_in(sqlite_app, None)
    for url in ("/inbox/", f"/inbox/{world.ticket}"):
        resp = anonymous.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    resp = anonymous.post(f"/inbox/{world.ticket}/reply", data={"body": "hi", "csrf_token": token})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    with sqlite_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Message.id))) == 6


def test_the_list_shows_each_viewer_their_threads_with_unread_counts(app: Flask, world: InboxWorld) -> None:
    coach, _ = signed_in(app, "Coach")
    resp = coach.get("/inbox/")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    with app.app_context():
        assert _unread_cells(html) == {world.coaching: unread_rows(world.coaching), world.notes: 1}
    assert "Cara Customer" in html and "Knee pain" in html and "Automation notes" in html
    assert "Diet question" not in html and "Charged twice" not in html
    assert 'data-unread="3"' in html  # the total
    assert 'href="/inbox/"' in coach.get("/").get_data(as_text=True)  # in the menu
    notes_only = coach.get("/inbox/", query_string={"context": "NOTES"}).get_data(as_text=True)
    assert list(_unread_cells(notes_only)) == [world.notes]
    only_dan = coach.get("/inbox/", query_string={"customer": str(world.dan)}).get_data(as_text=True)
    assert _unread_cells(only_dan) == {}
    for bad in ({"customer": "nobody"}, {"context": "GOSSIP"}, {"page": "0"}, {"page": "x"}):
        refused = coach.get("/inbox/", query_string=bad)
        assert refused.status_code == 400 and "alert-danger" in refused.get_data(as_text=True), bad
    support, _ = signed_in(app, "Support")
    support_html = support.get("/inbox/").get_data(as_text=True)
    assert list(_unread_cells(support_html)) == [world.ticket] and "Support ticket #77" in support_html


def _menu_badges(html: str) -> dict[str, int]:
    """The counts the navbar shows, by the link they sit on (a menu entry's href, or a group's name)."""
    entries = re.findall(r'href="([^"#]+)">(?:(?!</a>).)*?class="badge cd-menu-badge" data-count="(\d+)"', html, re.S)
    groups = re.findall(r'data-group="(\w+)">(?:(?!</a>).)*?class="badge cd-menu-badge" data-count="(\d+)"', html, re.S)
    return {href: int(n) for href, n in entries} | {group: int(n) for group, n in groups}


def test_the_navbar_counts_unread_messages_on_every_page(app: Flask, world: InboxWorld) -> None:
    coach, _ = signed_in(app, "Coach")
    with app.app_context():
        mine = unread_rows(world.coaching) + unread_rows(world.notes)  # not another coach's, not the desk's
    assert mine == 3
    home = coach.get("/").get_data(as_text=True)
    assert _menu_badges(home) == {"/inbox/": mine, "Engagement": mine}
    assert "3 unread messages" in home  # for screen readers and the tooltip
    inbox_page = coach.get("/inbox/").get_data(as_text=True)  # the link the badge sits on
    assert f'data-unread="{mine}"' in inbox_page
    assert _menu_badges(coach.get("/admin/").get_data(as_text=True))["/inbox/"] == mine  # /admin shares the menu
    coach.get(f"/inbox/{world.coaching}")  # reading the conversation clears its share of the count
    assert _menu_badges(coach.get("/").get_data(as_text=True)) == {"/inbox/": 1, "Engagement": 1}
    coach.get(f"/inbox/{world.notes}")
    assert "cd-menu-badge" not in coach.get("/").get_data(as_text=True)  # nothing unread: no badge

    desk, _ = signed_in(app, "Support")
    with app.app_context():
        assert _menu_badges(desk.get("/").get_data(as_text=True)) == {
            "/inbox/": unread_rows(world.ticket),
            "Engagement": unread_rows(world.ticket),
        }
    manager, _ = signed_in(app, "Manager")  # no inbox, no count (and no query for one)
    assert "cd-menu-badge" not in manager.get("/").get_data(as_text=True)


def test_opening_a_conversation_marks_it_read_and_lists_attachments(app: Flask, world: InboxWorld) -> None:
    with app.app_context():
        message = db.session.scalars(sa.select(Message).where(Message.thread_id == world.coaching)).first()
        message.attachments_json = [
            {"name": "knee.jpg", "url": "https://files.example/k.jpg", "content_type": "image/jpeg", "size_bytes": 2048}
        ]
        db.session.commit()
    coach, _ = signed_in(app, "Coach")
    resp = coach.get(f"/inbox/{world.coaching}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    bodies = re.findall(r'class="cd-inbox-body"[^>]*>([^<]*)<', html)
    assert bodies == ["My knee hurts after squats.", "Let&#39;s swap squats for lunges.", "Lunges hurt too."]
    assert "knee.jpg" in html and "2 KB" in html and "image/jpeg" in html
    assert "files.example" not in html  # listed, never fetched or linked
    assert html.count("Cara Customer") >= 2 and 'name="body"' in html
    with app.app_context():
        assert unread_rows(world.coaching) == 0
        assert unread_rows(world.notes) == 1


def test_a_coach_never_reaches_another_coachs_thread(app: Flask, world: InboxWorld) -> None:
    coach, token = signed_in(app, "Coach")
    before = state(app)
    for thread in (world.others, world.ticket, 987654321):
        assert coach.get(f"/inbox/{thread}").status_code == 404
        resp = coach.post(f"/inbox/{thread}/reply", data={"body": "Hello", "csrf_token": token})
        assert resp.status_code == 404
    assert state(app) == before


def test_reply_as_the_coach_moves_the_thread_and_queues_the_email(app: Flask, world: InboxWorld) -> None:
    coach, token = signed_in(app, "Coach")
    with app.app_context():
        before = db.session.get(Thread, world.coaching).last_message_at
    resp = coach.post(f"/inbox/{world.coaching}/reply", data={"body": "Ice it tonight.", "csrf_token": token})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/inbox/{world.coaching}")
    assert "Ice it tonight." in coach.get(resp.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        message = db.session.scalars(sa.select(Message).order_by(Message.id.desc())).first()
        assert (message.sender_id, message.recipient_id, message.body) == (world.coach, world.cara, "Ice it tonight.")
        thread = db.session.get(Thread, world.coaching)
        assert thread.last_message_at == message.sent_at and thread.last_message_at > before
        delivery = db.session.scalars(sa.select(MessageDelivery).where(MessageDelivery.message_id == message.id)).one()
        assert delivery.status == DeliveryStatus.QUEUED and delivery.recipient_id == world.cara


def test_support_replies_on_a_ticket_thread(app: Flask, world: InboxWorld) -> None:
    support, token = signed_in(app, "Support")
    resp = support.post(f"/inbox/{world.ticket}/reply", data={"body": "Refund issued.", "csrf_token": token})
    assert resp.status_code == 303
    with app.app_context():
        message = db.session.scalars(sa.select(Message).order_by(Message.id.desc())).first()
        assert (message.sender_id, message.recipient_id) == (world.support, world.cara)
    # A coach's conversation is another person's to answer: Support cannot even open it.
    assert support.get(f"/inbox/{world.coaching}").status_code == 404


def test_an_admin_reads_a_coachs_conversation_without_replying_or_marking_it(app: Flask, world: InboxWorld) -> None:
    admin, token = signed_in(app, "Admin")
    html = admin.get(f"/inbox/{world.coaching}").get_data(as_text=True)
    assert "Lunges hurt too." in html and 'name="body"' not in html
    before = state(app)
    resp = admin.post(f"/inbox/{world.coaching}/reply", data={"body": "Hi", "csrf_token": token})
    assert resp.status_code == 403 and "alert-danger" in resp.get_data(as_text=True)
    assert state(app) == before
    with app.app_context():
        assert unread_rows(world.coaching) == 2


BAD_BODIES = [
    ({"body": ""}, 422),
    ({"body": "   "}, 422),
    ({}, 422),
    ({"body": "x" * (MAX_BODY + 1)}, 422),
    ({"body": "bell\x07"}, 422),
    ({"body": "nul\x00byte"}, 400),  # the input guard refuses NUL bytes before any view
]


def test_bad_bodies_are_refused_with_a_message_and_change_nothing(sqlite_app: Flask) -> None:
    make_accounts(sqlite_app)
    world = build_inbox_world(sqlite_app)
    coach, token = signed_in(sqlite_app, "Coach")
    before = state(sqlite_app)
    for data, status in BAD_BODIES:
        resp = coach.post(f"/inbox/{world.coaching}/reply", data={**data, "csrf_token": token})
        html = resp.get_data(as_text=True)
        assert resp.status_code == status, (data.get("body", "")[:20], html[:300])
        if status == 422:
            assert re.search(r'class="alert alert-danger cd-inbox-error"[^>]*>\s*body ', html), html[:300]
            assert data.get("body", "")[:100] in html  # the draft is kept for the person to fix
        assert state(sqlite_app) == before


def test_reply_needs_the_csrf_token(sqlite_app: Flask) -> None:
    make_accounts(sqlite_app)
    world = build_inbox_world(sqlite_app)
    coach, _ = signed_in(sqlite_app, "Coach")
    before = state(sqlite_app)
    assert coach.post(f"/inbox/{world.coaching}/reply", data={"body": "Hello"}).status_code == 400
    bad = coach.post(f"/inbox/{world.coaching}/reply", data={"body": "Hello", "csrf_token": "forged"})
    assert bad.status_code == 400
    assert state(sqlite_app) == before


def test_the_messages_records_are_read_only(sqlite_app: Flask) -> None:
    make_accounts(sqlite_app)
    world = build_inbox_world(sqlite_app)
    for role in ("Coach", "Support", "Admin"):
        client, token = signed_in(sqlite_app, role)
        assert client.get("/messages/add").status_code == 404, role
        before = state(sqlite_app)
        forged = {"thread": str(world.coaching), "sender": str(world.cara), "body": "I quit", "csrf_token": token}
        assert client.post("/messages/add", data=forged).status_code in (404, 405)
        with sqlite_app.app_context():
            first = db.session.scalars(sa.select(Message.id).order_by(Message.id)).first()
        assert client.post(f"/messages/edit/{first}", data={**forged}).status_code in (404, 405)
        assert state(sqlite_app) == before
        listing = client.get("/messages/list/")
        assert listing.status_code == 200 and "Inbox" in listing.get_data(as_text=True)
