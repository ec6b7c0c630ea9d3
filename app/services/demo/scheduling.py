"""Scheduling: recurring classes and one-off sessions per coach, with rosters and waitlists that obey the booking rules.

Each coach runs one to three weekly classes (``SessionSeries`` rows whose RRULE, expanded with
python-dateutil in the coach's zone, gives the occurrences) and a few one-on-ones a week. Rosters
are played forward in time as the booking engine would have made them: seats up to capacity in
booking order, then a queue in join order; a cancellation frees a seat and promotes the first
waiting customer (unless within the promotion cutoff); late cancels are those within the late
window; no customer holds seats in two overlapping sessions; a cancelled session (the coach's
time off, or a one-off cancellation) has its seats cancelled and no queue. Rows are inserted in
bulk, and ``tests/test_booking_invariants.py`` checks the result against the rules.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from app.models.scheduling import ScheduledSession, SessionParticipant, SessionSeries, WaitlistEntry
from app.services.demo import catalogue as cat
from app.services.demo.base import Ctx, Customer, insert_returning_ids, insert_rows
from app.services.scheduling.rules import DEFAULT_LATE_CANCEL_HOURS, DEFAULT_PROMOTION_CUTOFF_MINUTES

PAST_WEEKS = 26
FUTURE_WEEKS = 6
CUTOFF = dt.timedelta(minutes=DEFAULT_PROMOTION_CUTOFF_MINUTES)
LATE = dt.timedelta(hours=DEFAULT_LATE_CANCEL_HOURS)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
CLASS_HOURS = ((7, 0), (12, 15), (18, 0), (19, 30))
ONE_ON_ONE_HOURS = ((8, 30), (10, 0), (15, 0), (17, 0))


def seed_sessions(ctx: Ctx) -> None:
    sessions, series_rows, series_of = _plan_sessions(ctx)
    series_ids = insert_returning_ids(SessionSeries, series_rows)
    for s, index in zip(sessions, series_of, strict=True):
        s["series_id"] = series_ids[index] if index is not None else None
    session_ids = insert_returning_ids(ScheduledSession, sessions)
    participants, waitlist = _rosters(ctx, session_ids, sessions)
    insert_rows(SessionParticipant, participants)
    insert_rows(WaitlistEntry, waitlist)


def _plan_sessions(ctx: Ctx) -> tuple[list[dict], list[dict], list[int | None]]:
    rng = ctx.rng
    week0 = ctx.today - dt.timedelta(days=ctx.today.weekday())
    first_monday = week0 - dt.timedelta(weeks=PAST_WEEKS)
    time_off = ctx.extra.get("time_off", {})
    sessions: list[dict] = []
    series_rows: list[dict] = []
    series_of: list[int | None] = []
    for i, coach in enumerate(ctx.coaches):
        tz = ZoneInfo(coach.timezone)
        city = coach.timezone.split("/")[-1].replace("_", " ")
        busy: set[tuple[dt.date, int]] = set()  # (local day, hour) the coach already teaches
        for n in range(3 if i == 0 else rng.randint(1, 3)):
            kind = (
                ("CLASS", "HYBRID", "VIRTUAL")[n]
                if i == 0
                else ctx.weighted({"CLASS": 60, "HYBRID": 20, "VIRTUAL": 20})
            )
            days = sorted(rng.sample(range(6), rng.randint(1, 2)))
            hour, minute = rng.choice(CLASS_HOURS)
            if any((first_monday + dt.timedelta(days=d), hour) in busy for d in days):
                continue
            count = len(days) * (PAST_WEEKS + FUTURE_WEEKS)
            rule = f"FREQ=WEEKLY;BYDAY={','.join(WEEKDAYS[d] for d in days)};COUNT={count}"
            dtstart = dt.datetime.combine(first_monday, dt.time(hour, minute))
            series_rows.append(
                {
                    "coach_id": coach.id,
                    "rrule": rule,
                    "timezone": coach.timezone,
                    "created_at": ctx.now - dt.timedelta(weeks=PAST_WEEKS + 1),
                }
            )
            capacity = {
                "CLASS": rng.choice((8, 12, 16)),
                "HYBRID": rng.choice((10, 14)),
                "VIRTUAL": rng.choice((15, 25)),
            }[kind]
            # A small demo (the tests') gets small classes, so they fill up and queue as popular classes do.
            capacity = max(3, min(capacity, ctx.n_customers // 4))
            title = rng.choice(cat.SESSION_TITLES[kind])
            studio = rng.choice(cat.STUDIOS)
            for local in rrulestr(rule, dtstart=dtstart):  # wall-clock time in the coach's zone, across DST
                busy.add((local.date(), hour))
                start = local.replace(tzinfo=tz).astimezone(dt.UTC)
                sessions.append(_session(ctx, coach, kind, start, 60, capacity, title, studio, city, time_off))
                series_of.append(len(series_rows) - 1)
        for week in range(-PAST_WEEKS, FUTURE_WEEKS):
            monday = week0 + dt.timedelta(weeks=week)
            for _ in range(rng.randint(1, 2)):
                day = monday + dt.timedelta(days=rng.randint(0, 4))
                hour, minute = rng.choice(ONE_ON_ONE_HOURS)
                if (day, hour) in busy or (day, hour + 1) in busy:
                    continue
                busy.add((day, hour))
                start = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz).astimezone(dt.UTC)
                length = rng.choice((30, 45, 60))
                title = rng.choice(cat.SESSION_TITLES["ONE_ON_ONE"])
                sessions.append(_session(ctx, coach, "ONE_ON_ONE", start, length, 1, title, None, city, time_off))
                series_of.append(None)
    return sessions, series_rows, series_of


def _session(ctx: Ctx, coach, kind, start, minutes, capacity, title, studio, city, time_off) -> dict:
    end = start + dt.timedelta(minutes=minutes)
    off = any(a < end and start < b for a, b in time_off.get(coach.id, ()))
    status = "CANCELLED" if off or ctx.chance(0.02) else "COMPLETED" if start < ctx.now else "SCHEDULED"
    online = kind in ("VIRTUAL", "HYBRID") or (kind == "ONE_ON_ONE" and ctx.chance(0.4))
    in_person = kind in ("CLASS", "HYBRID") or (kind == "ONE_ON_ONE" and not online)
    return {
        "session_type": kind,
        "start_time": start,
        "end_time": end,
        "timezone": coach.timezone,
        "capacity": capacity,
        "status": status,
        "coach_id": coach.id,
        "title": title,
        "location": f"{studio or ctx.rng.choice(cat.STUDIOS)}, {city}" if in_person else None,
        "join_link": f"https://meet.coachdesk.example/{ctx.hex(4)}-{ctx.hex(4)}-{ctx.hex(4)}" if online else None,
        "version": 1,
    }


class _Seats:
    """Which sessions each customer holds a seat in, to refuse overlapping bookings as the engine does."""

    def __init__(self) -> None:
        self.held: dict = defaultdict(list)

    def free(self, customer_id, start: dt.datetime, end: dt.datetime) -> bool:
        return all(not (a < end and start < b) for a, b in self.held[customer_id])

    def take(self, customer_id, start: dt.datetime, end: dt.datetime) -> None:
        self.held[customer_id].append((start, end))

    def release(self, customer_id, start: dt.datetime, end: dt.datetime) -> None:
        self.held[customer_id].remove((start, end))


def _rosters(ctx: Ctx, session_ids: list[int], sessions: list[dict]) -> tuple[list[dict], list[dict]]:
    rng = ctx.rng
    by_coach: dict = defaultdict(list)
    for c in ctx.customers:
        assert c.coach is not None
        by_coach[c.coach.id].append(c)
    seats = _Seats()
    participants: list[dict] = []
    waitlist: list[dict] = []
    order = sorted(range(len(sessions)), key=lambda k: sessions[k]["start_time"])
    for k in order:
        s, sid = sessions[k], session_ids[k]
        start, end, cap = s["start_time"], s["end_time"], s["capacity"]
        opens = start - dt.timedelta(days=21)
        closes = min(start - dt.timedelta(hours=2), ctx.now)
        if closes <= opens:
            opens = closes - dt.timedelta(days=3)
        pool: list[Customer] = [c for c in by_coach[s["coach_id"]] if c.is_active_on(opens)]
        if s["session_type"] != "ONE_ON_ONE":
            pool += [c for c in rng.sample(ctx.customers, min(len(ctx.customers), 40)) if c.is_active_on(opens)]
        seen: set = set()
        pool = [c for c in rng.sample(pool, len(pool)) if not (c.id in seen or seen.add(c.id))]
        pool = [c for c in pool if seats.free(c.id, start, end)]
        if not pool:
            continue
        one = s["session_type"] == "ONE_ON_ONE"
        demand = 1 if one else rng.randint(max(1, cap // 2), cap + 4)
        booked, queued = pool[: min(cap, demand)], ([] if one else pool[min(cap, demand) : demand])
        span = (closes - opens).total_seconds()
        booking_times = sorted(opens + dt.timedelta(seconds=rng.uniform(0, 0.6 * span)) for _ in booked)
        last = booking_times[-1]
        join_times = sorted(last + dt.timedelta(seconds=rng.uniform(1, 0.2 * span)) for _ in queued)
        after = (join_times or booking_times)[-1]
        rows = []
        for c, at in zip(booked, booking_times, strict=True):
            seats.take(c.id, start, end)
            rows.append(_row(sid, c.id, "PRIMARY", at))
        queue = []
        for c, at in zip(queued, join_times, strict=True):
            row = _row(sid, c.id, "WAITLIST", at)
            queue.append((row, {"session_id": sid, "customer_id": c.id, "joined_at": at, "promoted_at": None}))
        if s["status"] == "CANCELLED":
            cancelled_at = ctx.between(after, max(after, min(start - dt.timedelta(hours=20), ctx.now)))
            for row in rows:
                _cancel(row, cancelled_at, seats, start, end)
            participants += rows  # the queue was cleared with the session
            continue
        past = start < ctx.now
        cancels = [r for r in rows if ctx.chance(0.15 if past else 0.05)]
        moments = sorted(_cancel_moment(ctx, after, start, closes) for _ in cancels)
        for row, moment in zip(cancels, moments, strict=True):
            _cancel(row, moment, seats, start, end)
            if start - moment < CUTOFF:
                continue  # the seat stays open
            for waiting, entry in queue:
                if entry["promoted_at"] is None and seats.free(waiting["customer_id"], start, end):
                    waiting["role"] = "PRIMARY"
                    entry["promoted_at"] = moment
                    seats.take(waiting["customer_id"], start, end)
                    rows.append(waiting)
                    break
        for row in rows:
            if past and row["attendance_status"] == "REGISTERED":
                row["attendance_status"] = ctx.weighted({"ATTENDED": 89, "NO_SHOW": 11})
                if row["attendance_status"] == "ATTENDED" and ctx.chance(0.6):
                    row["feedback_score"] = rng.choices((3, 4, 5, 2, 1), weights=(15, 40, 38, 5, 2))[0]
        participants += rows + [w for w, e in queue if e["promoted_at"] is None]
        waitlist += [e for _w, e in queue]
    return participants, waitlist


def _row(sid: int, customer_id, role: str, at: dt.datetime) -> dict:
    return {
        "session_id": sid,
        "customer_id": customer_id,
        "role": role,
        "attendance_status": "REGISTERED",
        "feedback_score": None,
        "booked_at": at,
        "cancelled_at": None,
    }


def _cancel_moment(ctx: Ctx, after: dt.datetime, start: dt.datetime, closes: dt.datetime) -> dt.datetime:
    """When a seat was given up: mostly well ahead, a third of them inside the late window."""
    low = max(after, start - LATE + dt.timedelta(hours=1))
    if low < ctx.now and ctx.chance(1 / 3):
        return ctx.between(low, max(low, min(start - dt.timedelta(minutes=20), ctx.now)))
    return ctx.between(after, max(after, min(start - LATE - dt.timedelta(hours=1), closes)))


def _cancel(row: dict, moment: dt.datetime, seats: _Seats, start: dt.datetime, end: dt.datetime) -> None:
    row["attendance_status"] = "LATE_CANCEL" if start - moment < LATE else "CANCELLED"
    row["cancelled_at"] = moment
    seats.release(row["customer_id"], start, end)
