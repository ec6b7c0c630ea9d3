"""Polymorphic references (item_type + item_id, thread context) name a row that exists, on every write path:
the console forms, the plan builder's save, the plan calendar's substitution. 999999 is refused, nothing saved."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.customers import CoachAssignment
from app.models.engagement import SupportTicket, Thread, ThreadContext
from app.models.training import Exercise, Habit, ItemType, PlanItem, Program, ProgramItem
from app.policy.scope import Actor
from app.services.training import item_refs
from tests.support.apps import make_accounts
from tests.support.web import login, session_csrf
from tests.support.world import make_world, pk_of

MISSING = "999999"


@pytest.fixture
def admin(sqlite_app: Flask) -> dict[str, Any]:
    accounts = make_accounts(sqlite_app)
    with sqlite_app.app_context():
        rows = make_world("coach@coachdesk.test", tag="r")
        ids = {model: str(pk_of(row)) for model, row in rows.items()}
        db.session.commit()
    client = sqlite_app.test_client()
    login(client, "admin", accounts["Admin"].password)
    return {"client": client, "token": session_csrf(sqlite_app, client), "ids": ids}


def _count(app: Flask, model: type, *where: Any) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _post(admin: dict, url: str, **data: str) -> Any:
    return admin["client"].post(url, data={"csrf_token": admin["token"], **data})


def test_console_program_and_plan_items_refuse_an_item_that_does_not_exist(sqlite_app: Flask, admin: dict) -> None:
    ids = admin["ids"]
    item = {"week_index": "0", "day_index": "0", "order_index": "0", "item_type": "HABIT"}
    before = _count(sqlite_app, ProgramItem)
    page = _post(admin, "/program-items/add", program=ids[Program], item_id=MISSING, **item)
    assert page.status_code == 200 and "There is no habit with id 999999." in page.get_data(as_text=True)
    assert _count(sqlite_app, ProgramItem) == before
    ok = _post(admin, "/program-items/add", program=ids[Program], item_id=ids[Habit], **item)
    assert ok.status_code == 302 and _count(sqlite_app, ProgramItem) == before + 1

    plan_item = ids[PlanItem]
    with sqlite_app.app_context():
        row = db.session.get(PlanItem, int(plan_item))
        stored = (row.item_type, row.item_id, row.substitution_item_id)
        form = {"plan": str(row.plan_id), "scheduled_date": row.scheduled_date.isoformat(), "order_index": "0",
                "item_type": row.item_type.value, "completion_state": row.completion_state.value}  # fmt: skip
    for field, value in (("item_id", MISSING), ("substitution_item_id", MISSING)):
        sent = {**form, "item_id": str(stored[1]), field: value}
        page = _post(admin, f"/plan-items/edit/{plan_item}", **sent)
        assert page.status_code == 200, field
        assert "with id 999999." in page.get_data(as_text=True), field
    before = _count(sqlite_app, PlanItem)
    page = _post(admin, "/plan-items/add", **{**form, "item_id": MISSING})
    assert page.status_code == 200 and _count(sqlite_app, PlanItem) == before
    with sqlite_app.app_context():
        row = db.session.get(PlanItem, int(plan_item))
        assert (row.item_type, row.item_id, row.substitution_item_id) == stored


def test_a_thread_context_must_name_its_assignment_or_ticket(sqlite_app: Flask, admin: dict) -> None:
    ids = admin["ids"]
    base = {"subject": "About the plan", "customer": ids[next(m for m in ids if m.__name__ == "PlatformUser")]}
    before = _count(sqlite_app, Thread)
    for context in ("SUPPORT", "CUSTOMER_COACH"):
        page = _post(admin, "/threads/add", context_type=context, context_id=MISSING, **base)
        assert page.status_code == 200 and "with id 999999." in page.get_data(as_text=True), context
    assert _count(sqlite_app, Thread) == before
    with sqlite_app.app_context():  # another customer's ticket and assignment
        other = make_world("coach@coachdesk.test", tag="o")
        theirs = {"SUPPORT": other[SupportTicket].id, "CUSTOMER_COACH": other[CoachAssignment].id}
    before = _count(sqlite_app, Thread)
    for context, their_id in theirs.items():
        page = _post(admin, "/threads/add", context_type=context, context_id=their_id, **base)
        assert page.status_code == 200 and "another customer" in page.get_data(as_text=True), context
    assert _count(sqlite_app, Thread) == before
    good = _post(admin, "/threads/add", context_type="SUPPORT", context_id=ids[SupportTicket], **base)
    assert good.status_code == 302
    good = _post(admin, "/threads/add", context_type="CUSTOMER_COACH", context_id=ids[CoachAssignment], **base)
    assert good.status_code == 302 and _count(sqlite_app, Thread) == before + 2


def test_the_plan_builder_save_refuses_an_item_that_does_not_exist(sqlite_app: Flask, admin: dict) -> None:
    program_id = admin["ids"][Program]
    client = admin["client"]
    document = client.get(f"/planbuilder/api/programs/{program_id}").get_json()
    before = _count(sqlite_app, ProgramItem, ProgramItem.program_id == int(program_id))
    item = {"item_type": "EXERCISE", "item_id": int(MISSING), "week": 0, "day": 0, "order": 0, "prescription": {}}
    body = {"version": document["version"], "items": [item]}
    resp = client.post(f"/planbuilder/api/programs/{program_id}/items", data=json.dumps(body),
                       content_type="application/json", headers={"X-CSRFToken": admin["token"]})  # fmt: skip
    assert resp.status_code == 400
    assert resp.get_json()["field"] == "item_id" and "999999" in resp.get_json()["error"]
    assert _count(sqlite_app, ProgramItem, ProgramItem.program_id == int(program_id)) == before


def test_the_plan_calendar_refuses_a_substitute_that_does_not_exist(sqlite_app: Flask, admin: dict) -> None:
    with sqlite_app.app_context():
        row = db.session.get(PlanItem, int(admin["ids"][PlanItem]))
        plan_id, stored = row.plan_id, row.substitution_item_id
    resp = _post(admin, f"/plans/edit/{plan_id}/substitute", plan_item_id=admin["ids"][PlanItem], substitute_id=MISSING)
    assert resp.status_code == 400 and "with id 999999." in resp.get_data(as_text=True)
    with sqlite_app.app_context():
        assert db.session.get(PlanItem, int(admin["ids"][PlanItem])).substitution_item_id == stored


def test_the_service_refuses_what_is_out_of_reach(sqlite_app: Flask, admin: dict) -> None:
    with sqlite_app.app_context():
        anyone = Actor(user_id=None, roles=frozenset({"Admin"}))
        exercise = int(admin["ids"][Exercise])
        item_refs.require_item(anyone, ItemType.EXERCISE, exercise)
        for bad in (999999, 0, -1, 2**63, True, "1"):
            with pytest.raises(item_refs.ReferenceRefused) as refused:
                item_refs.require_item(anyone, ItemType.EXERCISE, bad)
            assert refused.value.status == 400 and refused.value.field == "item_id"
        nobody = Actor(user_id=None, roles=frozenset({"Coach"}))  # a coach with no platform user: no rows
        with pytest.raises(item_refs.ReferenceRefused):
            item_refs.require_item(nobody, ItemType.EXERCISE, exercise)
        for bad_id in ("abc", "1e3", "99999999999999999999", "٣"):
            with pytest.raises(item_refs.ReferenceRefused):
                item_refs.require_thread_context(anyone, ThreadContext.SUPPORT, bad_id)
        item_refs.require_thread_context(anyone, ThreadContext.CUSTOMER_COACH, None)
