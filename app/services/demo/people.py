"""People: staff and customers, seed roles, profiles, consents, assessments, coach assignments, availability."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models.customers import Assessment, CoachAssignment, CustomerProfile
from app.models.identity import AuthSession, Consent, PlatformRole, PlatformUser, RoleCode, UserRole
from app.models.scheduling import AvailabilityException, CoachAvailability
from app.services.demo import catalogue as cat
from app.services.demo.base import Ctx, Customer, Person, insert_returning_ids, insert_rows

STAFF_DOMAIN = "coachdesk.example"
CUSTOMER_DOMAINS = ("example.com", "example.org", "example.net")
COACH_TIMEZONES = ("Europe/Berlin", "Europe/Berlin", "Europe/Madrid", "Europe/London", "America/New_York")
# Console role -> (platform role, title used in the person's name list)
CONSOLE_STAFF = {"Admin": "ADMIN", "Manager": "ADMIN", "Compliance": "ADMIN", "Support": "SUPPORT"}


def _person(ctx: Ctx, created_at: dt.datetime, domain: str, fake_locale: str | None = None) -> Person:
    if fake_locale is None:
        fake_locale, locale, tz = ctx.pick_locale()
    else:
        locale, tz = fake_locale[:2], "Europe/Berlin"
    fake = ctx.fakers[fake_locale]
    full_name = f"{fake.first_name()} {fake.last_name()}"
    return Person(
        id=ctx.uuid(),
        full_name=full_name,
        email=ctx.unique_email(full_name, domain),
        locale=locale,
        timezone=tz,
        phone=fake.phone_number(),
        created_at=created_at,
    )


def seed_roles(ctx: Ctx) -> None:
    existing = {r.code.value: r.id for r in db.session.scalars(select(PlatformRole))}
    missing = [c for c in RoleCode if c.value not in existing]
    descriptions = {
        "ADMIN": "Operators of the business",
        "COACH": "Coaches who build plans and look after customers",
        "CUSTOMER": "Customers of the coaching service",
        "SUPPORT": "Back-office support staff",
    }
    if missing:
        rows = [{"code": c.value, "description": descriptions[c.value]} for c in missing]
        for code, id_ in zip(missing, insert_returning_ids(PlatformRole, rows), strict=True):
            existing[code.value] = id_
    ctx.role_ids = existing


def seed_staff(ctx: Ctx) -> None:
    """Admins, support agents and coaches; one of each console role gets a console account later."""
    n = ctx.n_customers
    founded = ctx.days_ago(420)
    n_coaches = max(3, math.ceil(n / 40))
    n_support = max(2, math.ceil(n / 250))
    for _ in range(2):
        ctx.admins.append(_person(ctx, ctx.between(founded, ctx.days_ago(400)), STAFF_DOMAIN, "de_DE"))
    for role in ("Manager", "Compliance"):
        person = _person(ctx, ctx.between(founded, ctx.days_ago(380)), STAFF_DOMAIN, ctx.pick_locale()[0])
        ctx.admins.append(person)
        ctx.console_people[role] = person
    ctx.console_people["Admin"] = ctx.admins[0]
    for _ in range(n_support):
        fake_locale, *_ = ctx.pick_locale()
        ctx.support.append(_person(ctx, ctx.between(founded, ctx.days_ago(200)), STAFF_DOMAIN, fake_locale))
    ctx.console_people["Support"] = ctx.support[0]
    for i in range(n_coaches):
        fake_locale, *_ = ctx.pick_locale()
        coach = _person(ctx, ctx.between(founded, ctx.days_ago(30 if i else 400)), STAFF_DOMAIN, fake_locale)
        coach.timezone = COACH_TIMEZONES[i % len(COACH_TIMEZONES)]
        ctx.coaches.append(coach)
    # The console coach is the longest-serving one, so they have the richest history.
    ctx.console_people["Coach"] = ctx.coaches[0]


def seed_customers(ctx: Ctx) -> None:
    """Customers sign up over the last year (more recently as the business grows) and churn."""
    n = ctx.n_customers
    rng = ctx.rng
    for i in range(n):
        # Stratified so even small runs cover the whole year; the exponent favours recent sign-ups.
        q = (i + rng.random()) / n
        days_ago = 364 * (1 - q) ** 1.25
        signup = ctx.days_ago(days_ago) - dt.timedelta(seconds=rng.randint(0, 3600))
        fake_locale, locale, tz = ctx.pick_locale()
        fake = ctx.fakers[fake_locale]
        full_name = f"{fake.first_name()} {fake.last_name()}"
        lifetime = rng.expovariate(1 / 160)
        churned = signup + dt.timedelta(days=lifetime)
        customer = Customer(
            id=ctx.uuid(),
            full_name=full_name,
            email=ctx.unique_email(full_name, rng.choice(CUSTOMER_DOMAINS)),
            locale=locale,
            timezone=tz,
            phone=fake.phone_number(),
            created_at=signup,
            signup=signup,
            churned_at=churned if churned < ctx.now else None,
            adherence=min(0.97, max(0.15, rng.betavariate(5, 2.2))),
            goal=ctx.weighted(cat.GOAL_WEIGHTS),
            wearable=ctx.chance(0.45),
        )
        ctx.customers.append(customer)
    # The earliest customer stays loyal, so the oldest cohort always has activity to chart.
    ctx.customers[0].churned_at = None
    rng.shuffle(ctx.customers)
    for i, customer in enumerate(ctx.customers):
        customer.coach = ctx.coaches[i % len(ctx.coaches)]
        customer.suspended = customer.churned_at is not None and ctx.chance(0.08)


def insert_users(ctx: Ctx) -> None:
    rows = []
    staff_status = {p.id: "ACTIVE" for p in ctx.admins + ctx.support + ctx.coaches}
    if len(ctx.support) > 2:
        staff_status[ctx.support[-1].id] = "INVITED"
    for person in ctx.admins + ctx.support + ctx.coaches:
        rows.append(_user_row(ctx, person, staff_status[person.id]))
    for customer in ctx.customers:
        rows.append(_user_row(ctx, customer, "SUSPENDED" if customer.suspended else "ACTIVE"))
    insert_rows(PlatformUser, rows)
    role_rows = []
    for person in ctx.admins:
        role_rows.append({"user_id": person.id, "role_id": ctx.role_ids["ADMIN"]})
    for person in ctx.support:
        role_rows.append({"user_id": person.id, "role_id": ctx.role_ids["SUPPORT"]})
    for person in ctx.coaches:
        role_rows.append({"user_id": person.id, "role_id": ctx.role_ids["COACH"]})
    # The head coach also holds ADMIN on the platform: it is a small business.
    role_rows.append({"user_id": ctx.coaches[-1].id, "role_id": ctx.role_ids["ADMIN"]})
    for customer in ctx.customers:
        role_rows.append({"user_id": customer.id, "role_id": ctx.role_ids["CUSTOMER"]})
    insert_rows(UserRole, role_rows)


def _user_row(ctx: Ctx, person: Person, status: str) -> dict:
    return {
        "id": person.id,
        "email": person.email,
        # Demo people never sign in to the customer app: no credential material is invented.
        "password_hash": None,
        "full_name": person.full_name,
        "phone": person.phone,
        "locale": person.locale,
        "status": status,
        "legal_hold": False,
        "created_at": person.created_at,
        "updated_at": ctx.between(person.created_at, ctx.now),
    }


def seed_profiles(ctx: Ctx) -> None:
    rng = ctx.rng
    rows = []
    for c in ctx.customers:
        age = rng.randint(18, 72)
        goals: dict = {"primary": c.goal, "weekly_sessions": rng.randint(2, 5)}
        if ctx.chance(0.7):
            goals["secondary"] = rng.sample(cat.SECONDARY_GOALS, rng.randint(1, 3))
        if c.goal == "LOSE_WEIGHT":
            goals["target_weight_kg"] = round(rng.uniform(55, 95), 1)
        if ctx.chance(0.2):
            goals["notes"] = "Prefers morning sessions; works shifts every other week."
        fake = ctx.fakers[_faker_for(c.locale)]
        rows.append(
            {
                "user_id": c.id,
                "date_of_birth": ctx.today - dt.timedelta(days=age * 365 + rng.randint(0, 364)),
                "gender": ctx.weighted({"FEMALE": 52, "MALE": 42, "NON_BINARY": 2, "UNDISCLOSED": 4}),
                "timezone": c.timezone,
                "goals_json": goals,
                "risk_flags": "; ".join(rng.sample(cat.RISK_FLAGS, rng.randint(1, 2))) if ctx.chance(0.15) else None,
                "emergency_contact": (
                    f"{fake.first_name()} {c.full_name.split()[-1]} ({rng.choice(RELATIONS)}), {fake.phone_number()}"
                )
                if ctx.chance(0.8)
                else None,
            }
        )
    insert_rows(CustomerProfile, rows)


RELATIONS = ("partner", "parent", "sibling", "friend")


def _faker_for(locale: str) -> str:
    return {
        "de": "de_DE",
        "es": "es_ES",
        "en": "en_GB",
        "fr": "fr_FR",
        "it": "it_IT",
        "nl": "nl_NL",
        "pl": "pl_PL",
        "pt": "pt_BR",
        "tr": "tr_TR",
        "ja": "ja_JP",
    }[locale]


def seed_consents_and_assessments(ctx: Ctx) -> None:
    rng = ctx.rng
    consents = []
    assessments = []
    for c in ctx.customers:
        ip = f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        channel = rng.choice(("WEB", "APP", "APP"))
        meta = {"source": "signup", "document_version": "2025-09", "ip_address": ip, "channel": channel}
        for kind, p in (("TERMS", 1.0), ("PRIVACY", 1.0), ("HEALTH_DATA", 0.85), ("MARKETING_EMAIL", 0.55)):
            if not ctx.chance(p):
                continue
            revoked = None
            if kind == "MARKETING_EMAIL" and ctx.chance(0.25):
                revoked = ctx.between(c.signup, ctx.now)
            consents.append(
                {
                    "user_id": c.id,
                    "consent_type": kind,
                    "granted_at": c.signup,
                    "revoked_at": revoked,
                    "metadata_json": meta,
                }
            )
        if c.wearable:
            consents.append(
                {
                    "user_id": c.id,
                    "consent_type": "WEARABLE_SHARING",
                    "granted_at": c.signup + dt.timedelta(days=rng.randint(1, 20)),
                    "revoked_at": None,
                    "metadata_json": {"source": "wearable_connect", "channel": "APP", "document_version": "2025-09"},
                }
            )
        when = c.signup + dt.timedelta(hours=rng.randint(1, 72))
        assessments.append(_assessment(ctx, c, min(when, ctx.now), "2.1"))
        if (c.active_until - c.signup).days > 120 and ctx.now - c.signup > dt.timedelta(days=120):
            assessments.append(_assessment(ctx, c, c.signup + dt.timedelta(days=rng.randint(90, 120)), "2.1"))
    insert_rows(Consent, consents)
    insert_rows(Assessment, assessments)


def _assessment(ctx: Ctx, c: Customer, when: dt.datetime, version: str) -> dict:
    rng = ctx.rng
    responses = {
        "training_experience": rng.choice(("none", "beginner", "intermediate", "advanced")),
        "activity_days_per_week": rng.randint(0, 6),
        "sleep_hours": round(rng.uniform(5, 9), 1),
        "stress_level": rng.randint(1, 5),
        "injuries": rng.sample(("knee", "lower_back", "shoulder", "ankle", "wrist"), rng.randint(0, 2)),
        "smoker": ctx.chance(0.12),
        "par_q.chest_pain": False,
        "par_q.dizziness": ctx.chance(0.03),
        "preferred_time": rng.choice(("morning", "lunch", "evening")),
    }
    return {
        "user_id": c.id,
        "questionnaire_version": version,
        "responses_json": responses,
        "score": f"{rng.uniform(35, 95):.2f}",
        "created_at": when,
    }


def seed_assignments(ctx: Ctx) -> None:
    rng = ctx.rng
    rows = []
    for c in ctx.customers:
        assert c.coach is not None
        rows.append(
            {
                "customer_id": c.id,
                "coach_id": c.coach.id,
                "is_primary": True,
                "assigned_at": min(ctx.now, c.signup + dt.timedelta(hours=rng.randint(2, 96))),
            }
        )
        # Some customers also see a second coach (e.g. for nutrition).
        if len(ctx.coaches) > 1 and ctx.chance(0.12):
            other = rng.choice([coach for coach in ctx.coaches if coach.id != c.coach.id])
            rows.append(
                {
                    "customer_id": c.id,
                    "coach_id": other.id,
                    "is_primary": False,
                    "assigned_at": ctx.between(c.signup, ctx.now),
                }
            )
    ctx.ids["assignment"] = insert_returning_ids(CoachAssignment, rows)
    ctx.extra["assignment_of"] = {
        (r["customer_id"], r["coach_id"]): id_ for r, id_ in zip(rows, ctx.ids["assignment"], strict=True)
    }


def seed_availability(ctx: Ctx) -> None:
    """Weekly slots in each coach's zone, plus dated exceptions: time off (a holiday, a sick day) and extra slots.

    The time off is kept in ``ctx.extra["time_off"]`` so the schedule cancels the classes it covers.
    """
    rng = ctx.rng
    rows = []
    for coach in ctx.coaches:
        days = sorted(rng.sample(range(7), rng.randint(3, 5)))
        for day in days:
            start = rng.choice((6, 7, 8, 9, 14, 16))
            length = rng.choice((3, 4, 5))
            rows.append(
                {
                    "coach_id": coach.id,
                    "day_of_week": day,
                    "start_time": dt.time(start),
                    "end_time": dt.time(min(start + length, 22)),
                    "capacity": rng.choice((1, 1, 2, 4)),
                    "timezone": coach.timezone,
                }
            )
            if ctx.chance(0.3) and start < 12:
                rows.append(
                    {
                        "coach_id": coach.id,
                        "day_of_week": day,
                        "start_time": dt.time(17),
                        "end_time": dt.time(20, 30),
                        "capacity": 1,
                        "timezone": coach.timezone,
                    }
                )
    insert_rows(CoachAvailability, rows)
    insert_rows(AvailabilityException, _availability_exceptions(ctx))


def _availability_exceptions(ctx: Ctx) -> list[dict]:
    rng = ctx.rng
    rows: list[dict] = []
    time_off: dict = {}
    for coach in ctx.coaches:
        tz = ZoneInfo(coach.timezone)
        spans = []
        # A holiday of a few days, in the past months or the coming weeks; sometimes a sick day.
        first = ctx.today + dt.timedelta(days=rng.randint(-120, 30))
        spans.append((first, first + dt.timedelta(days=rng.randint(2, 6)), "Holiday"))
        if ctx.chance(0.5):
            sick = ctx.today - dt.timedelta(days=rng.randint(3, 90))
            spans.append((sick, sick + dt.timedelta(days=1), "Sick day"))
        for begin, end, note in spans:
            starts = dt.datetime.combine(begin, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
            ends = dt.datetime.combine(end, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
            rows.append({"coach_id": coach.id, "kind": "TIME_OFF", "starts_at": starts, "ends_at": ends, "note": note})
            time_off.setdefault(coach.id, []).append((starts, ends))
        for _ in range(rng.randint(1, 2)):
            day = ctx.today + dt.timedelta(days=rng.randint(1, 35))
            day += dt.timedelta(days=(5 - day.weekday()) % 7)  # a Saturday
            hour = rng.choice((9, 10))
            starts = dt.datetime.combine(day, dt.time(hour), tzinfo=tz).astimezone(dt.UTC)
            rows.append(
                {
                    "coach_id": coach.id,
                    "kind": "EXTRA",
                    "starts_at": starts,
                    "ends_at": starts + dt.timedelta(hours=3),
                    "note": "Weekend workshop",
                }
            )
    ctx.extra["time_off"] = time_off
    return rows


def seed_auth_sessions(ctx: Ctx) -> None:
    """Recent sign-ins: staff on the console, active customers in the app."""
    rng = ctx.rng
    rows = []
    for person in ctx.admins + ctx.support + ctx.coaches:
        for _ in range(rng.randint(5, 15)):
            issued = ctx.between(ctx.days_ago(60), ctx.now)
            rows.append(_session(ctx, person, issued, dt.timedelta(hours=8), mfa=ctx.chance(0.9)))
    for c in ctx.customers:
        if c.churned_at is not None and c.churned_at < ctx.days_ago(60):
            continue
        for _ in range(rng.randint(1, 4)):
            issued = ctx.between(max(c.signup, ctx.days_ago(60)), min(c.active_until, ctx.now))
            rows.append(_session(ctx, c, issued, dt.timedelta(days=30), mfa=ctx.chance(0.2)))
    insert_rows(AuthSession, rows)


def _session(ctx: Ctx, person: Person, issued: dt.datetime, ttl: dt.timedelta, mfa: bool) -> dict:
    device = hashlib.sha256(f"{person.id}:{ctx.rng.randint(1, 3)}".encode()).hexdigest()[:32]
    return {
        "user_id": person.id,
        "issued_at": issued,
        "expires_at": issued + ttl,
        "device_fingerprint": device,
        "mfa_verified": mfa,
    }
