"""Program saving and plan expansion, on SQLite and PostgreSQL, without a request."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.extensions import committed, db
from app.models.training import CompletionState, CustomerPlan, ItemType, PlanItem, ProgramItem, Visibility
from app.policy.scope import Actor
from app.services.training import catalogue, errors, plan_calendar, plans, programs, schedule
from tests.support.plan_support import coach_actor, make_catalogue, make_customer, make_program, utc

E, M, H = ItemType.EXERCISE, ItemType.MEAL, ItemType.HABIT


def _doc_items(program_id: int, actor: Actor) -> list[dict]:
    db.session.expire_all()
    return programs.program_document(actor, programs.get_program(actor, program_id))["items"]


def _payload(program, items, **extra):
    return {"version": program.version, "weeks": program.weeks, "items": items, **extra}


def _item(item_type, item_id, week, day, order=0, prescription=None, pk=None):
    return {
        "id": pk,
        "item_type": item_type.value,
        "item_id": item_id,
        "week": week,
        "day": day,
        "order": order,
        "prescription": prescription or {},
    }


def _plan_items(plan_id: int) -> list[PlanItem]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(PlanItem)
            .where(PlanItem.plan_id == plan_id)
            .order_by(PlanItem.scheduled_date, PlanItem.order_index)
        )
    )


# --- saving ------------------------------------------------------------------------------------------------


def test_save_replaces_items_keeps_ids_and_bumps_version(app_ctx):
    cat = make_catalogue()
    coach = coach_actor()
    program = make_program(coach, [(E, cat.exercises[0], 0, 0), (E, cat.exercises[1], 0, 1)])
    first, second = _doc_items(program.id, coach)
    payload = _payload(
        program,
        [
            _item(E, cat.exercises[1], 0, 0, 0, {"sets": 3, "reps": 10, "superset": "A"}, pk=second["id"]),
            _item(E, cat.exercises[2], 0, 0, 1, {"sets": 3, "reps": "8-12", "superset": "A"}),
            _item(M, cat.meals[0], 1, 6, 0, {"servings": 1.5, "time_of_day": "BREAKFAST"}),
            _item(H, cat.habits[0], 1, 6, 1, {"target": "2 l", "frequency": "DAILY"}),
        ],
        weeks=3,
    )
    with committed():
        result = programs.save_program(coach, program.id, payload)
    assert (result.version, result.created, result.updated, result.deleted) == (2, 3, 1, 1)
    items = _doc_items(program.id, coach)
    assert [(i["item_type"], i["week"], i["day"], i["order"]) for i in items] == [
        ("EXERCISE", 0, 0, 0),
        ("EXERCISE", 0, 0, 1),
        ("MEAL", 1, 6, 0),
        ("HABIT", 1, 6, 1),
    ]
    assert items[0]["id"] == second["id"] and items[0]["prescription"]["superset"] == "A"
    assert first["id"] not in {i["id"] for i in items}
    assert db.session.get(type(program), program.id).weeks == 3


def test_bad_item_in_the_middle_leaves_everything_intact(app_ctx):
    cat = make_catalogue()
    coach = coach_actor()
    program = make_program(coach, [(E, cat.exercises[0], 0, 0), (M, cat.meals[0], 0, 1)])
    before = _doc_items(program.id, coach)
    payload = _payload(
        program,
        [
            _item(E, cat.exercises[1], 0, 2, 0, {"sets": 4}),
            _item(E, cat.exercises[2], 0, 3, 0, {"sets": 0}),  # below the minimum
            _item(H, cat.habits[0], 1, 0),
        ],
    )
    with pytest.raises(errors.ProgramError) as err, committed():
        programs.save_program(coach, program.id, payload)
    assert err.value.item == 1 and err.value.field == "prescription.sets"
    assert "Item 2" in err.value.message and "prescription.sets" in err.value.message
    assert _doc_items(program.id, coach) == before
    assert db.session.get(type(program), program.id).version == 1


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"item_type": "WORKOUT"}, "item_type"),
        ({"item_id": "7"}, "item_id"),
        ({"item_id": 999_999}, "item_id"),
        ({"week": 5}, "week"),
        ({"day": 7}, "day"),
        ({"id": 999_999}, "id"),
        ({"prescription": {"servings": 2}}, "prescription.servings"),
        ({"prescription": {"tempo": "fast"}}, "prescription.tempo"),
        ({"prescription": {"sets": True}}, "prescription.sets"),
        ({"prescription": []}, "prescription"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_schema_and_reference_errors_name_the_field(app_ctx, bad, field):
    cat = make_catalogue()
    coach = coach_actor()
    program = make_program(coach, [(E, cat.exercises[0], 0, 0)])
    item = {**_item(E, cat.exercises[0], 0, 0), **bad}
    with pytest.raises(errors.ProgramError) as err, committed():
        programs.save_program(coach, program.id, _payload(program, [_item(H, cat.habits[0], 0, 1), item]))
    assert err.value.status == 400
    assert err.value.field == field and err.value.item == 1, err.value.message
    assert len(_doc_items(program.id, coach)) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([], None),
        ({"version": "1", "items": []}, "version"),
        ({"version": 1, "items": {}}, "items"),
        ({"version": 1, "weeks": 0, "items": []}, "weeks"),
        ({"version": 1, "items": [], "follow_future": "yes"}, "follow_future"),
        ({"version": 1, "items": [1]}, "item"),
    ],
)
def test_malformed_payloads_are_refused(app_ctx, payload, field):
    cat = make_catalogue()
    coach = coach_actor()
    program = make_program(coach, [(E, cat.exercises[0], 0, 0)])
    with pytest.raises(errors.ProgramError) as err, committed():
        programs.save_program(coach, program.id, payload)
    assert err.value.status == 400 and err.value.field == field


def test_second_save_from_a_stale_version_is_refused(app_ctx):
    cat = make_catalogue()
    coach_a = coach_actor("Coach A")
    coach_b = coach_actor("Coach B")
    program = make_program(coach_a, [(E, cat.exercises[0], 0, 0)], visibility=Visibility.SHARED)
    loaded_version = program.version
    with committed():
        programs.save_program(coach_a, program.id, _payload(program, [_item(E, cat.exercises[1], 0, 0)]))
    stale = {"version": loaded_version, "weeks": 2, "items": [_item(M, cat.meals[0], 0, 3)]}
    with pytest.raises(errors.ProgramConflict) as err, committed():
        programs.save_program(coach_b, program.id, stale)
    assert err.value.status == 409 and err.value.current_version == 2
    items = _doc_items(program.id, coach_a)
    assert [(i["item_type"], i["item_id"]) for i in items] == [("EXERCISE", cat.exercises[1])]


def test_row_scope_on_programs(app_ctx):
    cat = make_catalogue()
    coach_a, coach_b = coach_actor("Coach A"), coach_actor("Coach B")
    private = make_program(coach_a, [(E, cat.exercises[0], 0, 0)])
    public = make_program(coach_a, [(E, cat.exercises[0], 0, 0)], visibility=Visibility.PUBLIC)
    with pytest.raises(errors.ProgramNotFound):
        programs.get_program(coach_b, private.id)
    with pytest.raises(errors.ProgramNotFound), committed():
        programs.save_program(coach_b, private.id, _payload(private, []))
    assert programs.get_program(coach_b, public.id).id == public.id
    with pytest.raises(errors.ProgramForbidden), committed():
        programs.save_program(coach_b, public.id, _payload(public, []))
    assert {p.id for p in programs.list_programs(coach_b)} == {public.id}
    # No rule matched, no rows: an account without a console role, and a coach whose console
    # account has no platform user (the central rule; the builder's old rule showed it shared ones).
    assert programs.list_programs(Actor(None, frozenset())) == []
    assert programs.list_programs(Actor(None, frozenset({"Coach"}))) == []
    with pytest.raises(errors.ProgramForbidden), committed():
        programs.create_program(
            Actor(None, frozenset({"Coach"})), title="Ownerless", level="BEGINNER", visibility="PRIVATE"
        )
    # Compliance reads every row the role matrix lets it reach (it has no grant on Programs) but writes none.
    with pytest.raises(errors.ProgramForbidden), committed():
        programs.save_program(Actor(None, frozenset({"Compliance"})), public.id, _payload(public, []))


def test_library_search_filters_and_caps(app_ctx):
    make_catalogue()
    coach = coach_actor()

    def search(query):
        return catalogue.search_library(coach, query)

    strength = search(catalogue.LibraryQuery(ItemType.EXERCISE, category="STRENGTH", page_size=500))
    assert strength["total"] == 3 and strength["page_size"] == catalogue.LIBRARY_PAGE_SIZE_MAX
    squat = search(catalogue.LibraryQuery(ItemType.EXERCISE, q="squat", difficulty="BEGINNER"))
    assert [r["name"] for r in squat["results"]] == ["Goblet squat"]
    kettle = search(catalogue.LibraryQuery(ItemType.EXERCISE, equipment="kettle"))
    assert [r["name"] for r in kettle["results"]] == ["Goblet squat"]
    no_nuts = search(catalogue.LibraryQuery(ItemType.MEAL, exclude_allergen="peanut"))
    assert {r["name"] for r in no_nuts["results"]} == {"Oat porridge", "Chicken salad"}
    page2 = search(catalogue.LibraryQuery(ItemType.EXERCISE, page=2, page_size=3))
    assert page2["pages"] == 2 and len(page2["results"]) == 1
    assert search(catalogue.LibraryQuery(ItemType.HABIT, q="100%_"))["total"] == 0
    with pytest.raises(errors.ProgramError):
        search(catalogue.LibraryQuery(ItemType.EXERCISE, difficulty="HEROIC"))


# --- expansion ---------------------------------------------------------------------------------------------


def test_dates_cross_month_ends(app_ctx):
    cat = make_catalogue()
    coach = coach_actor()
    customer = make_customer("Ana", "UTC", coach.user_id)
    program = make_program(coach, [(E, cat.exercises[0], 0, 0), (E, cat.exercises[1], 0, 3), (M, cat.meals[0], 1, 6)])
    with committed():
        result = plans.assign_program(coach, program.id, [customer], start_date=dt.date(2027, 1, 29))
    assert (result.created, result.items) == (1, 3)
    dates = [i.scheduled_date for i in _plan_items(result.plan_ids[0])]
    assert dates == [dt.date(2027, 1, 29), dt.date(2027, 2, 1), dt.date(2027, 2, 11)]
    plan = db.session.get(CustomerPlan, result.plan_ids[0])
    assert plan.end_date == dt.date(2027, 2, 11)


def test_berlin_start_and_dates_across_the_spring_dst_change(app_ctx):
    cat = make_catalogue()
    coach = coach_actor()
    customer = make_customer("Bea", "Europe/Berlin", coach.user_id)
    program = make_program(coach, [(E, cat.exercises[0], 0, d) for d in range(7)] + [(E, cat.exercises[1], 1, 0)])
    # 23:30 UTC on Saturday 27 March 2027 is already Sunday 28 March in Berlin (clocks go forward that night).
    with committed():
        result = plans.assign_program(
            coach, program.id, [customer], now=dt.datetime(2027, 3, 27, 23, 30, tzinfo=dt.UTC)
        )
    items = _plan_items(result.plan_ids[0])
    assert items[0].scheduled_date == dt.date(2027, 3, 28)
    assert [i.scheduled_date for i in items] == [dt.date(2027, 3, 28) + dt.timedelta(days=n) for n in range(8)]
    start, end = schedule.day_bounds_utc(dt.date(2027, 3, 28), ZoneInfo("Europe/Berlin"))
    assert end - start == dt.timedelta(hours=23)
    assert start == dt.datetime(2027, 3, 27, 23, 0, tzinfo=dt.UTC)


def test_los_angeles_local_today_and_dst(app_ctx):
    cat = make_catalogue()
    coach = coach_actor()
    la = make_customer("Cy", "America/Los_Angeles", coach.user_id)
    tokyo = make_customer("Dai", "Asia/Tokyo", coach.user_id)
    program = make_program(
        coach, [(E, cat.exercises[0], 0, 0), (E, cat.exercises[0], 1, 0), (E, cat.exercises[0], 2, 0)], weeks=3
    )
    now = dt.datetime(2027, 3, 1, 5, 0, tzinfo=dt.UTC)  # 28 Feb 21:00 in LA, 1 Mar 14:00 in Tokyo
    with committed():
        result = plans.assign_program(coach, program.id, [la, tokyo], now=now)
    by_customer = {db.session.get(CustomerPlan, pid).customer_id: pid for pid in result.plan_ids}
    la_dates = [i.scheduled_date for i in _plan_items(by_customer[la])]
    assert la_dates == [dt.date(2027, 2, 28), dt.date(2027, 3, 7), dt.date(2027, 3, 14)]  # 14 March: LA's DST day
    assert [i.scheduled_date for i in _plan_items(by_customer[tokyo])][0] == dt.date(2027, 3, 1)
    start, end = schedule.day_bounds_utc(dt.date(2027, 3, 14), ZoneInfo("America/Los_Angeles"))
    assert end - start == dt.timedelta(hours=23)


def test_start_at_week_n(app_ctx):
    cat = make_catalogue()
    coach = coach_actor()
    customer = make_customer("Eve", "UTC", coach.user_id)
    program = make_program(
        coach, [(E, cat.exercises[0], 0, 0), (E, cat.exercises[1], 1, 2), (M, cat.meals[0], 2, 0)], weeks=3
    )
    with committed():
        result = plans.assign_program(coach, program.id, [customer], start_date=dt.date(2027, 5, 3), start_week=2)
    items = _plan_items(result.plan_ids[0])
    assert [(i.item_id, i.scheduled_date) for i in items] == [
        (cat.exercises[1], dt.date(2027, 5, 5)),
        (cat.meals[0], dt.date(2027, 5, 10)),
    ]
    plan = db.session.get(CustomerPlan, result.plan_ids[0])
    assert (plan.start_week, plan.end_date) == (2, dt.date(2027, 5, 16))
    with pytest.raises(errors.PlanError), committed():
        plans.assign_program(coach, program.id, [customer], start_date=dt.date(2027, 5, 3), start_week=4)


@pytest.mark.parametrize("mode", ["orm", "bulk"])
def test_reassigning_is_idempotent(app_ctx, mode):
    cat = make_catalogue()
    coach = coach_actor()
    customers = [make_customer(f"C{n}", "UTC", coach.user_id) for n in range(3)]
    program = make_program(coach, [(E, cat.exercises[0], 0, 0), (H, cat.habits[0], 0, 1)])
    start = dt.date(2027, 6, 7)
    with committed():
        first = plans.assign_program(coach, program.id, customers[:2], start_date=start, insert_mode=mode, batch_size=1)
    assert (first.created, first.existing, first.items) == (2, 0, 4)
    seen = []

    def commit_batch(done: int, total: int) -> None:
        db.session.commit()
        seen.append((done, total))

    with committed():
        again = plans.assign_program(
            coach, program.id, customers, start_date=start, insert_mode=mode, commit_batch=commit_batch
        )
    assert (again.created, again.existing, again.items) == (1, 2, 2)
    assert seen == [(3, 3)]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerPlan)) == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanItem)) == 6
    with committed():
        other_start = plans.assign_program(coach, program.id, customers[:1], start_date=start + dt.timedelta(days=7))
    assert other_start.created == 1


def test_coach_assigns_only_to_own_customers(app_ctx):
    cat = make_catalogue()
    coach_a, coach_b = coach_actor("Coach A"), coach_actor("Coach B")
    mine = make_customer("Mine", "UTC", coach_a.user_id)
    theirs = make_customer("Theirs", "UTC", coach_b.user_id)
    program = make_program(coach_a, [(E, cat.exercises[0], 0, 0)])
    with pytest.raises(errors.PlanError) as err, committed():
        plans.assign_program(coach_a, program.id, [mine, theirs], start_date=dt.date(2027, 1, 4))
    assert str(theirs) in err.value.message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerPlan)) == 0
    assert [c["id"] for c in plans.customer_choices(coach_a, "")] == [str(mine)]
    admin = Actor(None, frozenset({"Admin"}))
    assert {c["id"] for c in plans.customer_choices(admin, "the")} == {str(theirs)}


def _history_setup():
    cat = make_catalogue()
    coach = coach_actor()
    customer = make_customer("Finn", "Europe/Berlin", coach.user_id)
    program = make_program(
        coach,
        [
            (E, cat.exercises[0], 0, 0),
            (E, cat.exercises[1], 0, 1),
            (E, cat.exercises[2], 1, 0),
            (M, cat.meals[0], 1, 3),
        ],
    )
    with committed():
        result = plans.assign_program(coach, program.id, [customer], start_date=dt.date(2027, 3, 1))
    plan_id = result.plan_ids[0]
    items = _plan_items(plan_id)
    items[0].completion_state = CompletionState.COMPLETED  # 1 March
    items[0].completion_at = utc(2027, 3, 1, 18)
    db.session.commit()
    return cat, coach, program, plan_id


def _edit_everything(cat, coach, program, follow: bool):
    doc = programs.program_document(coach, programs.get_program(coach, program.id))
    ex0, ex1, ex2, meal = doc["items"]
    items = [
        _item(E, cat.exercises[3], 0, 0, pk=ex0["id"]),  # past + completed: must not change in the plan
        _item(E, cat.exercises[3], 0, 1, pk=ex1["id"]),  # past (2 March) pending: must not change either
        _item(E, cat.exercises[3], 1, 1, pk=ex2["id"]),  # future: swapped and moved a day
        _item(H, cat.habits[1], 1, 5),  # new
    ]  # the meal (future) is removed
    now = dt.datetime(2027, 3, 4, 12, tzinfo=dt.UTC)
    with committed():
        return programs.save_program(coach, program.id, _payload(program, items, follow_future=follow), now=now), meal


def test_program_edit_without_follow_leaves_plans_alone(app_ctx):
    cat, coach, program, plan_id = _history_setup()
    before = [(i.id, i.item_id, i.scheduled_date, i.completion_state) for i in _plan_items(plan_id)]
    result, _meal = _edit_everything(cat, coach, program, follow=False)
    assert result.plans_followed == 0
    after = _plan_items(plan_id)
    assert [(i.id, i.item_id, i.scheduled_date, i.completion_state) for i in after] == before
    assert after[-1].program_item_id is None  # the removed meal's link is cleared, the item kept


def test_program_edit_with_follow_changes_only_the_open_future(app_ctx):
    cat, coach, program, plan_id = _history_setup()
    result, meal = _edit_everything(cat, coach, program, follow=True)
    assert result.plans_followed == 1
    items = _plan_items(plan_id)
    summary = [(i.item_type.value, i.item_id, i.scheduled_date, i.completion_state.value) for i in items]
    assert summary == [
        ("EXERCISE", cat.exercises[0], dt.date(2027, 3, 1), "COMPLETED"),
        ("EXERCISE", cat.exercises[1], dt.date(2027, 3, 2), "PENDING"),
        ("EXERCISE", cat.exercises[3], dt.date(2027, 3, 9), "PENDING"),
        ("HABIT", cat.habits[1], dt.date(2027, 3, 13), "PENDING"),
    ]
    assert meal["id"] not in {i.program_item_id for i in items}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProgramItem)) == 4


def test_adherence_windows(app_ctx):
    cat = make_catalogue()
    coach = coach_actor()
    customer = make_customer("Gus", "America/Los_Angeles", coach.user_id)
    program = make_program(coach, [(E, cat.exercises[0], w, d) for w in range(2) for d in range(7)])
    with committed():
        result = plans.assign_program(coach, program.id, [customer], start_date=dt.date(2027, 4, 1))
    items = _plan_items(result.plan_ids[0])
    for item in items[:6]:  # 1-6 April completed
        item.completion_state, item.completion_at = CompletionState.COMPLETED, utc(2027, 4, 10)
    items[6].completion_state = CompletionState.SKIPPED  # 7 April: not due
    db.session.commit()
    # 11 April 05:00 UTC is still 10 April in Los Angeles: due = 1-9 April minus the skipped day = 8 items.
    rates = plan_calendar.adherence(coach, customer, now=dt.datetime(2027, 4, 11, 5, tzinfo=dt.UTC))
    assert rates[90] == {"due": 8, "completed": 6, "rate": 0.75}
    assert rates[7] == {"due": 6, "completed": 4, "rate": 4 / 6}  # 3-9 April minus 7 April
    new = make_customer("New", "UTC", coach.user_id)
    assert plan_calendar.adherence(coach, new, now=utc(2027, 4, 11))[30]["rate"] is None


def test_substitute_move_and_skip(app_ctx):
    cat = make_catalogue()
    coach = coach_actor()
    customer = make_customer("Hal", "UTC", coach.user_id)
    program = make_program(coach, [(E, cat.exercises[0], 0, 0), (M, cat.meals[0], 0, 0), (E, cat.exercises[1], 0, 2)])
    with committed():
        plan_id = plans.assign_program(coach, program.id, [customer], start_date=dt.date(2027, 9, 6)).plan_ids[0]
    exercise, meal, later = _plan_items(plan_id)
    with committed():
        plan_calendar.substitute_item(coach, exercise.id, cat.exercises[3])
    assert db.session.get(PlanItem, exercise.id).substitution_item_id == cat.exercises[3]
    with pytest.raises(errors.PlanError), committed():
        plan_calendar.substitute_item(coach, meal.id, 999_999)
    now = utc(2027, 9, 5)
    with committed():
        moved = plan_calendar.move_day(coach, plan_id, dt.date(2027, 9, 6), dt.date(2027, 9, 8), now=now)
    assert moved == 2
    assert [i.scheduled_date for i in _plan_items(plan_id)] == [dt.date(2027, 9, 8)] * 3
    with pytest.raises(errors.PlanError), committed():
        plan_calendar.move_day(coach, plan_id, dt.date(2027, 9, 8), dt.date(2027, 9, 1), now=now)
    with committed():
        skipped = plan_calendar.skip_day(coach, plan_id, dt.date(2027, 9, 8))
    assert skipped == 3
    with pytest.raises(errors.PlanError), committed():
        plan_calendar.skip_day(coach, plan_id, dt.date(2027, 9, 8))
    other = coach_actor("Coach Other")
    with pytest.raises(errors.PlanNotFound), committed():
        plan_calendar.skip_day(other, plan_id, dt.date(2027, 9, 8))
    with pytest.raises(errors.PlanNotFound), committed():
        plan_calendar.substitute_item(other, later.id, None)


def test_follow_never_duplicates_an_item_whose_instance_is_history(app_ctx):
    cat, coach, program, plan_id = _history_setup()
    doc = programs.program_document(coach, programs.get_program(coach, program.id))
    moved = [{**i, "week": 1, "day": 6} if n == 0 else i for n, i in enumerate(doc["items"])]  # completed item
    payload = {"version": program.version, "weeks": 2, "items": moved, "follow_future": True}
    with committed():
        programs.save_program(coach, program.id, payload, now=dt.datetime(2027, 3, 4, 12, tzinfo=dt.UTC))
    items = _plan_items(plan_id)
    assert len(items) == 4
    assert [(i.scheduled_date, i.completion_state) for i in items][0] == (
        dt.date(2027, 3, 1),
        CompletionState.COMPLETED,
    )


def test_database_refuses_a_second_open_plan_for_the_same_start(app_ctx):
    from sqlalchemy.exc import IntegrityError

    from app.models.training import PlanStatus

    cat = make_catalogue()
    coach = coach_actor()
    customer = make_customer("Ida", "UTC", coach.user_id)
    program = make_program(coach, [(E, cat.exercises[0], 0, 0)])
    start = dt.date(2027, 8, 2)
    with committed():
        plan_id = plans.assign_program(coach, program.id, [customer], start_date=start).plan_ids[0]
    fields = {"customer_id": customer, "program_id": program.id, "start_date": start}
    db.session.add(CustomerPlan(**fields, status=PlanStatus.ACTIVE))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.get(CustomerPlan, plan_id).status = PlanStatus.CANCELLED
    db.session.commit()
    with committed():
        again = plans.assign_program(coach, program.id, [customer], start_date=start)
    assert again.created == 1 and again.plan_ids[0] != plan_id
