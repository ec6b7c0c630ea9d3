"""*_json columns as forms generated from their JSON Schema: what a submission saves, what it refuses, the
raw-JSON toggle (Admin only), and the value shown as labelled fields on the show page."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.commerce import Product
from app.models.customers import Assessment, CustomerProfile
from app.models.engagement import Challenge
from app.models.identity import Consent, PlatformUser
from app.models.training import Badge, Habit, Meal, Program, ProgramItem
from tests.support.apps import make_accounts
from tests.support.web import login, session_csrf
from tests.support.world import make_world, pk_of

ERROR_RE = re.compile(r'class="help-block cd-json-error">([^<]*)<')


@pytest.fixture
def world(sqlite_app: Flask) -> dict[type, str]:
    accounts = make_accounts(sqlite_app)
    with sqlite_app.app_context():
        rows = make_world("coach@coachdesk.test", tag="j")
        ids = {model: str(pk_of(row)) for model, row in rows.items()}
        newcomer = PlatformUser(email="newcomer@example.test", full_name="New Comer", locale="en")
        db.session.add(newcomer)
        db.session.flush()
        ids["newcomer"] = str(newcomer.id)  # type: ignore[index]
        db.session.commit()
    ids["password"] = accounts  # type: ignore[index]
    return ids


def _signed_in(app: Flask, world: dict, role: str) -> tuple[Any, str]:
    account = world["password"][role]
    client = app.test_client()
    login(client, account.username, account.password)
    return client, session_csrf(app, client)


def _rows(app: Flask, model: type) -> list[Any]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(model).order_by(*sa.inspect(model).primary_key)))
        db.session.expunge_all()
        return rows


def _pk(row: Any) -> str:
    return str(sa.inspect(row).identity[0])


def _cases(world: dict[type, str]) -> list[tuple[str, type, str, dict, dict, dict, str]]:
    """(add url, model, column, other fields, valid inputs, the JSON they make, invalid inputs -> error)."""
    user = world[PlatformUser]
    return [
        ("/meals/add", Meal, "macros_json", {"name": "Porridge"},
         {"kcal": "350", "protein_g": "12.5", "fat_g": ""}, {"kcal": 350, "protein_g": 12.5},
         {"kcal": "", "protein_g": "2000"}),
        ("/program-items/add", ProgramItem, "prescription_json",
         {"program": world[Program], "week_index": "0", "day_index": "1", "order_index": "0", "item_type": "HABIT",
          "item_id": world[Habit]},
         {"target": "8000", "frequency": "DAILY", "notes": "Walk"},
         {"target": 8000, "frequency": "DAILY", "notes": "Walk"},
         {"sets": "2.5", "frequency": "HOURLY"}),
        ("/badges/add", Badge, "criteria_json", {"code": "TEN_DAYS", "name": "Ten days"},
         {"kind": "STREAK", "threshold": "10", "window_days": "30"},
         {"kind": "STREAK", "threshold": 10, "window_days": 30},
         {"kind": "METRIC_AVERAGE", "threshold": "5"}),
        ("/challenges/add", Challenge, "rules_json",
         {"name": "Steps", "start_date": "2026-05-01", "end_date": "2026-05-31"},
         {"metric": "STEPS", "aggregation": "SUM", "target": "100000", "team_size": "3"},
         {"metric": "STEPS", "aggregation": "SUM", "target": 100000, "team_size": 3},
         {"metric": "STEPS", "team_size": "0"}),
        ("/products/add", Product, "metadata_json",
         {"name": "Gold", "category": "COACHING", "price": "99.00", "currency": "EUR"},
         {"features": "Weekly call\nChat, any day\n", "trial_days": "14", "sku": "GOLD-1",
          "__extra": '{"tier": "gold"}'},
         {"features": ["Weekly call", "Chat, any day"], "trial_days": 14, "sku": "GOLD-1", "tier": "gold"},
         {"trial_days": "400", "__extra": "[1, 2]"}),
        ("/consents/add", Consent, "metadata_json", {"user": user, "consent_type": "marketing"},
         {"source": "signup form", "channel": "WEB"}, {"source": "signup form", "channel": "WEB"},
         {"channel": "FAX", "source": "x" * 101}),
        ("/customer-profiles/add", CustomerProfile, "goals_json",
         {"user": world["newcomer"], "timezone": "Europe/Madrid"},
         {"primary": "LOSE_WEIGHT", "secondary": "sleep better\nrun 5k", "target_weight_kg": "72.5",
          "weekly_sessions": "3"},
         {"primary": "LOSE_WEIGHT", "secondary": ["sleep better", "run 5k"], "target_weight_kg": 72.5,
          "weekly_sessions": 3},
         {"weekly_sessions": "three", "target_weight_kg": "10"}),
    ]  # fmt: skip


def _post(client: Any, token: str, url: str, column: str, other: dict, inputs: dict) -> Any:
    data = {"csrf_token": token, **other, f"{column}.__present": "1"}
    data |= {f"{column}.{key}": value for key, value in inputs.items()}
    return client.post(url, data=data)


def test_each_json_form_saves_the_json_its_schema_expects_and_refuses_bad_values(
    sqlite_app: Flask, world: dict
) -> None:
    client, token = _signed_in(sqlite_app, world, "Admin")
    for url, model, column, other, good, expected, bad in _cases(world):
        before = _rows(sqlite_app, model)
        page = _post(client, token, url, column, other, bad)
        assert page.status_code == 200, url
        errors = [html_lib.unescape(e) for e in ERROR_RE.findall(page.get_data(as_text=True))]
        assert len(errors) >= 2 and "Check the values marked below." in page.get_data(as_text=True), (url, errors)
        assert len(_rows(sqlite_app, model)) == len(before), f"{url} saved an invalid value"

        saved = _post(client, token, url, column, other, good)
        assert saved.status_code == 302, (url, ERROR_RE.findall(saved.get_data(as_text=True)))
        known = {_pk(r) for r in before}
        added = [r for r in _rows(sqlite_app, model) if _pk(r) not in known]
        assert len(added) == 1, url
        row = added[0]
        assert getattr(row, column) == expected, url

        # The edit form shows the stored values in their inputs, and the show page as labelled fields.
        edit = client.get(url.replace("/add", f"/edit/{_pk(row)}")).get_data(as_text=True)
        first_key, first_value = next((k, v) for k, v in good.items() if v and not k.startswith("__"))
        assert f'name="{column}.{first_key}"' in edit
        show = client.get(url.replace("/add", f"/show/{_pk(row)}")).get_data(as_text=True)
        assert "cd-json-dl" in show and "{&#34;" not in show and '{"' not in show.split("cd-json-dl", 1)[1][:500]


def test_the_messages_name_the_problem_of_each_input(sqlite_app: Flask, world: dict) -> None:
    client, token = _signed_in(sqlite_app, world, "Admin")
    page = _post(client, token, "/meals/add", "macros_json", {"name": "Soup"}, {"kcal": "lots", "fat_g": "-1"})
    text = page.get_data(as_text=True)
    kcal = re.search(r'data-kind="number">\s*<label class="control-label" for="macros_json-kcal">.*?</div>', text, re.S)
    fat = re.search(r'for="macros_json-fat_g">.*?</div>', text, re.S)
    assert kcal and "Enter a number." in kcal.group(0) and 'value="lots"' in kcal.group(0)
    assert fat and "Must be at least 0." in fat.group(0)
    assert [m for m in _rows(sqlite_app, Meal) if m.name == "Soup"] == []
    # An optional JSON column left blank stores nothing (not an empty object).
    assert _post(client, token, "/meals/add", "macros_json", {"name": "Water"}, {}).status_code == 302
    assert [m.macros_json for m in _rows(sqlite_app, Meal) if m.name == "Water"] == [None]
    # Editing: the stored values fill the inputs, and a change replaces the JSON.
    (water,) = [m for m in _rows(sqlite_app, Meal) if m.name == "Water"]
    edit = f"/meals/edit/{water.id}"
    assert _post(client, token, edit, "macros_json", {"name": "Water"}, {"kcal": "0"}).status_code == 302
    page = client.get(edit).get_data(as_text=True)
    assert re.search(r'name="macros_json.kcal" type="number" class="form-control" value="0"', page)
    assert (
        _post(client, token, edit, "macros_json", {"name": "Water"}, {"kcal": "1", "fiber_g": "0.5"}).status_code == 302
    )
    assert [m.macros_json for m in _rows(sqlite_app, Meal) if m.name == "Water"] == [{"kcal": 1, "fiber_g": 0.5}]


def test_only_an_admin_gets_the_raw_json_toggle_and_it_saves_checked_json(sqlite_app: Flask, world: dict) -> None:
    admin, token = _signed_in(sqlite_app, world, "Admin")
    page = admin.get("/badges/add").get_data(as_text=True)
    assert 'class="cd-json-raw"' in page and 'name="criteria_json.__raw"' in page
    raw = {"csrf_token": token, "code": "RAW", "name": "Raw", "criteria_json.__present": "1",
           "criteria_json.kind": "STREAK", "criteria_json.__use_raw": "1"}  # fmt: skip
    refused = admin.post("/badges/add", data={**raw, "criteria_json.__raw": '{"kind": "STREAK"}'})
    assert refused.status_code == 200 and "Required." in refused.get_data(as_text=True)
    assert admin.post("/badges/add", data={**raw, "criteria_json.__raw": '{"kind": "MANUAL"}'}).status_code == 302
    assert [b.criteria_json for b in _rows(sqlite_app, Badge) if b.code == "RAW"] == [{"kind": "MANUAL"}]

    for role in ("Manager",):  # Badges: Admin and Manager write them
        client, other_token = _signed_in(sqlite_app, world, role)
        page = client.get("/badges/add")
        assert page.status_code == 200 and 'name="criteria_json.kind"' in page.get_data(as_text=True)
        assert "cd-json-raw" not in page.get_data(as_text=True) and "__raw" not in page.get_data(as_text=True)
        # Ticking the toggle by hand does not make the fields' values go away for someone who is not Admin.
        sent = {**raw, "csrf_token": other_token, "code": f"R-{role}", "criteria_json.__raw": '{"kind": "MANUAL"}'}
        resp = client.post("/badges/add", data=sent)
        if resp.status_code == 302:
            saved = [b.criteria_json for b in _rows(sqlite_app, Badge) if b.code == f"R-{role}"]
            assert saved == [], "a non-Admin's raw JSON was used"
        else:
            assert "Required." in resp.get_data(as_text=True)  # kind STREAK without a threshold


def test_a_schema_with_no_form_stays_a_json_textarea_with_its_errors(sqlite_app: Flask, world: dict) -> None:
    client, token = _signed_in(sqlite_app, world, "Admin")
    user = world[PlatformUser]
    form = {"csrf_token": token, "user": user, "questionnaire_version": "form-v2", "score": "3"}
    page = client.get("/assessments/add").get_data(as_text=True)
    assert 'name="responses_json"' in page and "cd-json-form" not in page
    bad = client.post("/assessments/add", data={**form, "responses_json": '{"bad key!": 1}'})
    assert bad.status_code == 200 and "assessments.responses_json" in bad.get_data(as_text=True)
    assert [a for a in _rows(sqlite_app, Assessment) if a.questionnaire_version == "form-v2"] == []
    before = len(_rows(sqlite_app, Assessment))
    good = client.post("/assessments/add", data={**form, "responses_json": '{"sleep": 7, "mood": "ok"}'})
    assert good.status_code == 302
    saved = [a.responses_json for a in _rows(sqlite_app, Assessment) if a.questionnaire_version == "form-v2"]
    assert saved == [{"sleep": 7, "mood": "ok"}] and len(_rows(sqlite_app, Assessment)) == before + 1
