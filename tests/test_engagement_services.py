"""Support tickets and messages (issue 15's API services): SLA, own rows only, the sender is the actor."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.engagement import Message, SupportTicket, Thread, ThreadContext, TicketPriority
from app.models.events import DomainEvent
from app.models.identity import RoleCode
from app.services.engagement.errors import EngagementError, NotVisible, Refused
from app.services.engagement.messages import NOTES_CONTEXT, messages_of, post_message, threads_of
from app.services.engagement.tickets import SLA_BY_PRIORITY, get_ticket, open_ticket, tickets_of
from tests.support.plan_support import make_customer, make_user

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _thread(customer: uuid.UUID, coach: uuid.UUID | None, *, notes: bool = False, at: dt.datetime | None = None) -> int:
    thread = Thread(
        subject="Check-in", context_type=ThreadContext.CUSTOMER_COACH, customer_id=customer, coach_id=coach,
        context_id=NOTES_CONTEXT if notes else None, last_message_at=at,
    )  # fmt: skip
    db.session.add(thread)
    db.session.commit()
    return thread.id


@pytest.fixture
def people(app_ctx: Flask) -> dict[str, uuid.UUID]:
    coach = make_user("Coach A", RoleCode.COACH).id
    other_coach = make_user("Coach B", RoleCode.COACH).id
    return {
        "coach": coach,
        "other_coach": other_coach,
        "cara": make_customer("Cara", coach_id=coach),
        "dan": make_customer("Dan", coach_id=other_coach),
    }


@pytest.mark.parametrize("priority", list(TicketPriority))
def test_ticket_sla_follows_priority(people: dict, priority: TicketPriority) -> None:
    ticket = open_ticket(people["cara"], "Can't log in", priority=priority.value, now=NOW)
    db.session.commit()
    assert ticket.sla_due_at == NOW + SLA_BY_PRIORITY[priority]
    event = db.session.scalars(sa.select(DomainEvent)).one()
    assert event.event_type == "support.ticket_created" and event.customer_id == people["cara"]
    assert event.payload["ticket_id"] == ticket.id and event.payload["priority"] == priority.value


def test_ticket_text_opens_its_support_thread(people: dict) -> None:
    ticket = open_ticket(people["cara"], "  Billing\nquestion ", body="Charged twice?\nSee March.", now=NOW)
    db.session.commit()
    assert ticket.subject == "Billing question" and ticket.priority == TicketPriority.NORMAL
    thread = db.session.scalars(sa.select(Thread)).one()
    assert (thread.context_type, thread.context_id, thread.customer_id) == (
        ThreadContext.SUPPORT, str(ticket.id), people["cara"],
    )  # fmt: skip
    assert thread.last_message_at == NOW
    message = db.session.scalars(sa.select(Message)).one()
    assert message.sender_id == people["cara"] and message.body == "Charged twice?\nSee March."
    # The requester continues the conversation in it.
    assert [t.id for t in db.session.scalars(threads_of(people["cara"]))] == [thread.id]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"subject": ""}, "subject"),
        ({"subject": 7}, "subject"),
        ({"subject": "x" * 301}, "subject"),
        ({"subject": "a\x00b"}, "subject"),
        ({"priority": "CRITICAL"}, "priority"),
        ({"priority": 1}, "priority"),
        ({"body": ""}, "body"),
        ({"body": ["text"]}, "body"),
        ({"body": "x" * 20001}, "body"),
        ({"body": "bell\x07"}, "body"),
    ],
)
def test_bad_ticket_input_changes_nothing(people: dict, kwargs: dict, field: str) -> None:
    args = {"subject": "Help", **kwargs}
    with pytest.raises(EngagementError) as refused:
        open_ticket(people["cara"], args.pop("subject"), now=NOW, **args)
    assert refused.value.field == field and refused.value.status == 422
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SupportTicket)) == 0


def test_people_read_only_their_own_tickets(people: dict) -> None:
    mine = open_ticket(people["cara"], "Mine", now=NOW)
    theirs = open_ticket(people["dan"], "Theirs", now=NOW)
    db.session.commit()
    assert [t.id for t in db.session.scalars(tickets_of(people["cara"]))] == [mine.id]
    assert get_ticket(people["cara"], mine.id).id == mine.id
    with pytest.raises(NotVisible):
        get_ticket(people["cara"], theirs.id)


def test_a_post_is_from_the_acting_person_and_moves_last_message_at(people: dict) -> None:
    thread_id = _thread(people["cara"], people["coach"], at=NOW - dt.timedelta(days=1))
    message = post_message(people["cara"], thread_id, "  Done with week 1!  ", now=NOW)
    db.session.commit()
    assert (message.sender_id, message.recipient_id, message.body) == (
        people["cara"],
        people["coach"],
        "Done with week 1!",
    )
    assert db.session.get(Thread, thread_id).last_message_at == NOW
    reply = post_message(people["coach"], thread_id, "Great work", now=NOW + dt.timedelta(minutes=5))
    db.session.commit()
    assert (reply.sender_id, reply.recipient_id) == (people["coach"], people["cara"])
    # A message stamped earlier (a clock behind) never moves the thread back.
    post_message(people["cara"], thread_id, "late", now=NOW - dt.timedelta(hours=1))
    db.session.commit()
    assert db.session.get(Thread, thread_id).last_message_at == NOW + dt.timedelta(minutes=5)
    listed = [m.body for m in db.session.scalars(messages_of(people["coach"], thread_id))]
    assert listed == ["Great work", "Done with week 1!", "late"]


def test_nobody_posts_into_or_reads_someone_elses_thread(people: dict) -> None:
    dans = _thread(people["dan"], people["other_coach"])
    for person in (people["cara"], people["coach"]):
        with pytest.raises(NotVisible):
            post_message(person, dans, "hello", now=NOW)
        with pytest.raises(NotVisible):
            messages_of(person, dans)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0
    assert db.session.get(Thread, dans).last_message_at is None


def test_notes_threads_are_hidden_from_the_customer_and_read_only(people: dict) -> None:
    notes = _thread(people["cara"], people["coach"], notes=True)
    talk = _thread(people["cara"], people["coach"])
    assert [t.id for t in db.session.scalars(threads_of(people["cara"]))] == [talk]
    assert {t.id for t in db.session.scalars(threads_of(people["coach"]))} == {notes, talk}
    with pytest.raises(NotVisible):
        post_message(people["cara"], notes, "peek", now=NOW)
    with pytest.raises(Refused):
        post_message(people["coach"], notes, "note", now=NOW)


@pytest.mark.parametrize("body", ["", "   ", None, 5, {"text": "x"}, "x" * 20001, "nul\x00"])
def test_bad_message_bodies_are_refused(people: dict, body: object) -> None:
    thread_id = _thread(people["cara"], people["coach"])
    with pytest.raises(EngagementError) as refused:
        post_message(people["cara"], thread_id, body, now=NOW)
    assert refused.value.field == "body"
