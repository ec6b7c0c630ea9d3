"""Training: the catalogue, programs laid out on a week/day grid, customer plans and their items, badges."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from app.models.training import (
    Badge,
    CustomerPlan,
    Exercise,
    Habit,
    Meal,
    PlanItem,
    Program,
    ProgramItem,
)
from app.services.demo import catalogue as cat
from app.services.demo.base import Ctx, Customer, insert_returning_ids, insert_rows, slug

MEDIA = "https://media.coachdesk.example"
FEEDBACK = (
    "Felt strong today.",
    "Too easy, can we add weight?",
    "Hard but good.",
    "Lower back a bit tight.",
    "Did it at home with dumbbells.",
    "Short on time, did half.",
    "Loved this one!",
    "Knee felt fine.",
    "Ran out of time.",
    "Substituted because the machine was busy.",
)


def seed_content(ctx: Ctx) -> None:
    exercises = [
        {
            "name": name,
            "category": category,
            "difficulty": difficulty,
            "equipment": equipment,
            "video_url": f"{MEDIA}/exercises/{slug(name)}.mp4",
            "transcript_url": f"{MEDIA}/exercises/{slug(name)}.vtt",
            # No thumbnails: pages would try to load them, and the console must work offline.
            "thumbnail_url": None,
        }
        for name, category, difficulty, equipment in cat.EXERCISES
    ]
    ctx.ids["exercise"] = insert_returning_ids(Exercise, exercises)
    ctx.extra["exercise_category"] = {
        id_: row["category"] for id_, row in zip(ctx.ids["exercise"], exercises, strict=True)
    }
    meals = []
    for name, (kcal, protein, carbs, fat, fiber), allergens, instructions in cat.MEALS:
        meals.append(
            {
                "name": name,
                "allergens": allergens,
                "instructions": instructions,
                "macros_json": {"kcal": kcal, "protein_g": protein, "carbs_g": carbs, "fat_g": fat, "fiber_g": fiber},
            }
        )
    ctx.ids["meal"] = insert_returning_ids(Meal, meals)
    habits = [{"name": n, "description": d, "frequency": f} for n, d, f in cat.HABITS]
    ctx.ids["habit"] = insert_returning_ids(Habit, habits)
    ctx.extra["habit_frequency"] = dict(zip(ctx.ids["habit"], [f for *_, f in cat.HABITS], strict=True))


def _exercise_prescription(ctx: Ctx, category: str, week: int) -> dict:
    rng = ctx.rng
    if category in ("Strength",):
        p = {
            "sets": rng.choice((3, 3, 4, 5)),
            "reps": rng.choice((5, 6, 8, 10, 12, "8-12", "6-8")),
            "rest_seconds": rng.choice((60, 90, 120, 180)),
            "tempo": rng.choice(("3010", "2011", "31X0", "2020")),
        }
        if ctx.chance(0.6):
            p["load_kg"] = round(rng.uniform(8, 80) * (1 + week * 0.025), 1)
        return p
    if category in ("Cardio",):
        return {
            "duration_seconds": rng.choice((20, 25, 30, 40, 45)) * 60 + week * 120,
            "notes": rng.choice(("Zone 2, conversational pace.", "Easy pace.", "Last 5 minutes faster.")),
        }
    if category == "Conditioning":
        return {
            "sets": rng.choice((4, 6, 8, 10)),
            "duration_seconds": rng.choice((20, 30, 40)),
            "rest_seconds": rng.choice((20, 30, 60)),
            "superset": rng.choice((None, "A", "B")),
        }
    if category == "Core":
        return {"sets": 3, "reps": rng.choice((10, 12, 15, "30s")), "rest_seconds": 45}
    return {"duration_seconds": rng.choice((300, 600, 900)), "notes": "Move slowly and breathe."}


def seed_programs(ctx: Ctx) -> None:
    rng = ctx.rng
    by_category: dict[str, list[int]] = defaultdict(list)
    for id_, category in ctx.extra["exercise_category"].items():
        by_category[category].append(id_)
    programs = []
    for i, (title, goal, level, weeks, days, *_) in enumerate(cat.PROGRAMS):
        author = ctx.coaches[i % len(ctx.coaches)]
        created = ctx.between(ctx.days_ago(400), ctx.days_ago(370))
        programs.append(
            {
                "title": title,
                "goal": goal,
                "level": level,
                "weeks": weeks,
                "version": rng.randint(1, 4),
                "description": f"{weeks}-week {goal.replace('_', ' ').lower()} program, {len(days)} days a week.",
                "created_by": author.id,
                "visibility": "PUBLIC" if i % 3 == 0 else ("SHARED" if i % 3 == 1 else "PRIVATE"),
                "created_at": created,
                "updated_at": ctx.between(created, ctx.days_ago(30)),
            }
        )
    # A coach's personal variant, private to the console coach.
    programs.append(
        {
            "title": "Kettlebell Express (personal)",
            "goal": "LOSE_WEIGHT",
            "level": "INTERMEDIATE",
            "weeks": 4,
            "version": 1,
            "description": "Three short kettlebell sessions a week.",
            "created_by": ctx.coaches[0].id,
            "visibility": "PRIVATE",
            "created_at": ctx.days_ago(200),
            "updated_at": ctx.days_ago(150),
        }
    )
    templates = list(cat.PROGRAMS) + [
        (
            "Kettlebell Express (personal)",
            "LOSE_WEIGHT",
            "INTERMEDIATE",
            4,
            (0, 2, 4),
            ("Conditioning", "Core"),
            False,
            True,
        )
    ]
    program_ids = insert_returning_ids(Program, programs)
    items = []
    for pid, (_, _, _, weeks, days, categories, meals, habits) in zip(program_ids, templates, strict=True):
        # The same exercises each week (progressive overload), so pick them once per program.
        day_exercises = {
            d: [rng.choice(by_category[rng.choice(categories)]) for _ in range(rng.randint(2, 3))] for d in days
        }
        habit_id = rng.choice(ctx.ids["habit"]) if habits else None
        for week in range(weeks):
            for day in days:
                order = 0
                for ex_id in day_exercises[day]:
                    items.append(
                        {
                            "program_id": pid,
                            "item_type": "EXERCISE",
                            "item_id": ex_id,
                            "order_index": order,
                            "week_index": week,
                            "day_index": day,
                            "prescription_json": _exercise_prescription(
                                ctx, ctx.extra["exercise_category"][ex_id], week
                            ),
                        }
                    )
                    order += 1
                if meals:
                    items.append(
                        {
                            "program_id": pid,
                            "item_type": "MEAL",
                            "item_id": rng.choice(ctx.ids["meal"]),
                            "order_index": order,
                            "week_index": week,
                            "day_index": day,
                            "prescription_json": {
                                "servings": rng.choice((1, 1, 1.5, 2)),
                                "time_of_day": rng.choice(("POST_WORKOUT", "LUNCH", "DINNER")),
                            },
                        }
                    )
                    order += 1
            if habit_id is not None:
                freq = ctx.extra["habit_frequency"][habit_id]
                items.append(
                    {
                        "program_id": pid,
                        "item_type": "HABIT",
                        "item_id": habit_id,
                        "order_index": 0,
                        "week_index": week,
                        "day_index": 0,
                        "prescription_json": {
                            "frequency": freq,
                            "target": rng.choice((1, "every day", 7)),
                            "notes": "Tick it off in the app.",
                        },
                    }
                )
    item_ids = insert_returning_ids(ProgramItem, items)
    per_program: dict[int, list[dict]] = defaultdict(list)
    for id_, item in zip(item_ids, items, strict=True):
        per_program[item["program_id"]].append({**item, "id": id_})
    ctx.extra["programs"] = [
        {
            "id": pid,
            "goal": t[1],
            "weeks": t[3],
            "items": per_program[pid],
            "author": row["created_by"],
            "visibility": row["visibility"],
        }
        for pid, t, row in zip(program_ids, templates, programs, strict=True)
    ]
    ctx.ids["program"] = program_ids


def seed_plans(ctx: Ctx) -> None:
    """Plans back to back while a customer stays; item states follow adherence and churn."""
    rng = ctx.rng
    programs = ctx.extra["programs"]
    plans: list[dict] = []
    plan_specs: list[tuple[Customer, dict, dt.date, dt.date]] = []
    for c in ctx.customers:
        assert c.coach is not None
        usable = [p for p in programs if p["visibility"] != "PRIVATE" or p["author"] == c.coach.id]
        preferred = [p for p in usable if p["goal"] == c.goal] or usable
        start = (c.signup + dt.timedelta(days=rng.randint(1, 6))).date()
        activity_end = c.churned_at.date() if c.churned_at else None
        # Back-to-back plans for as long as the customer stays (a year holds at most ~12).
        for n in range(16):
            if n and (start > ctx.today or (activity_end and start > activity_end)):
                break
            program = rng.choice(preferred if n == 0 or ctx.chance(0.6) else usable)
            planned_end = start + dt.timedelta(days=program["weeks"] * 7 - 1)
            if activity_end and activity_end < planned_end:
                status, end = "CANCELLED", max(start, activity_end)
            elif planned_end < ctx.today:
                status, end = "COMPLETED", planned_end
            else:
                status, end = ("PAUSED" if ctx.chance(0.06) else "ACTIVE"), planned_end
            created = dt.datetime.combine(start, dt.time(9), tzinfo=dt.UTC) - dt.timedelta(days=1)
            plans.append(
                {
                    "customer_id": c.id,
                    "program_id": program["id"],
                    "start_date": start,
                    "end_date": end,
                    "status": status,
                    "created_at": min(created, ctx.now),
                    "updated_at": min(ctx.now, dt.datetime.combine(end, dt.time(20), tzinfo=dt.UTC)),
                }
            )
            plan_specs.append((c, program, start, end))
            start = planned_end + dt.timedelta(days=rng.randint(1, 14))
            if status == "CANCELLED":
                break
    plan_ids = ctx.ids["plan"] = insert_returning_ids(CustomerPlan, plans)
    completions: dict = defaultdict(int)
    exercise_ids = ctx.ids["exercise"]

    def items():
        for plan_id, (c, program, start, end), plan in zip(plan_ids, plan_specs, plans, strict=True):
            c.plan_ids.append(plan_id)
            paused = plan["status"] == "PAUSED"
            for pi in program["items"]:
                day = start + dt.timedelta(days=pi["week_index"] * 7 + pi["day_index"])
                if day > end:
                    continue
                state, at, feedback, substitution = "PENDING", None, None, None
                if day < ctx.today and not paused:
                    # Adherence fades a little over a plan, as it does in real life.
                    p = c.adherence * (1 - 0.02 * pi["week_index"])
                    roll = rng.random()
                    if roll < p:
                        state = "COMPLETED"
                    elif roll < p + 0.08:
                        state = "PARTIAL"
                    elif roll < p + 0.18:
                        state = "SKIPPED"
                    else:
                        state = "MISSED"
                    if state in ("COMPLETED", "PARTIAL"):
                        at = dt.datetime.combine(day, dt.time(rng.randint(6, 21), rng.randint(0, 59)), tzinfo=dt.UTC)
                        at = min(at, ctx.now)
                        completions[c.id] += 1
                        if ctx.chance(0.12):
                            feedback = rng.choice(FEEDBACK)
                        if pi["item_type"] == "EXERCISE" and ctx.chance(0.04):
                            substitution = rng.choice(exercise_ids)
                elif day == ctx.today and ctx.chance(0.3) and not paused:
                    state = "COMPLETED"
                    at = ctx.now - dt.timedelta(minutes=rng.randint(5, 300))
                    completions[c.id] += 1
                yield {
                    "plan_id": plan_id,
                    "scheduled_date": day,
                    "item_type": pi["item_type"],
                    "item_id": pi["item_id"],
                    "completion_state": state,
                    "completion_at": at,
                    "feedback_text": feedback,
                    "substitution_item_id": substitution,
                    "program_item_id": pi["id"],
                    "order_index": pi["order_index"],
                }

    insert_rows(PlanItem, items())
    ctx.extra["completions"] = completions


# Criteria refined since the catalogue was written (issue 16): the weigh-in badge wants a loss, the
# step badge an average over four weeks; one badge counts logged workouts from the app's events.
_CRITERIA_UPDATES = {
    "MINUS_5KG": {"kind": "METRIC_DELTA", "threshold": 5, "metric": "weight", "direction": "DECREASE"},
    "STEP_MASTER": {"kind": "METRIC_AVERAGE", "threshold": 10000, "window_days": 28, "metric": "steps"},
}
_EXTRA_BADGES = (
    ("APP_WORKOUTS_25", "Logged 25 workouts", "Logged 25 workouts in the app within 90 days.",
     {"kind": "COMPLETIONS", "threshold": 25, "window_days": 90, "event_type": "workout_completed"}),
    ("COACH_PICK", "Coach's pick", "Awarded by a coach or a rule, for effort worth noticing.", {"kind": "MANUAL"}),
)  # fmt: skip


def seed_badges(ctx: Ctx) -> None:
    """The badges and their criteria only: awards come from evaluating them over the history
    (``demo.awards``, once the events, sessions and metrics exist)."""
    specs = [(code, name, d, _CRITERIA_UPDATES.get(code, crit)) for code, name, d, crit in cat.BADGES]
    specs += list(_EXTRA_BADGES)
    rows = [{"code": code, "name": name, "description": d, "criteria_json": crit} for code, name, d, crit in specs]
    ctx.extra["badge_ids"] = dict(zip([b[0] for b in specs], insert_returning_ids(Badge, rows), strict=True))
