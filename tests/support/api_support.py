"""REST API test helpers: API clients with keys, and Bearer headers."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from app.extensions import db
from app.models.automation import APIClient, ClientStatus
from app.models.identity import RoleCode
from app.services.api_clients.keys import issue_key
from app.services.api_clients.scopes import SCOPES

ALL_SCOPES = " ".join(sorted(SCOPES))


def make_api_client(
    scopes: str = ALL_SCOPES,
    *,
    coach_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    status: ClientStatus = ClientStatus.ACTIVE,
    name: str | None = None,
) -> tuple[int, str]:
    """A committed API client and its key (call inside an app context)."""
    issued = issue_key()
    client = APIClient(
        name=name or f"client-{uuid.uuid4().hex[:8]}",
        api_key_hash=issued.key_hash,
        key_prefix=issued.prefix,
        scopes=scopes,
        coach_id=coach_id,
        customer_id=customer_id,
        status=status,
    )
    db.session.add(client)
    db.session.commit()
    return client.id, issued.key


def bearer(key: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}


@dataclass
class ApiWorld:
    """Two coaches (A with customers a1 and a2, B with b1), a plan with items per customer, a future
    session per coach with one booking each, and keys: coach A's, customer a1's, a partner's."""

    coach_a: uuid.UUID
    coach_b: uuid.UUID
    a1: uuid.UUID
    a2: uuid.UUID
    b1: uuid.UUID
    plans: dict[str, int] = field(default_factory=dict)  # customer tag -> plan id
    items: dict[str, list[int]] = field(default_factory=dict)  # customer tag -> plan item ids
    sessions: dict[str, int] = field(default_factory=dict)  # coach tag -> session id
    bookings: dict[str, int] = field(default_factory=dict)  # customer tag -> participant id
    keys: dict[str, str] = field(default_factory=dict)  # "coach_a" | "a1" | "partner" -> key

    def customer(self, tag: str) -> uuid.UUID:
        return getattr(self, tag)


def make_api_world(scopes: str = ALL_SCOPES) -> ApiWorld:
    """Call inside an app context; everything committed."""
    from app.models.scheduling import ScheduledSession, SessionParticipant, SessionType
    from app.models.training import CustomerPlan, ItemType, PlanItem, PlanStatus, Program, ProgramLevel
    from tests.support.plan_support import make_customer, make_user

    coach_a = make_user("Coach A", RoleCode.COACH).id
    coach_b = make_user("Coach B", RoleCode.COACH).id
    db.session.commit()
    world = ApiWorld(
        coach_a,
        coach_b,
        a1=make_customer("Customer A1", coach_id=coach_a),
        a2=make_customer("Customer A2", coach_id=coach_a),
        b1=make_customer("Customer B1", coach_id=coach_b),
    )
    today = dt.date.today()
    for tag, coach in (("a1", coach_a), ("a2", coach_a), ("b1", coach_b)):
        program = Program(title=f"Program {tag}", level=ProgramLevel.BEGINNER, created_by=coach)
        db.session.add(program)
        db.session.flush()
        plan = CustomerPlan(
            customer_id=world.customer(tag), program_id=program.id, start_date=today, status=PlanStatus.ACTIVE
        )
        db.session.add(plan)
        db.session.flush()
        items = [
            PlanItem(
                plan_id=plan.id, scheduled_date=today + dt.timedelta(days=d), item_type=ItemType.EXERCISE, item_id=1
            )
            for d in range(3)
        ]
        db.session.add_all(items)
        db.session.flush()
        world.plans[tag] = plan.id
        world.items[tag] = [i.id for i in items]
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=3)
    for tag, coach in (("a", coach_a), ("b", coach_b)):
        session = ScheduledSession(
            session_type=SessionType.CLASS, start_time=start, end_time=start + dt.timedelta(hours=1),
            capacity=2, coach_id=coach, title=f"Class {tag}",
        )  # fmt: skip
        db.session.add(session)
        db.session.flush()
        world.sessions[tag] = session.id
        start += dt.timedelta(hours=2)
    for tag, session_tag in (("a1", "a"), ("b1", "b")):
        booking = SessionParticipant(session_id=world.sessions[session_tag], customer_id=world.customer(tag))
        db.session.add(booking)
        db.session.flush()
        world.bookings[tag] = booking.id
    db.session.commit()
    world.keys["coach_a"] = make_api_client(scopes, coach_id=coach_a)[1]
    world.keys["a1"] = make_api_client(scopes, customer_id=world.a1)[1]
    world.keys["partner"] = make_api_client(scopes)[1]
    return world
