"""Builder and plan pages over HTTP: permissions per role, row scope, CSRF and bad input."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa

from app.extensions import committed, db
from app.models.training import CompletionState, CustomerPlan, ItemType, PlanItem
from app.services.training import plans
from tests.support.plan_views import _login, _post_json
from tests.support.web import csrf_token

E, M = ItemType.EXERCISE, ItemType.MEAL


def _items(program_id, cat):
    return [
        {"id": None, "item_type": "EXERCISE", "item_id": cat.exercises[2], "week": 0, "day": 3, "order": 0},
        {
            "id": None,
            "item_type": "EXERCISE",
            "item_id": cat.exercises[3],
            "week": 0,
            "day": 3,
            "order": 1,
            "prescription": {"sets": 3, "reps": 12, "superset": "A"},
        },
    ]


# --- permissions -------------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login_or_refused(client, world):
    pid = world["program"]
    assert "/login/" in client.get("/planbuilder/").headers["Location"]
    assert "/login/" in client.get(f"/planbuilder/{pid}").headers["Location"]
    assert "/login/" in client.get("/plans/").headers["Location"]
    assert client.get(f"/planbuilder/api/programs/{pid}").status_code == 401
    assert client.get("/planbuilder/library?type=EXERCISE").status_code == 401
    token = csrf_token(client)
    assert _post_json(client, f"/planbuilder/api/programs/{pid}/items", {}, token).status_code == 401


@pytest.mark.parametrize(
    ("role", "builder", "plans_page", "save"),
    [
        ("Admin", 200, 200, 200),
        ("Coach", 200, 200, 200),
        ("Manager", 403, 200, 403),
        ("Support", 403, 200, 403),
        ("Compliance", 403, 403, 403),
    ],
)
def test_each_role(client, world, role, builder, plans_page, save):
    token = _login(client, world["accounts"], role)
    pid = world["program"]
    assert client.get("/planbuilder/").status_code == builder
    assert client.get(f"/planbuilder/{pid}").status_code == builder
    assert client.get("/plans/").status_code == plans_page
    body = {"version": 1, "weeks": 2, "items": _items(pid, world["cat"])}
    assert _post_json(client, f"/planbuilder/api/programs/{pid}/items", body, token).status_code == save


def test_coach_b_cannot_open_or_save_coach_a_private_program(client, world):
    token = _login(client, world["accounts"], "Coach2")
    pid = world["program"]
    assert client.get(f"/planbuilder/{pid}").status_code == 404
    assert client.get(f"/planbuilder/api/programs/{pid}").status_code == 404
    body = {"version": 1, "weeks": 2, "items": []}
    resp = _post_json(client, f"/planbuilder/api/programs/{pid}/items", body, token)
    assert resp.status_code == 404
    page = client.get("/planbuilder/").get_data(as_text=True)
    assert "Strength base" not in page and "Team" in page
    resp = _post_json(
        client, "/plans/assign/", {"program_id": world["shared"], "customers": [str(world["mine"])]}, token
    )
    assert resp.status_code == 400 and "not one of your customers" in resp.get_json()["error"]
    with world["app"].app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerPlan)) == 0
    results = client.get("/plans/assign/customers?q=").get_json()["results"]
    assert [r["id"] for r in results] == [str(world["theirs"])]


# --- saving ------------------------------------------------------------------------------------------------


def test_save_endpoint_round_trip_and_conflict(client, world):
    token = _login(client, world["accounts"], "Coach")
    pid = world["program"]
    doc = client.get(f"/planbuilder/api/programs/{pid}").get_json()
    assert doc["version"] == 1 and doc["editable"] is True and len(doc["items"]) == 2
    kept = {**doc["items"][0], "prescription": {"sets": 5, "reps": "5", "load_kg": 100, "tempo": "30X0"}}
    body = {"version": 1, "weeks": 3, "items": [kept, *_items(pid, world["cat"])], "follow_future": False}
    resp = _post_json(client, f"/planbuilder/api/programs/{pid}/items", body, token)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    saved = resp.get_json()
    assert saved["version"] == 2 and saved["program"]["weeks"] == 3
    assert [i["prescription"].get("superset") for i in saved["program"]["items"]] == [None, None, "A"]
    assert saved["program"]["items"][0]["id"] == kept["id"]
    stale = _post_json(client, f"/planbuilder/api/programs/{pid}/items", body, token)
    assert stale.status_code == 409
    assert stale.get_json()["current_version"] == 2 and "reload" in stale.get_json()["error"]
    assert client.get(f"/planbuilder/api/programs/{pid}").get_json()["items"] == saved["program"]["items"]


@pytest.mark.parametrize(
    ("raw", "field_or_text"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "JSON object"),
        (json.dumps({"version": 1, "items": [{"item_type": "EXERCISE", "item_id": 1, "week": 9, "day": 0}]}), "week"),
        (json.dumps({"version": 1, "items": [{"item_type": "MEAL", "item_id": "x", "week": 0, "day": 0}]}), "item_id"),
        (
            json.dumps(
                {"version": 1, "items": [{"id": 987654, "item_type": "MEAL", "item_id": 1, "week": 0, "day": 0}]}
            ),
            "id",
        ),
        ("x" * (1024 * 1024 + 10), "too large"),
    ],
)
def test_bad_saves_answer_400_and_change_nothing(client, world, raw, field_or_text):
    token = _login(client, world["accounts"], "Coach")
    pid = world["program"]
    before = client.get(f"/planbuilder/api/programs/{pid}").get_json()
    resp = _post_json(client, f"/planbuilder/api/programs/{pid}/items", None, token, raw=raw)
    assert resp.status_code == 400
    body = resp.get_json()
    assert field_or_text in (body.get("field") or "") or field_or_text in body["error"], body
    assert client.get(f"/planbuilder/api/programs/{pid}").get_json() == before


def test_csrf_is_required(client, world):
    _login(client, world["accounts"], "Coach")
    pid = world["program"]
    body = {"version": 1, "weeks": 2, "items": []}
    assert _post_json(client, f"/planbuilder/api/programs/{pid}/items", body, None).status_code == 400
    assert _post_json(client, "/plans/assign/", {"program_id": pid, "customers": []}, None).status_code == 400
    assert client.post("/planbuilder/new", data={"title": "x", "level": "BEGINNER"}).status_code == 400
    assert len(client.get(f"/planbuilder/api/programs/{pid}").get_json()["items"]) == 2


def test_library_endpoint_validates(client, world):
    _login(client, world["accounts"], "Coach")
    assert client.get("/planbuilder/library?type=SNACK").status_code == 400
    assert client.get("/planbuilder/library?type=EXERCISE&page=x").status_code == 400
    assert client.get("/planbuilder/library?type=EXERCISE&difficulty=EPIC").status_code == 400
    ok = client.get("/planbuilder/library?type=MEAL&exclude_allergen=milk&page_size=1000").get_json()
    assert ok["page_size"] == 50 and "Oat porridge" not in [r["name"] for r in ok["results"]]


def test_builder_page_renders_translated_strings(client, world):
    _login(client, world["accounts"], "Coach")
    page = client.get(f"/planbuilder/{world['program']}").get_data(as_text=True)
    assert 'id="cd-builder-strings"' in page and "plan_builder.js" in page
    strings = json.loads(re.search(r'id="cd-builder-strings">(.*?)</script>', page, re.S).group(1))
    assert strings["day_names"][0] == "Mon" and "%(name)s" in strings["moved_to"]
    # the language switcher stores the choice in the session
    client.post("/lang/de", data={"csrf_token": csrf_token(client, "/")})
    assert client.get(f"/planbuilder/{world['program']}").status_code == 200


def test_create_program_form(client, world):
    token = _login(client, world["accounts"], "Coach")
    resp = client.post(
        "/planbuilder/new",
        data={"title": "New one", "level": "BEGINNER", "visibility": "PRIVATE", "weeks": "6", "csrf_token": token},
    )
    assert resp.status_code == 302 and re.search(r"/planbuilder/\d+$", resp.headers["Location"])
    bad = client.post(
        "/planbuilder/new", data={"title": "", "level": "X", "visibility": "PRIVATE", "csrf_token": token}
    )
    assert bad.status_code == 302  # back to the list with the reason flashed
    assert "A title of 1 to 200 characters is required." in client.get("/planbuilder/").get_data(as_text=True)


# --- assigning and the plan page ---------------------------------------------------------------------------


def test_assign_inline_and_plan_page(client, world):
    token = _login(client, world["accounts"], "Coach")
    pid = world["program"]
    body = {"program_id": pid, "customers": [str(world["mine"])], "start_date": "2027-03-26", "start_week": 1}
    resp = _post_json(client, "/plans/assign/", body, token)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    data = resp.get_json()
    assert (data["created"], data["existing"], data["items"]) == (1, 0, 2)
    again = _post_json(client, "/plans/assign/", body, token).get_json()
    assert (again["created"], again["existing"]) == (0, 1)
    page = client.get(data["plans"][0] + "?at=2027-03-26").get_data(as_text=True)
    assert 'data-date="2027-03-26"' in page and "Back squat" in page and "Oat porridge" in page
    assert "Europe/Berlin" in page and "cd-substitute-form" in page
    week = client.get(data["plans"][0] + "?view=week&at=2027-03-28").get_data(as_text=True)
    assert 'data-date="2027-03-22"' in week and 'data-date="2027-03-29"' not in week


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"program_id": "1", "customers": []}, "program_id"),
        ({"customers": ["x"]}, "program_id"),
        ({"program_id": 0, "customers": "abc"}, "customers"),
        ({"program_id": 0, "customers": ["not-a-uuid"]}, "customers"),
        ({"program_id": 0, "customers": [], "start_date": "2027-02-30"}, "start_date"),
        ({"program_id": 0, "customers": [], "start_week": "2"}, "start_week"),
    ],
)
def test_assign_bad_input(client, world, body, field):
    token = _login(client, world["accounts"], "Coach")
    body = {**body, "program_id": world["program"]} if body.get("program_id") == 0 else body
    resp = _post_json(client, "/plans/assign/", body, token)
    assert resp.status_code == 400 and resp.get_json()["field"] == field


def _assign(world, coach, program, customer):
    with world["app"].app_context(), committed():
        return plans.assign_program(world[coach], world[program], [world[customer]], start_date=dt.date(2030, 1, 7))


def test_plan_scope_and_edits(client, world):
    plan_id = _assign(world, "coach_a", "program", "mine").plan_ids[0]
    other = _assign(world, "coach_b", "shared", "theirs").plan_ids[0]
    token = _login(client, world["accounts"], "Coach")
    assert client.get(f"/plans/{plan_id}").status_code == 200
    assert client.get(f"/plans/{other}").status_code == 404
    assert client.post(f"/plans/edit/{other}/skip", data={"day": "2030-01-08", "csrf_token": token}).status_code == 404
    bad = client.post(f"/plans/edit/{plan_id}/skip", data={"day": "someday", "csrf_token": token})
    assert bad.status_code == 400 and "must be a date" in bad.get_data(as_text=True)
    assert client.post(f"/plans/edit/{plan_id}/skip", data={"day": "2030-01-07"}).status_code == 400  # no CSRF
    ok = client.post(f"/plans/edit/{plan_id}/skip", data={"day": "2030-01-07", "csrf_token": token})
    assert ok.status_code == 302
    moved = client.post(
        f"/plans/edit/{plan_id}/move", data={"from_date": "2030-01-09", "to_date": "2030-01-10", "csrf_token": token}
    )
    assert moved.status_code == 302
    with world["app"].app_context():
        meal_id = db.session.scalar(sa.select(PlanItem.id).where(PlanItem.plan_id == plan_id, PlanItem.item_type == M))
    resp = client.post(
        f"/plans/edit/{plan_id}/substitute",
        data={"plan_item_id": str(meal_id), "substitute_id": str(world["cat"].meals[1]), "csrf_token": token},
    )
    assert resp.status_code == 302
    foreign = client.post(
        f"/plans/edit/{plan_id}/substitute",
        data={"plan_item_id": "99999999", "substitute_id": "1", "csrf_token": token},
    )
    assert foreign.status_code == 404
    with world["app"].app_context():
        rows = db.session.execute(
            sa.select(PlanItem.item_type, PlanItem.completion_state).where(PlanItem.plan_id == plan_id)
        )
        states = {t: state for t, state in rows}
        assert states[E] == CompletionState.SKIPPED
        meal = db.session.get(PlanItem, meal_id)
        assert (meal.scheduled_date, meal.substitution_item_id) == (dt.date(2030, 1, 10), world["cat"].meals[1])
    for at in ("9999-12-31", "0001-01-01", "garbage", "2030-13-01"):
        assert client.get(f"/plans/{plan_id}?at={at}&view=week").status_code == 200
        assert client.get(f"/plans/{plan_id}?at={at}").status_code == 200
    page = client.get(f"/plans/{plan_id}?at=2030-01-10").get_data(as_text=True)
    assert "Chicken salad" in page and 'data-state="SKIPPED"' in page


def test_manager_reads_plans_but_cannot_edit(client, world):
    plan_id = _assign(world, "coach_a", "program", "mine").plan_ids[0]
    token = _login(client, world["accounts"], "Manager")
    page = client.get(f"/plans/{plan_id}?at=2030-01-07")
    assert page.status_code == 200 and "cd-substitute-form" not in page.get_data(as_text=True)
    resp = client.post(f"/plans/edit/{plan_id}/skip", data={"day": "2030-01-07", "csrf_token": token})
    assert resp.status_code == 403
    assign = _post_json(client, "/plans/assign/", {"program_id": world["program"], "customers": []}, token)
    assert assign.status_code == 403


def test_out_of_range_ids_are_not_found_not_errors(client, world):
    token = _login(client, world["accounts"], "Coach")
    huge = 2**40
    assert client.get(f"/planbuilder/{huge}").status_code == 404
    assert client.get(f"/planbuilder/api/programs/{huge}").status_code == 404
    assert client.get(f"/plans/{huge}").status_code == 404
    assert client.post(f"/plans/edit/{huge}/skip", data={"day": "2030-01-07", "csrf_token": token}).status_code == 404
    body = {"version": 1, "items": [{"id": huge, "item_type": "MEAL", "item_id": 1, "week": 0, "day": 0}]}
    resp = _post_json(client, f"/planbuilder/api/programs/{world['program']}/items", body, token)
    assert resp.status_code == 400 and resp.get_json()["field"] == "id"
    body["items"][0] = {"item_type": "MEAL", "item_id": huge, "week": 0, "day": 0}
    resp = _post_json(client, f"/planbuilder/api/programs/{world['program']}/items", body, token)
    assert resp.status_code == 400 and resp.get_json()["field"] == "item_id"
    resp = _post_json(client, "/plans/assign/", {"program_id": huge, "customers": [str(world["mine"])]}, token)
    assert resp.status_code == 404
