"""Coach A cannot read or change coach B's customer's plan through any plan builder endpoint.

The builder has no row rules of its own: every path asks ``app.policy.scope``. These tests
walk each endpoint (pages by URL, the JSON API, the customer autocomplete, the assignment job)
as coach A against coach B's customer, on SQLite and PostgreSQL, and check that the answer is
"not found" or a refusal and that nothing changed in the database.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from redis import Redis

from app.extensions import committed, db
from app.models.identity import ConsoleUser
from app.models.training import CompletionState, CustomerPlan, ItemType, PlanItem, Program, Visibility
from app.policy.scope import Actor, scope_criteria, scoped_select
from app.services.training import access, errors, plan_calendar, plans, programs
from app.services.training import assignment as plan_jobs
from tests.support.jobworker import _run_worker
from tests.support.plan_support import make_program
from tests.support.plan_views import _login, _post_json

E, M = ItemType.EXERCISE, ItemType.MEAL
START = dt.date(2030, 1, 7)  # a Monday, well in the future: every item is still pending


@pytest.fixture
def plans_world(world):  # noqa: F811
    """``world`` plus one plan per coach from coach B's team-shared program, and more of B's programs."""
    app, cat = world["app"], world["cat"]
    with app.app_context():
        coach_a, coach_b = world["coach_a"], world["coach_b"]
        with committed():
            theirs_result = plans.assign_program(coach_b, world["shared"], [world["theirs"]], start_date=START)
        with committed():
            mine_result = plans.assign_program(coach_a, world["shared"], [world["mine"]], start_date=START)
        theirs_plan, mine_plan = theirs_result.plan_ids[0], mine_result.plan_ids[0]
        private_b = make_program(coach_b, [(M, cat.meals[1], 0, 0)], title="Theo private", weeks=1).id
        public_b = make_program(
            coach_b, [(M, cat.meals[2], 0, 0)], title="Public template", weeks=1, visibility=Visibility.PUBLIC
        ).id
        theirs_item = db.session.scalar(sa.select(PlanItem.id).where(PlanItem.plan_id == theirs_plan))
    return {
        **world,
        "theirs_plan": theirs_plan,
        "mine_plan": mine_plan,
        "theirs_item": theirs_item,
        "private_b": private_b,
        "public_b": public_b,
    }


def _plan_state(app, plan_id: int) -> tuple:
    """Everything a change could touch on one plan, to compare before and after."""
    with app.app_context():
        db.session.expire_all()
        plan = db.session.get(CustomerPlan, plan_id)
        items = db.session.execute(
            sa.select(
                PlanItem.id,
                PlanItem.scheduled_date,
                PlanItem.item_type,
                PlanItem.item_id,
                PlanItem.completion_state,
                PlanItem.substitution_item_id,
                PlanItem.order_index,
                PlanItem.program_item_id,
            )
            .where(PlanItem.plan_id == plan_id)
            .order_by(PlanItem.id)
        ).all()
        return (plan.status, plan.start_date, plan.end_date, plan.program_id, tuple(items))


def _plan_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(CustomerPlan))


# --- by URL: the plan pages and their edit forms -----------------------------------------------------------


def test_plan_pages_and_edit_forms_refuse_another_coachs_customer(client, plans_world):
    app, other, mine = plans_world["app"], plans_world["theirs_plan"], plans_world["mine_plan"]
    before = _plan_state(app, other)
    token = _login(client, plans_world["accounts"], "Coach")

    listing = client.get("/plans/").get_data(as_text=True)
    assert f"/plans/{mine}" in listing
    assert f"/plans/{other}" not in listing and "Theo Theirs" not in listing
    assert client.get(f"/plans/{mine}?at=2030-01-07").status_code == 200
    for query in ("", "?view=week", "?at=2030-01-07", "?view=week&at=2030-01-08"):
        assert client.get(f"/plans/{other}{query}").status_code == 404

    day = {"day": "2030-01-08", "csrf_token": token}
    move = {"from_date": "2030-01-08", "to_date": "2030-01-09", "csrf_token": token}
    substitute = {"plan_item_id": str(plans_world["theirs_item"]), "substitute_id": "", "csrf_token": token}
    assert client.post(f"/plans/edit/{other}/skip", data=day).status_code == 404
    assert client.post(f"/plans/edit/{other}/move", data=move).status_code == 404
    assert client.post(f"/plans/edit/{other}/substitute", data=substitute).status_code == 404
    # B's plan item addressed through A's own plan's URL is not found either
    assert client.post(f"/plans/edit/{mine}/substitute", data=substitute).status_code == 404
    assert _plan_state(app, other) == before

    # the same forms work on A's own plan (so the 404s above are scope, not a broken form)
    assert client.post(f"/plans/edit/{mine}/skip", data=day).status_code == 302
    with app.app_context():
        states = db.session.scalars(sa.select(PlanItem.completion_state).where(PlanItem.plan_id == mine)).all()
    assert CompletionState.SKIPPED in states


def test_another_coachs_customer_is_never_listed_in_builder_pages(client, plans_world):
    _login(client, plans_world["accounts"], "Coach")
    index = client.get("/planbuilder/").get_data(as_text=True)
    assert "Theo private" not in index and "Public template" in index and "Team" in index
    for pid in (plans_world["shared"], plans_world["public_b"]):
        page = client.get(f"/planbuilder/{pid}").get_data(as_text=True)
        assert "Theo Theirs" not in page and str(plans_world["theirs"]) not in page
    assert client.get(f"/planbuilder/{plans_world['private_b']}").status_code == 404


# --- JSON API: program documents and saves ------------------------------------------------------------------


def test_program_api_follows_the_central_read_and_write_rules(client, plans_world):
    token = _login(client, plans_world["accounts"], "Coach")
    api = "/planbuilder/api/programs"
    private_b, public_b, shared = plans_world["private_b"], plans_world["public_b"], plans_world["shared"]

    assert client.get(f"{api}/{private_b}").status_code == 404
    resp = _post_json(client, f"{api}/{private_b}/items", {"version": 1, "weeks": 1, "items": []}, token)
    assert resp.status_code == 404

    public = client.get(f"{api}/{public_b}").get_json()
    assert public["editable"] is False and len(public["items"]) == 1
    resp = _post_json(client, f"{api}/{public_b}/items", {"version": 1, "weeks": 1, "items": []}, token)
    assert resp.status_code == 403
    assert len(client.get(f"{api}/{public_b}").get_json()["items"]) == 1

    # a team-shared program is editable by the team, as the central write rule says
    assert client.get(f"{api}/{shared}").get_json()["editable"] is True
    with plans_world["app"].app_context():
        coach = db.session.scalar(sa.select(ConsoleUser).where(ConsoleUser.username == "coach"))
        writable = {p.id for p in db.session.scalars(scoped_select(Program, coach, for_write=True))}
    assert shared in writable and public_b not in writable and private_b not in writable


def test_saving_a_shared_program_moves_only_the_editors_customers_plans(client, plans_world):
    """ "Follow future" on a team program brings coach A's customers' plans in line, never coach B's."""
    app, shared, cat = plans_world["app"], plans_world["shared"], plans_world["cat"]
    other, mine = plans_world["theirs_plan"], plans_world["mine_plan"]
    before_other = _plan_state(app, other)
    token = _login(client, plans_world["accounts"], "Coach")
    doc = client.get(f"/planbuilder/api/programs/{shared}").get_json()
    moved = {**doc["items"][0], "item_id": cat.exercises[2], "day": 4}
    body = {"version": doc["version"], "weeks": doc["weeks"], "items": [moved], "follow_future": True}
    resp = _post_json(client, f"/planbuilder/api/programs/{shared}/items", body, token)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["plans_followed"] == 1
    assert _plan_state(app, other) == before_other
    with app.app_context():
        mine_items = db.session.execute(
            sa.select(PlanItem.item_id, PlanItem.scheduled_date).where(PlanItem.plan_id == mine)
        ).all()
    assert mine_items == [(cat.exercises[2], START + dt.timedelta(days=4))]


# --- autocomplete and assignment ----------------------------------------------------------------------------


def test_customer_autocomplete_offers_only_assigned_customers(client, plans_world):
    _login(client, plans_world["accounts"], "Coach")
    for q in ("", "Theo", "Theirs", "theo", str(plans_world["theirs"])[:8], "Coach"):
        ids = {r["id"] for r in client.get(f"/plans/assign/customers?q={q}").get_json()["results"]}
        assert str(plans_world["theirs"]) not in ids, q
        assert str(plans_world["coach_a"].user_id) not in ids, q  # a coach is no customer of their own
    assert [r["id"] for r in client.get("/plans/assign/customers?q=Alma").get_json()["results"]] == [
        str(plans_world["mine"])
    ]


@pytest.mark.parametrize("target", ["theirs", "mixed", "coach_b", "self", "unknown"])
def test_assigning_to_a_customer_not_assigned_to_the_coach_is_refused(client, plans_world, target):
    app = plans_world["app"]
    customers = {
        "theirs": [plans_world["theirs"]],
        "mixed": [plans_world["mine"], plans_world["theirs"]],
        "coach_b": [plans_world["coach_b"].user_id],
        "self": [plans_world["coach_a"].user_id],
        "unknown": [uuid.uuid4()],
    }[target]
    before = _plan_count(app)
    token = _login(client, plans_world["accounts"], "Coach")
    for program in (plans_world["program"], plans_world["shared"], plans_world["public_b"]):
        body = {"program_id": program, "customers": [str(c) for c in customers], "start_date": "2030-02-04"}
        resp = _post_json(client, "/plans/assign/", body, token)
        assert resp.status_code == 400, resp.get_data(as_text=True)
        assert resp.get_json()["field"] == "customers" and "not one of your customers" in resp.get_json()["error"]
    assert _plan_count(app) == before


def test_assigning_another_coachs_private_program_is_not_found(client, plans_world):
    token = _login(client, plans_world["accounts"], "Coach")
    body = {"program_id": plans_world["private_b"], "customers": [str(plans_world["mine"])]}
    resp = _post_json(client, "/plans/assign/", body, token)
    assert resp.status_code == 404
    assert _plan_count(plans_world["app"]) == 2


def test_an_assignment_job_for_another_coachs_customer_fails_and_creates_nothing(plans_world, redis_url, monkeypatch):
    """A job carries only the console account; its run re-asks the central scope, so tampered
    or stale parameters (B's customer in A's job) end in failure with no plan created."""
    app = plans_world["app"]
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    Redis.from_url(redis_url).flushdb()
    with app.app_context():
        coach = db.session.scalar(sa.select(ConsoleUser).where(ConsoleUser.username == "coach"))
        run_id = plan_jobs.enqueue_assignment(
            console_user_id=coach.id,
            requested_by=coach.platform_user_id,
            program_id=plans_world["program"],
            customer_ids=[plans_world["mine"], plans_world["theirs"]],
            start_date=dt.date(2030, 3, 4),
            start_week=1,
        )
        console_id = coach.id
    before = _plan_count(app)
    _run_worker(app, redis_url)
    with app.app_context():
        status = plan_jobs.job_status(str(run_id), console_user_id=console_id, is_admin=False)
    assert status["status"] == "failed" and "not one of your customers" in status["error"]
    assert _plan_count(app) == before


# --- one rule set: the builder's answers are the console's -------------------------------------------------


@pytest.mark.parametrize("role", ["Admin", "Support", "Coach", "Manager", "Compliance", "Coach2"])
def test_builder_services_match_the_console_scope_for_every_role(plans_world, role):
    app, accounts = plans_world["app"], plans_world["accounts"]
    with app.app_context():
        user = db.session.scalar(sa.select(ConsoleUser).where(ConsoleUser.username == accounts[role].username))
        actor = Actor.of(user)
        assert {p.id for p in plan_calendar.list_plans(actor)} == {
            p.id for p in db.session.scalars(scoped_select(CustomerPlan, user))
        }
        assert {p.id for p in programs.list_programs(actor)} == {
            p.id for p in db.session.scalars(scoped_select(Program, user)).unique()
        }
        writable = set(db.session.scalars(sa.select(Program.id).where(scope_criteria(Program, user, for_write=True))))
        for program in db.session.scalars(scoped_select(Program, user)).unique():
            may = access.may_write(actor, "Programs") and program.id in writable
            assert programs.open_program(actor, program.id)[1] is may
        offered = {r["id"] for r in plans.customer_choices(actor, "", limit=50)}
        if role in ("Coach", "Coach2"):
            assert offered == {str(plans_world["mine" if role == "Coach" else "theirs"])}
        elif role == "Admin":
            assert offered == {str(plans_world["mine"]), str(plans_world["theirs"])}
        else:
            assert offered == set()  # read-only roles assign nothing


def test_a_coach_without_a_platform_user_reaches_nothing_in_the_builder(plans_world):
    app = plans_world["app"]
    with app.app_context():
        loner = Actor(None, frozenset({"Coach"}))
        assert programs.list_programs(loner) == [] and plan_calendar.list_plans(loner) == []
        assert plans.customer_choices(loner, "") == []
        for pid in (plans_world["shared"], plans_world["public_b"]):
            with pytest.raises(errors.ProgramNotFound):
                programs.get_program(loner, pid)
        with pytest.raises(errors.PlanNotFound):
            plan_calendar.get_plan(loner, plans_world["mine_plan"])
