"""The inbox service on SQLite and PostgreSQL: who sees which threads, unread counts against the rows, read
marks, replies as the signed-in person only, the queued e-mail delivery and ``last_message_at``."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import committed, db
from app.models.engagement import Channel, DeliveryStatus, Message, MessageDelivery, Thread
from app.models.identity import PlatformUser
from app.services.engagement import inbox
from app.services.engagement.errors import EngagementError, NotVisible, Refused
from app.services.engagement.messages import MAX_BODY, post_message
from tests.support.inbox_world import InboxWorld, build_inbox_world, state, unread_rows


@pytest.fixture
def world(app: Flask, accounts: dict) -> InboxWorld:
    return build_inbox_world(app)


def _ids(listing: inbox.InboxPage) -> list[int]:
    return [row.thread.id for row in listing.rows]


def test_each_role_sees_its_threads_newest_first_with_unread_counts_from_the_rows(app: Flask, world) -> None:
    with app.app_context():
        coach = inbox.inbox(world.actor("Coach"))
        assert _ids(coach) == [world.coaching, world.notes]  # 30 min after T0, then 5 min
        assert {r.thread.id: r.unread for r in coach.rows} == {world.coaching: 2, world.notes: 1}
        assert _ids(inbox.inbox(world.actor("Support"))) == [world.ticket]
        admin = inbox.inbox(world.actor("Admin"))
        assert _ids(admin) == [world.ticket, world.others, world.coaching, world.notes]
        for row in admin.rows:
            assert row.unread == unread_rows(row.thread.id)
        assert inbox.inbox(world.actor("Manager")).rows == []
        assert inbox.unread_total(world.actor("Coach")) == 3
        assert inbox.unread_total(world.actor("Support")) == 1
        assert inbox.unread_total(world.actor("Admin")) == 1  # the desk's threads; a coach's are theirs to answer


def test_filters_by_customer_and_context_and_pages(app: Flask, world) -> None:
    admin = world.actor("Admin")
    with app.app_context():
        assert _ids(inbox.inbox(admin, customer_id=world.dan)) == [world.others]
        assert _ids(inbox.inbox(admin, context=inbox.InboxContext.NOTES)) == [world.notes]
        assert _ids(inbox.inbox(admin, context=inbox.InboxContext.SUPPORT)) == [world.ticket]
        coaching = inbox.inbox(admin, context=inbox.InboxContext.COACHING)
        assert _ids(coaching) == [world.others, world.coaching]
        assert _ids(inbox.inbox(admin, customer_id=world.cara, context=inbox.InboxContext.COACHING)) == [world.coaching]
        second = inbox.inbox(admin, page=2, page_size=3)
        assert (_ids(second), second.total, second.pages) == ([world.notes], 4, 2)
        assert inbox.inbox(admin, page=99, page_size=3).page == 2
        names = [name for _id, name in inbox.customer_choices(world.actor("Coach"))]
        assert names == ["Cara Customer"]


def test_opening_marks_the_staff_side_read_for_the_person_who_answers(app: Flask, world) -> None:
    with app.app_context():
        coach, admin = world.actor("Coach"), world.actor("Admin")
        # An Admin reading a coach's conversation marks nothing: the coach has not read it.
        with committed():
            assert inbox.mark_read(admin, inbox.open_thread(admin, world.coaching)) == 0
        now = dt.datetime.now(dt.UTC)
        with committed():
            assert inbox.mark_read(coach, inbox.open_thread(coach, world.coaching), now=now) == 2
        messages = db.session.scalars(sa.select(Message).where(Message.thread_id == world.coaching)).all()
        for m in messages:
            if m.recipient_id == world.cara:
                assert m.read_at is None  # the customer's side is the customer's to read
            else:
                assert m.read_at is not None and m.read_at >= m.sent_at
        assert unread_rows(world.coaching) == 0
        assert inbox.unread_total(coach) == 1
        # A message sent "later" than the reader's clock is never marked read before it was sent.
        with committed():
            assert inbox.mark_read(coach, inbox.open_thread(coach, world.notes), now=now - dt.timedelta(days=5)) == 1
        note = db.session.scalars(sa.select(Message).where(Message.thread_id == world.notes)).one()
        assert note.read_at == note.sent_at


def test_coach_reply_is_from_the_coach_to_the_customer_and_queues_its_email(app: Flask, world) -> None:
    with app.app_context():
        before = db.session.get(Thread, world.coaching).last_message_at
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        with committed():
            message = inbox.reply(world.actor("Coach"), world.coaching, "  Rest two days, then we'll see.\n", now=now)
        assert (message.sender_id, message.recipient_id, message.body) == (
            world.coach,
            world.cara,
            "Rest two days, then we'll see.",
        )
        thread = db.session.get(Thread, world.coaching)
        db.session.refresh(thread)
        assert thread.last_message_at == now > before
        delivery = db.session.scalars(sa.select(MessageDelivery).where(MessageDelivery.message_id == message.id)).one()
        assert (delivery.recipient_id, delivery.channel, delivery.status, delivery.attempts) == (
            world.cara,
            Channel.EMAIL,
            DeliveryStatus.QUEUED,
            0,
        )
        assert delivery.announcement_id is None
        assert unread_rows(world.coaching) == 0  # answering means having read


def test_support_replies_as_themselves_on_support_threads(app: Flask, world) -> None:
    with app.app_context():
        with committed():
            message = inbox.reply(world.actor("Support"), world.ticket, "Refunded the second charge.")
        assert (message.sender_id, message.recipient_id) == (world.support, world.cara)
        assert db.session.scalar(sa.select(sa.func.count()).where(MessageDelivery.message_id == message.id)) == 1
        with committed():
            admin_reply = inbox.reply(world.actor("Admin"), world.ticket, "Following up.")
        assert admin_reply.sender_id == world.admin


@pytest.mark.parametrize(
    ("role", "thread", "error"),
    [
        ("Coach", "others", NotVisible),  # another coach's conversation: not even there
        ("Coach", "ticket", NotVisible),
        ("Support", "coaching", NotVisible),
        ("Coach", "notes", Refused),  # automation's channel to the coach
        ("Admin", "coaching", Refused),  # an Admin reads a coach's conversation, never speaks for the coach
        ("Manager", "ticket", NotVisible),
    ],
)
def test_replies_outside_ones_threads_are_refused_and_write_nothing(
    app: Flask, world, role: str, thread: str, error: type
) -> None:
    before = state(app)
    with app.app_context(), pytest.raises(error), committed():
        inbox.reply(world.actor(role), getattr(world, thread), "Hello")
    assert state(app) == before


@pytest.mark.parametrize("body", ["", "   \n ", "a\x00b", "x" * (MAX_BODY + 1), None, 7])
def test_bad_bodies_are_refused_with_a_message_and_write_nothing(app: Flask, world, body) -> None:
    before = state(app)
    with app.app_context(), pytest.raises(EngagementError) as refused, committed():
        inbox.reply(world.actor("Coach"), world.coaching, body)
    assert refused.value.status == 422 and refused.value.field == "body" and refused.value.message
    assert state(app) == before


def test_only_messages_to_a_customer_queue_a_delivery(app: Flask, world) -> None:
    with app.app_context():
        # The world: the coach's one message to Cara queued one; Cara's, Dan's, the note and the ticket none.
        queued = db.session.execute(sa.select(MessageDelivery.recipient_id)).scalars().all()
        assert queued == [world.cara]
        with committed():
            post_message(world.cara, world.coaching, "Thanks coach")  # the API's path: to the coach
        assert db.session.scalar(sa.select(sa.func.count(MessageDelivery.id))) == 1
        assert db.session.get(PlatformUser, world.cara) is not None
