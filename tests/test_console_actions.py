"""Bulk actions change exactly the rows that need it, report how many, and are idempotent."""

from __future__ import annotations

import datetime as dt

from app.extensions import db
from app.models import APIClient, CommunityPost, PlatformUser, SupportTicket
from app.models.automation import ClientStatus
from app.models.engagement import PostStatus, TicketStatus
from app.models.identity import UserStatus
from app.services import console_actions


def _people(n: int) -> list[PlatformUser]:
    users = [PlatformUser(email=f"p{i}@example.test", full_name=f"Person {i}") for i in range(n)]
    db.session.add_all(users)
    db.session.flush()
    return users


def test_status_actions_change_only_what_needs_changing(app_ctx):
    users = _people(3)
    users[0].status = UserStatus.SUSPENDED
    posts = [
        CommunityPost(author_id=users[1].id, community_id=1, content=f"post {i}", status=status)
        for i, status in enumerate((PostStatus.PUBLISHED, PostStatus.FLAGGED, PostStatus.HIDDEN))
    ]
    clients = [APIClient(name=f"c{i}", api_key_hash="h" * 64) for i in range(2)]
    db.session.add_all(posts + clients)
    db.session.flush()

    assert console_actions.suspend_users(db.session, users) == 2
    assert {u.status for u in users} == {UserStatus.SUSPENDED}
    assert console_actions.hide_posts(db.session, posts) == 2
    assert {p.status for p in posts} == {PostStatus.HIDDEN}
    assert console_actions.revoke_api_clients(db.session, clients) == 2
    assert {c.status for c in clients} == {ClientStatus.REVOKED}
    # A second run changes nothing.
    assert console_actions.suspend_users(db.session, users) == 0
    assert console_actions.hide_posts(db.session, posts) == 0
    assert console_actions.revoke_api_clients(db.session, clients) == 0
    db.session.rollback()


def test_closing_tickets_stamps_the_close_time_once(app_ctx):
    (requester,) = _people(1)
    earlier = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    tickets = [
        SupportTicket(requester_id=requester.id, subject="open one"),
        SupportTicket(requester_id=requester.id, subject="resolved", status=TicketStatus.RESOLVED, closed_at=earlier),
    ]
    db.session.add_all(tickets)
    db.session.flush()
    assert console_actions.close_tickets(db.session, tickets) == 2
    assert {t.status for t in tickets} == {TicketStatus.CLOSED}
    assert tickets[0].closed_at is not None and tickets[1].closed_at == earlier
    db.session.rollback()
