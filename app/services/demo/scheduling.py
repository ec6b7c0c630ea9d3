"""Scheduling: each coach's sessions over the last months and the coming weeks, rosters and waitlists."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from app.models.scheduling import ScheduledSession, SessionParticipant, WaitlistEntry
from app.services.demo import catalogue as cat
from app.services.demo.base import Ctx, Customer, insert_returning_ids, insert_rows

PAST_WEEKS = 26
FUTURE_WEEKS = 6


def seed_sessions(ctx: Ctx) -> None:
    rng = ctx.rng
    by_coach: dict = defaultdict(list)
    for c in ctx.customers:
        assert c.coach is not None
        by_coach[c.coach.id].append(c)
    sessions: list[dict] = []
    week0 = ctx.today - dt.timedelta(days=ctx.today.weekday())
    for i, coach in enumerate(ctx.coaches):
        tz = ZoneInfo(coach.timezone)
        city = coach.timezone.split("/")[-1].replace("_", " ")
        per_week = 4 if i == 0 else rng.randint(2, 4)
        for week in range(-PAST_WEEKS, FUTURE_WEEKS):
            monday = week0 + dt.timedelta(weeks=week)
            for _ in range(per_week):
                kind = ctx.weighted({"CLASS": 35, "ONE_ON_ONE": 35, "VIRTUAL": 20, "HYBRID": 10})
                day = monday + dt.timedelta(days=rng.choice((0, 1, 2, 3, 4, 5)))
                hour, minute = rng.choice(((7, 0), (8, 30), (12, 15), (17, 30), (18, 0), (19, 30)))
                local = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)
                start = local.astimezone(dt.UTC)
                length = 60 if kind != "ONE_ON_ONE" else rng.choice((30, 45, 60))
                capacity = {
                    "CLASS": rng.choice((8, 12, 16)),
                    "ONE_ON_ONE": 1,
                    "VIRTUAL": rng.choice((15, 25)),
                    "HYBRID": rng.choice((10, 14)),
                }[kind]
                if start < ctx.now:
                    status = "CANCELLED" if ctx.chance(0.04) else "COMPLETED"
                else:
                    status = "CANCELLED" if ctx.chance(0.02) else "SCHEDULED"
                online = kind in ("VIRTUAL", "HYBRID")
                sessions.append(
                    {
                        "session_type": kind,
                        "start_time": start,
                        "end_time": start + dt.timedelta(minutes=length),
                        "timezone": coach.timezone,
                        "capacity": capacity,
                        "status": status,
                        "coach_id": coach.id,
                        "title": rng.choice(cat.SESSION_TITLES[kind]),
                        "location": f"{rng.choice(cat.STUDIOS)}, {city}"
                        if kind in ("CLASS", "HYBRID", "ONE_ON_ONE") and not (kind == "ONE_ON_ONE" and ctx.chance(0.4))
                        else None,
                        "join_link": f"https://meet.coachdesk.example/{ctx.hex(4)}-{ctx.hex(4)}-{ctx.hex(4)}"
                        if online or (kind == "ONE_ON_ONE" and ctx.chance(0.4))
                        else None,
                    }
                )
    session_ids = insert_returning_ids(ScheduledSession, sessions)

    participants: list[dict] = []
    waitlist: list[dict] = []
    everyone = ctx.customers
    for sid, s in zip(session_ids, sessions, strict=True):
        start = s["start_time"]
        own = [c for c in by_coach[s["coach_id"]] if c.is_active_on(start - dt.timedelta(days=2))]
        pool: list[Customer] = own
        if s["session_type"] != "ONE_ON_ONE":
            others = [
                c for c in rng.sample(everyone, min(len(everyone), 40)) if c.is_active_on(start - dt.timedelta(days=2))
            ]
            pool = own + others
        if not pool:
            continue
        seen: set = set()
        roster = [c for c in rng.sample(pool, len(pool)) if not (c.id in seen or seen.add(c.id))]
        cap = s["capacity"]
        demand = cap if s["session_type"] == "ONE_ON_ONE" else rng.randint(max(1, cap // 2), cap + 4)
        booked = roster[: min(cap, demand)]
        queued = roster[len(booked) : demand] if s["session_type"] != "ONE_ON_ONE" else []
        past = start < ctx.now
        cancelled = s["status"] == "CANCELLED"
        freed = 0
        for c in booked:
            if cancelled:
                att = "CANCELLED"
            elif past:
                att = ctx.weighted({"ATTENDED": 76, "NO_SHOW": 9, "LATE_CANCEL": 5, "CANCELLED": 10})
            else:
                att = "CANCELLED" if ctx.chance(0.05) else "REGISTERED"
            if att in ("CANCELLED", "LATE_CANCEL"):
                freed += 1
            score = (
                rng.choices((3, 4, 5, 2, 1), weights=(15, 40, 38, 5, 2))[0]
                if att == "ATTENDED" and ctx.chance(0.6)
                else None
            )
            participants.append(
                {
                    "session_id": sid,
                    "customer_id": c.id,
                    "role": "PRIMARY",
                    "attendance_status": att,
                    "feedback_score": score,
                }
            )
        for c in queued:
            joined = ctx.between(start - dt.timedelta(days=6), min(start - dt.timedelta(hours=3), ctx.now))
            promoted = None
            if freed > 0 and not cancelled:
                freed -= 1
                promoted = ctx.between(joined, min(start - dt.timedelta(hours=1), ctx.now))
            waitlist.append({"session_id": sid, "customer_id": c.id, "joined_at": joined, "promoted_at": promoted})
            if promoted is not None:
                att = ctx.weighted({"ATTENDED": 85, "NO_SHOW": 15}) if past else "REGISTERED"
                participants.append(
                    {
                        "session_id": sid,
                        "customer_id": c.id,
                        "role": "PRIMARY",
                        "attendance_status": att,
                        "feedback_score": None,
                    }
                )
            else:
                participants.append(
                    {
                        "session_id": sid,
                        "customer_id": c.id,
                        "role": "WAITLIST",
                        "attendance_status": "CANCELLED" if past or cancelled else "REGISTERED",
                        "feedback_score": None,
                    }
                )
    insert_rows(SessionParticipant, participants)
    insert_rows(WaitlistEntry, waitlist)
