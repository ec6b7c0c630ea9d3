"""A small schedule for the calendar's web tests: two coaches, their customers, a session each, signed-in clients."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.identity import ConsoleUser, RoleCode
from app.policy.scope import Actor
from tests.support.apps import ROLE_ACCOUNTS
from tests.support.plan_support import make_customer, make_user
from tests.support.web import login, session_csrf


def next_monday(at_hour: int = 10) -> dt.datetime:
    """Monday of next week at ``at_hour`` UTC: always in the future, a whole week to play in."""
    today = dt.datetime.now(dt.UTC).replace(hour=at_hour, minute=0, second=0, microsecond=0)
    return today + dt.timedelta(days=7 - today.weekday())


def wall(moment: dt.datetime) -> str:
    """Wall-clock text in UTC (the test accounts read times in UTC), as the page's script sends it."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="minutes")


@dataclass
class ScheduleWorld:
    coach_id: uuid.UUID
    other_coach_id: uuid.UUID
    customers: list[uuid.UUID]  # assigned to the signed-in coach
    other_customer: uuid.UUID  # assigned to the other coach
    session_id: int  # the coach's class, capacity 2
    other_session_id: int  # the other coach's class
    start: dt.datetime
    clients: dict[str | None, Any] = field(default_factory=dict)
    tokens: dict[str | None, str] = field(default_factory=dict)

    def post(self, role: str | None, url: str, body: Any = None, *, csrf: bool = True) -> Any:
        headers = {"Accept": "application/json", **({"X-CSRFToken": self.tokens[role]} if csrf else {})}
        return self.clients[role].post(url, json=body if body is not None else {}, headers=headers)

    def get(self, role: str | None, url: str, **kw: Any) -> Any:
        return self.clients[role].get(url, headers={"Accept": "application/json"}, **kw)


def platform_id(username: str) -> uuid.UUID:
    return db.session.scalar(sa.select(ConsoleUser.platform_user_id).where(ConsoleUser.username == username))


def make_session(actor: Actor, coach_id: uuid.UUID, start: dt.datetime, *, title: str, capacity: int = 2) -> int:
    from app.services.scheduling import sessions

    draft = sessions.SessionDraft(
        title=title,
        session_type="CLASS",
        start=start,
        end=start + dt.timedelta(hours=1),
        timezone="UTC",
        capacity=capacity,
        coach_id=coach_id,
        location="Studio 1" if coach_id else None,
    )
    created = sessions.create_sessions(db.session, actor, draft, override=True)
    db.session.commit()
    return created[0].id


def build_schedule_world(app: Flask, accounts: dict) -> ScheduleWorld:
    """Coach (the ``coach`` account) with three customers and a class; another coach with one of each."""
    del accounts  # the accounts fixture made the console accounts this reads
    start = next_monday()
    with app.app_context():
        coach_id = platform_id("coach")
        admin = Actor(platform_id("admin"), frozenset({"Admin"}))
        other = make_user("Coach Bee", RoleCode.COACH)
        db.session.commit()
        other_id = other.id
        customers = [make_customer(f"Customer {n}", "UTC", coach_id) for n in ("One", "Two", "Three")]
        other_customer = make_customer("Customer Bee", "UTC", other_id)
        session_id = make_session(admin, coach_id, start, title="Morning strength")
        other_session = make_session(admin, other_id, start + dt.timedelta(hours=3), title="Bee yoga")
    world = ScheduleWorld(coach_id, other_id, customers, other_customer, session_id, other_session, start)
    world.clients[None] = app.test_client()
    world.tokens[None] = session_csrf(app, world.clients[None])
    for role, username in ROLE_ACCOUNTS.items():
        client = app.test_client()
        login(client, username, f"{username}-Passw0rd!")
        world.clients[role] = client
        world.tokens[role] = session_csrf(app, client)
    return world


def count(app: Flask, model: type, *criteria: Any) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*criteria))


def snapshot(app: Flask) -> dict[str, int]:
    """Row counts and session versions: what a refused request must leave exactly as it was."""
    from app.models.scheduling import (
        AvailabilityException,
        CalendarFeed,
        CoachAvailability,
        ScheduledSession,
        SessionParticipant,
        WaitlistEntry,
    )

    with app.app_context():
        out = {m.__tablename__: count(app, m) for m in (
            ScheduledSession, SessionParticipant, WaitlistEntry, CoachAvailability, AvailabilityException, CalendarFeed,
        )}  # fmt: skip
        out["versions"] = db.session.scalar(sa.select(sa.func.sum(ScheduledSession.version))) or 0
        out["cancelled"] = count(app, ScheduledSession, ScheduledSession.status == "CANCELLED")
        return out


def start_now(app: Flask, session_id: int) -> None:
    """Move a session to have started ten minutes ago (attendance is marked once a session has begun).

    Straight in the table: the services refuse to schedule into the past, as they should."""
    from app.models.scheduling import ScheduledSession

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with app.app_context():
        row = db.session.get(ScheduledSession, session_id)
        row.start_time, row.end_time = now - dt.timedelta(minutes=10), now + dt.timedelta(minutes=50)
        db.session.commit()
