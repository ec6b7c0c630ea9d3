"""Factories and fixtures shared by the plan builder's tests (service, view, job and browser)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from app.extensions import (
    committed,  # noqa: F401  (the tests' callers commit as views do)
    db,
)
from app.models.customers import CoachAssignment, CustomerProfile
from app.models.identity import PlatformUser, RoleCode, UserRole
from app.models.training import (
    Difficulty,
    Exercise,
    Habit,
    HabitFrequency,
    ItemType,
    Meal,
    Program,
    ProgramItem,
    ProgramLevel,
    Visibility,
)
from app.policy.scope import Actor
from app.services.accounts import ensure_platform_role


@dataclass
class Catalogue:
    exercises: list[int]
    meals: list[int]
    habits: list[int]


def make_catalogue() -> Catalogue:
    exercises = [
        Exercise(name="Back squat", category="STRENGTH", difficulty=Difficulty.INTERMEDIATE, equipment="Barbell"),
        Exercise(name="Push-up", category="STRENGTH", difficulty=Difficulty.BEGINNER, equipment=None),
        Exercise(name="Rowing intervals", category="CARDIO", difficulty=Difficulty.ADVANCED, equipment="Rower"),
        Exercise(name="Goblet squat", category="STRENGTH", difficulty=Difficulty.BEGINNER, equipment="Kettlebell"),
    ]
    meals = [
        Meal(name="Oat porridge", macros_json={"kcal": 350}, allergens="gluten, milk"),
        Meal(name="Chicken salad", macros_json={"kcal": 500}, allergens=None),
        Meal(name="Peanut smoothie", macros_json={"kcal": 420}, allergens="peanuts"),
    ]
    habits = [
        Habit(name="Drink 2 litres of water", frequency=HabitFrequency.DAILY),
        Habit(name="Sleep 8 hours", frequency=HabitFrequency.DAILY),
    ]
    db.session.add_all(exercises + meals + habits)
    db.session.commit()
    return Catalogue([e.id for e in exercises], [m.id for m in meals], [h.id for h in habits])


def make_user(name: str, role: RoleCode) -> PlatformUser:
    user = PlatformUser(email=f"{name.lower().replace(' ', '.')}-{uuid.uuid4().hex[:6]}@coachdesk.test", full_name=name)
    db.session.add(user)
    db.session.flush()
    db.session.add(UserRole(user_id=user.id, role_id=ensure_platform_role(role).id))
    db.session.flush()
    return user


def make_customer(name: str, timezone: str = "UTC", coach_id: uuid.UUID | None = None) -> uuid.UUID:
    customer = make_user(name, RoleCode.CUSTOMER)
    db.session.add(CustomerProfile(user_id=customer.id, timezone=timezone))
    if coach_id is not None:
        db.session.add(CoachAssignment(customer_id=customer.id, coach_id=coach_id))
    db.session.commit()
    return customer.id


def coach_actor(name: str = "Coach A") -> Actor:
    coach = make_user(name, RoleCode.COACH)
    db.session.commit()
    return Actor(coach.id, frozenset({"Coach"}))


def make_program(
    owner: Actor,
    items: list[tuple[ItemType, int, int, int]],
    *,
    weeks: int = 2,
    visibility: Visibility = Visibility.PRIVATE,
    title: str = "Strength base",
) -> Program:
    """items: (type, catalogue id, week, day); order follows the list."""
    program = Program(
        title=title, level=ProgramLevel.BEGINNER, visibility=visibility, created_by=owner.user_id, weeks=weeks
    )
    db.session.add(program)
    db.session.flush()
    counters: dict[tuple[int, int], int] = {}
    for item_type, item_id, week, day in items:
        order = counters.get((week, day), 0)
        counters[(week, day)] = order + 1
        db.session.add(
            ProgramItem(
                program_id=program.id,
                item_type=item_type,
                item_id=item_id,
                week_index=week,
                day_index=day,
                order_index=order,
                prescription_json={},
            )
        )
    db.session.commit()
    return program


def utc(year: int, month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)
