"""The automation rule editor's pages and JSON endpoints, on SQLite and PostgreSQL, signed in as each role.

Who may open and change what (Admin and Manager write, a Coach reads the rules that can touch their
customers and cannot write, Support and Compliance are refused, anonymous is sent to sign in); a save
versions the rule and is audited; a draft the rule service refuses is a 422 naming the widget's path;
malformed or wrongly typed input is a 400 with a message that changes nothing; the lifecycle follows
``rules.TRANSITIONS``; the rule list links to the editor and says each rule in words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.automation import AutomationRule, AutomationRuleVersion, RuleStatus
from app.models.compliance import AuditLog
from app.models.identity import RoleCode
from tests.support.automation_editor_support import (
    Clients,
    draft_json,
    platform_id,
    rule_row,
    save_rule,
    signed_in,
)
from tests.support.plan_support import make_customer, make_user

API = "/automation/rules/api"
WRITERS = ("Admin", "Manager")


@pytest.fixture
def web(app: Flask, accounts: dict) -> Iterator[Clients]:
    del accounts  # the console accounts signed_in signs in with
    yield signed_in(app)


def counts(app: Flask) -> tuple[int, int, int]:
    """Rules, rule versions and the sum of their versions: what a refused request must leave as it was."""
    with app.app_context():
        rules_n = db.session.scalar(sa.select(sa.func.count()).select_from(AutomationRule))
        versions = db.session.scalar(sa.select(sa.func.count()).select_from(AutomationRuleVersion))
        total = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(AutomationRule.version), 0)))
        return rules_n, versions, total


def refused(app: Flask, before: tuple, resp, status: int = 400) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:400])
    body = resp.get_json()
    assert body["error"], body
    assert counts(app) == before
    return body


def page_json(html: str, element_id: str) -> dict:
    return json.loads(html.split(f'id="{element_id}">', 1)[1].split("</script>", 1)[0])


def saved_rule(app: Flask, **changes) -> int:
    with app.app_context():
        return save_rule(**changes)


# --- pages ------------------------------------------------------------------------------------------------------


def test_the_new_rule_page_is_for_writers_only(app: Flask, web: Clients) -> None:
    for role in WRITERS:
        resp = web.clients[role].get("/automation/rules/new")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200, role
        assert "coachdesk/automation_editor.js" in html and 'id="cd-re-save"' in html
        catalogue = page_json(html, "cd-re-catalogue")
        assert {t["value"] for t in catalogue["triggers"]} == {"EVENT", "SCHEDULE", "METRIC_THRESHOLD",
                                                               "INACTIVITY", "PAYMENT_FAILED"}  # fmt: skip
        assert page_json(html, "cd-re-config")["rule"] is None
        assert page_json(html, "cd-re-strings")["add_comparison"]
    for role in ("Coach", "Support", "Compliance"):
        assert web.clients[role].get("/automation/rules/new").status_code == 403, role
    anonymous = web.clients[None].get("/automation/rules/new")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_a_rule_page_is_read_write_for_writers_read_only_for_a_coach_in_scope_and_404_outside(
    app: Flask, web: Clients
) -> None:
    rule_id = saved_rule(app)
    with app.app_context():
        other = make_user("Coach Bee", RoleCode.COACH)
        db.session.commit()
        theirs = save_rule(name="Bee's customers only", coach_id=str(other.id))
    for role in WRITERS:
        html = web.clients[role].get(f"/automation/rules/{rule_id}").get_data(as_text=True)
        config = page_json(html, "cd-re-config")
        assert config["can_write"] is True and config["rule"]["version"] == 1
        assert config["draft"]["condition"] == draft_json()["condition"]
        assert [t["to"] for t in config["rule"]["transitions"]] == ["ACTIVE", "ARCHIVED"]
        assert config["rule"]["runs_url"] == f"/automation-executions/list/?f_rule={rule_id}"
        assert web.clients[role].get(f"/automation/rules/{theirs}").status_code == 200
    coach = web.clients["Coach"].get(f"/automation/rules/{rule_id}")
    html = coach.get_data(as_text=True)
    assert coach.status_code == 200
    assert 'id="cd-re-save"' not in html and 'id="cd-re-transitions"' not in html
    assert page_json(html, "cd-re-config")["can_write"] is False
    assert web.clients["Coach"].get(f"/automation/rules/{theirs}").status_code == 404  # another coach's rule
    assert web.clients["Admin"].get("/automation/rules/987654321").status_code == 404
    for role in ("Support", "Compliance"):
        assert web.clients[role].get(f"/automation/rules/{rule_id}").status_code == 403
    anonymous = web.clients[None].get(f"/automation/rules/{rule_id}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_the_rule_list_links_names_to_the_editor_and_says_rules_in_words(app: Flask, web: Clients) -> None:
    rule_id = saved_rule(app, name="Card <b>failures</b>")
    html = web.clients["Manager"].get("/automation-rules/list/").get_data(as_text=True)
    assert f'<a href="/automation/rules/{rule_id}">Card &lt;b&gt;failures&lt;/b&gt;</a>' in html
    assert "When an event happens: Payment failed" in html and "draft" in html
    for header in ("Trigger", "Status", "Version", "Failures in a row", "Updated"):
        assert re.search(rf">{header}\s*<", html), header
    add = web.clients["Manager"].get("/automation-rules/add")
    assert add.status_code == 302 and add.headers["Location"].endswith("/automation/rules/new")
    edit = web.clients["Manager"].get(f"/automation-rules/edit/{rule_id}")
    assert edit.status_code == 302 and edit.headers["Location"].endswith(f"/automation/rules/{rule_id}")
    assert web.clients["Manager"].get("/automation-rules/edit/x1").status_code == 404
    assert web.clients["Coach"].get("/automation-rules/add").status_code == 403
    assert web.clients["Manager"].get(f"/automation-rules/show/{rule_id}").status_code == 200
    show = web.clients["Coach"].get(f"/automation-rules/show/{rule_id}").get_data(as_text=True)
    assert "Amount greater than 100 and (Payment method is Card or Currency is one of" in show
    assert "1. Add to a segment" in show and "Condition (JSON)" not in show and '"field"' not in show


# --- the catalogue and the check ----------------------------------------------------------------------------------


def test_the_catalogue_offers_each_trigger_its_own_fields_and_operators_by_kind(app: Flask, web: Clients) -> None:
    resp = web.get("Coach", f"{API}/catalogue")
    assert resp.status_code == 200
    data = resp.get_json()
    payment = next(e for e in data["events"] if e["name"] == "payment.failed")
    fields = {f["name"]: f for f in payment["fields"]}
    assert fields["method"]["kind"] == "enum" and {"value": "CARD", "label": "Card"} in fields["method"]["choices"]
    assert fields["amount"]["kind"] == "number" and "session_id" not in fields
    assert data["operators"]["by_kind"]["enum"] == ["eq", "ne", "in", "exists"]
    assert data["operators"]["labels"]["gt"] == "greater than" and data["operators"]["date_labels"]["lt"] == "before"
    fixed = {t["value"]: t["fixed_event"] for t in data["triggers"]}
    assert fixed["PAYMENT_FAILED"] == "payment.failed" and fixed["METRIC_THRESHOLD"] == "progress.metric_recorded"
    assert fixed["EVENT"] is None and "Europe/Madrid" in data["zones"]
    assert "SEGMENT" not in {a["code"] for a in data["actions"]}
    assert {a["code"] for a in data["actions"]} >= {"ADD_TO_SEGMENT"}
    assert [t["to"] for t in data["transitions"]["ARCHIVED"]] == ["DRAFT"]
    assert web.get("Support", f"{API}/catalogue").status_code == 403
    assert web.get(None, f"{API}/catalogue").status_code == 401


def test_check_names_each_problem_by_its_path_and_says_the_condition_in_words(app: Flask, web: Clients) -> None:
    good = web.post("Manager", f"{API}/check", {"draft": draft_json()}).get_json()
    assert good["problems"] == [] and good["next_fires"] == []
    assert good["condition_text"].startswith("Amount greater than 100 and (")
    bad = draft_json(
        condition={
            "all": [
                {"field": "amount", "op": "gt", "value": 1},
                {"field": "session_id", "op": "eq", "value": 3},
                {"field": "method", "op": "eq", "value": "CHEQUE"},
            ]
        },
        actions=[{"type": "ADD_TO_SEGMENT", "params": {}}],
    )
    data = web.post("Coach", f"{API}/check", {"draft": bad}).get_json()  # checking changes nothing: read access
    paths = [p["path"] for p in data["problems"]]
    assert "condition.all[1].field" in paths and "condition.all[2].value" in paths
    assert "actions[0].params.segment" in paths and data["condition_text"] is None


def test_check_shows_a_schedules_next_three_runs_in_its_zone(app: Flask, web: Clients) -> None:
    draft = draft_json(trigger_type="SCHEDULE", trigger_event=None, schedule_cron="0 8 * * 1",
                       schedule_timezone="Europe/Madrid", condition=None)  # fmt: skip
    data = web.post("Manager", f"{API}/check", {"draft": draft}).get_json()
    assert data["problems"] == [] and len(data["next_fires"]) == 3
    assert all(t.startswith("Mon ") and "08:00 (Europe/Madrid)" in t for t in data["next_fires"])
    broken = web.post("Manager", f"{API}/check", {"draft": {**draft, "schedule_cron": "every day"}}).get_json()
    assert broken["next_fires"] == [] and [p["path"] for p in broken["problems"]] == ["schedule_cron"]


# --- saving -------------------------------------------------------------------------------------------------------


def test_a_save_creates_version_1_then_a_change_bumps_it_with_a_version_row_and_an_audit_row(
    app: Flask, web: Clients
) -> None:
    with app.app_context():
        audit_before = db.session.scalar(
            sa.select(sa.func.count()).select_from(AuditLog).where(AuditLog.resource_type == "automation_rules")
        )
    created = web.post("Manager", f"{API}/", {"draft": draft_json()})
    assert created.status_code == 201, created.get_data(as_text=True)
    doc = created.get_json()["rule"]
    assert doc["version"] == 1 and doc["status"] == "DRAFT" and doc["url"] == f"/automation/rules/{doc['id']}"
    changed = draft_json(frequency="ONCE_PER_PERIOD", frequency_days=7, quiet_start="21:00", quiet_end="08:00")
    updated = web.send("Manager", "PUT", f"{API}/{doc['id']}", {"draft": changed, "version": 1})
    assert updated.status_code == 200 and updated.get_json()["rule"]["version"] == 2
    again = web.send("Admin", "PUT", f"{API}/{doc['id']}", {"draft": changed, "version": 2})
    assert again.get_json()["rule"]["version"] == 2  # nothing changed, no new version
    with app.app_context():
        rule = rule_row(doc["id"])
        assert rule.created_by == platform_id("manager") and rule.frequency_days == 7
        assert rule.condition_json == draft_json()["condition"]
        versions = db.session.scalars(
            sa.select(AutomationRuleVersion).where(AutomationRuleVersion.rule_id == doc["id"])
            .order_by(AutomationRuleVersion.version)
        ).all()  # fmt: skip
        assert [(v.version, v.definition["frequency"]) for v in versions] == [(1, "EVERY_TIME"), (2, "ONCE_PER_PERIOD")]
        audits = db.session.scalars(
            sa.select(AuditLog).where(
                AuditLog.resource_type == "automation_rules", AuditLog.resource_id == str(doc["id"])
            )
        ).all()
        assert len(audits) >= 2 and audits[0].actor_id == platform_id("manager")
        total = db.session.scalar(
            sa.select(sa.func.count()).select_from(AuditLog).where(AuditLog.resource_type == "automation_rules")
        )
        assert total >= audit_before + 2


def test_a_stale_version_is_409_and_changes_nothing(app: Flask, web: Clients) -> None:
    rule_id = saved_rule(app)
    before = counts(app)
    resp = web.send("Manager", "PUT", f"{API}/{rule_id}", {"draft": draft_json(name="Renamed"), "version": 7})
    body = refused(app, before, resp, 409)
    assert body["code"] == "stale" and body["version"] == 1


def test_a_condition_naming_a_field_the_trigger_lacks_is_422_with_its_path(app: Flask, web: Clients) -> None:
    rule_id = saved_rule(app)
    before = counts(app)
    bad = draft_json(condition={"all": [{"field": "amount", "op": "gt", "value": 1},
                                        {"not": {"field": "plan_id", "op": "eq", "value": 4}}]})  # fmt: skip
    for resp in (web.post("Manager", f"{API}/", {"draft": bad}),
                 web.send("Admin", "PUT", f"{API}/{rule_id}", {"draft": bad})):  # fmt: skip
        body = refused(app, before, resp, 422)
        assert {"path": "condition.all[1].not.field", "message": "This trigger has no field “plan_id”."} in body[
            "problems"
        ]


def test_a_coach_scope_must_be_a_real_coach(app: Flask, web: Clients) -> None:
    with app.app_context():
        customer = make_customer("Cleo")
        coach = make_user("Coach Dee", RoleCode.COACH)
        db.session.commit()
        coach_id = str(coach.id)
    before = counts(app)
    for wrong in (str(customer), "00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        resp = web.post("Manager", f"{API}/", {"draft": draft_json(coach_id=wrong)})
        assert [p["path"] for p in refused(app, before, resp, 422)["problems"]] == ["coach_id"]
    ok = web.post("Manager", f"{API}/", {"draft": draft_json(coach_id=coach_id)})
    assert ok.status_code == 201 and ok.get_json()["rule"]["draft"]["coach_id"] == coach_id


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        "[1, 2]",
        '{"draft": [1]}',
        '{"draft": {"name": 5, "trigger_type": "EVENT"}}',
        '{"draft": {"name": "x", "trigger_type": "EVENT", "actions": {"type": "ADD_TO_SEGMENT"}}}',
        '{"draft": {"name": "x", "trigger_type": "EVENT", "actions": [{"type": "ADD_TO_SEGMENT", "params": [1]}]}}',
        '{"draft": {"name": "x", "trigger_type": "EVENT", "actions": [{"type": 3}]}}',
        '{"draft": {"name": "x", "trigger_type": "INACTIVITY", "inactivity_days": "14"}}',
        '{"draft": {"name": "x", "trigger_type": "INACTIVITY", "inactivity_days": 14.5}}',
        '{"draft": {"name": "x", "trigger_type": "EVENT", "frequency_days": true}}',
        '{"draft": {"name": "x", "trigger_type": "EVENT", "condition": [1]}}',
        '{"draft": {"name": "x", "trigger_type": "EVENT", "sql": "DROP TABLE users"}}',
        '{"draft": {"name": "x\\u0000y", "trigger_type": "EVENT"}}',
        '{"draft": {"name": "x", "trigger_type": "EVENT", "frequency_days": 1' + "0" * 5000 + "}}",
    ],
)
def test_malformed_json_and_wrong_types_are_400_with_a_message(app: Flask, web: Clients, raw: str) -> None:
    rule_id = saved_rule(app)
    before = counts(app)
    for method, url in (("POST", f"{API}/"), ("PUT", f"{API}/{rule_id}"), ("POST", f"{API}/check")):
        refused(app, before, web.send("Manager", method, url, raw=raw), 400)


def test_huge_numbers_are_refused_without_a_server_error(app: Flask, web: Clients) -> None:
    before = counts(app)
    huge = draft_json(trigger_type="INACTIVITY", trigger_event=None, condition=None, inactivity_days=10**30)
    body = refused(app, before, web.post("Manager", f"{API}/", {"draft": huge}), 422)
    assert [p["path"] for p in body["problems"]] == ["inactivity_days"]
    infinite = '{"draft": ' + json.dumps(draft_json()).replace('"value": 100', '"value": 1e999') + "}"
    body = refused(app, before, web.send("Manager", "POST", f"{API}/", raw=infinite), 422)
    assert [p["path"] for p in body["problems"]] == ["condition.all[0].value"]


def test_writes_need_the_write_grant_and_a_csrf_token(app: Flask, web: Clients) -> None:
    rule_id = saved_rule(app)
    before = counts(app)
    for role in ("Coach", "Support", "Compliance"):
        assert web.post(role, f"{API}/", {"draft": draft_json()}).status_code == 403, role
        assert web.send(role, "PUT", f"{API}/{rule_id}", {"draft": draft_json(name="x")}).status_code == 403, role
        assert web.post(role, f"{API}/{rule_id}/status", {"to": "ACTIVE"}).status_code == 403, role
    assert web.post(None, f"{API}/", {"draft": draft_json()}).status_code == 401
    no_token = web.post("Manager", f"{API}/", {"draft": draft_json()}, csrf=False)
    assert no_token.status_code == 400
    assert web.send("Manager", "PUT", f"{API}/987654321", {"draft": draft_json()}).status_code == 404
    assert counts(app) == before
    with app.app_context():
        assert rule_row(rule_id).status == RuleStatus.DRAFT


# --- the lifecycle ------------------------------------------------------------------------------------------------


def test_status_follows_the_lifecycle_and_refuses_other_steps(app: Flask, web: Clients) -> None:
    rule_id = saved_rule(app)
    url = f"{API}/{rule_id}/status"
    steps = [("ACTIVE", 200, "ACTIVE"), ("DRAFT", 409, "ACTIVE"), ("PAUSED", 200, "PAUSED"),
             ("ACTIVE", 200, "ACTIVE"), ("ARCHIVED", 200, "ARCHIVED"), ("ACTIVE", 409, "ARCHIVED"),
             ("DRAFT", 200, "DRAFT")]  # fmt: skip
    for target, status, after in steps:
        resp = web.post("Manager", url, {"to": target})
        assert resp.status_code == status, (target, resp.get_json())
        if status == 200:
            doc = resp.get_json()["rule"]
            assert doc["status"] == after and doc["status_label"]
        else:
            assert resp.get_json()["problems"][0]["path"] == "status"
        with app.app_context():
            assert rule_row(rule_id).status == RuleStatus(after)
    for bad in ({"to": "DELETED"}, {"to": 3}, {}):
        assert web.post("Manager", url, bad).status_code == 400
    assert web.post("Manager", f"{API}/987654321/status", {"to": "ACTIVE"}).status_code == 404


def test_activating_a_rule_its_trigger_no_longer_fits_is_422_and_a_paused_reason_is_on_its_page(
    app: Flask, web: Clients
) -> None:
    rule_id = saved_rule(app)
    with app.app_context():
        rule = rule_row(rule_id)
        rule.condition_json = {"field": "gone", "op": "eq", "value": 1}
        db.session.commit()
    resp = web.post("Manager", f"{API}/{rule_id}/status", {"to": "ACTIVE"})
    assert resp.status_code == 422 and resp.get_json()["problems"][0]["path"] == "condition.field"
    with app.app_context():
        rule = rule_row(rule_id)
        assert rule.status == RuleStatus.DRAFT
        rule.condition_json = None
        rule.status, rule.failure_streak = RuleStatus.PAUSED, 5
        rule.paused_reason = "Paused by the engine after 5 failed executions in a row. Last error: timeout"
        db.session.commit()
    html = web.clients["Coach"].get(f"/automation/rules/{rule_id}").get_data(as_text=True)
    doc = page_json(html, "cd-re-config")["rule"]
    assert doc["paused_reason"].startswith("Paused by the engine after 5") and doc["failure_streak"] == 5
    assert [t["to"] for t in doc["transitions"]] == ["ACTIVE", "ARCHIVED"]
    assert [t["label"] for t in doc["transitions"]] == ["Resume", "Archive"]


# --- previews and the dry run -------------------------------------------------------------------------------------


def test_customers_to_preview_with_are_the_viewers_own(app: Flask, web: Clients) -> None:
    with app.app_context():
        mine = make_customer("Ana Mine", coach_id=platform_id("coach"))
        make_customer("Bob Other")
    coach = web.get("Coach", f"{API}/customers", query_string={"q": ""}).get_json()
    assert [c["id"] for c in coach] == [str(mine)]
    staff = web.get("Manager", f"{API}/customers", query_string={"q": "bob"}).get_json()
    assert {c["text"].split(" <")[0] for c in staff} == {"Bob Other"}
    assert web.get("Support", f"{API}/customers").status_code == 403


def test_an_action_preview_runs_for_a_customer_in_scope_and_changes_nothing(app: Flask, web: Clients) -> None:
    with app.app_context():
        mine = str(make_customer("Ana Mine", coach_id=platform_id("coach")))
        other = str(make_customer("Bob Other"))
    action = {"type": "ADD_TO_SEGMENT", "params": {"segment": "vip"}}
    body = {"action": action, "step": 0, "customer_id": mine, "trigger_event": "payment.failed"}
    before = counts(app)
    for role in ("Coach", "Manager"):
        resp = web.post(role, f"{API}/preview-action", body)
        assert resp.status_code == 200, resp.get_json()
        assert "vip" in resp.get_json()["preview"]
    assert web.post("Coach", f"{API}/preview-action", {**body, "customer_id": other}).status_code == 400
    bad = web.post("Manager", f"{API}/preview-action", {**body, "action": {"type": "ADD_TO_SEGMENT", "params": {}}})
    assert bad.status_code == 422 and bad.get_json()["problems"][0]["path"] == "actions[0].params.segment"
    unknown = web.post("Manager", f"{API}/preview-action", {**body, "action": {"type": "LAUNCH", "params": {}}})
    assert unknown.status_code == 422
    assert web.post("Manager", f"{API}/preview-action", {**body, "step": -1}).status_code == 400
    assert web.post("Support", f"{API}/preview-action", body).status_code == 403
    assert counts(app) == before


@pytest.mark.parametrize("days", [0, 91, -5, "30", True, 3.5, 10**30, None])
def test_a_dry_run_refuses_a_window_outside_1_to_90_days(app: Flask, web: Clients, days) -> None:
    before = counts(app)
    for role in ("Manager", "Coach"):  # a coach may test rules on their own customers
        body = refused(app, before, web.post(role, f"{API}/dry-run", {"draft": draft_json(), "days": days}), 400)
        assert body["field"] == "days" and "days" in body["error"]


def test_a_dry_run_refuses_a_malformed_body_and_roles_without_read(app: Flask, web: Clients) -> None:
    before = counts(app)
    body = refused(app, before, web.send("Manager", "POST", f"{API}/dry-run", raw="{oops"), 400)
    assert "not valid JSON" in body["error"]
    refused(app, before, web.post("Manager", f"{API}/dry-run", {"days": 30}), 400)
    refused(app, before, web.post("Manager", f"{API}/dry-run", {"draft": {"name": 1}, "days": 30}), 400)
    refused(app, before, web.post("Manager", f"{API}/dry-run", {"draft": draft_json()}, csrf=False), 400)
    unsound = draft_json(condition={"field": "nope", "op": "eq", "value": 1})
    body = refused(app, before, web.post("Coach", f"{API}/dry-run", {"draft": unsound, "days": 30}), 422)
    assert [p["path"] for p in body["problems"]] == ["condition.field"]
    # A saved rule's previews name it: one the reader may see, by its id.
    for rule_id, status in ((987654321, 404), ("7", 400), (0, 400)):
        body = {"draft": draft_json(), "days": 30, "rule_id": rule_id}
        refused(app, before, web.post("Manager", f"{API}/dry-run", body), status)
    for role in ("Support", "Compliance"):
        assert web.post(role, f"{API}/dry-run", {"draft": draft_json(), "days": 30}).status_code == 403
    assert web.post(None, f"{API}/dry-run", {"draft": draft_json(), "days": 30}).status_code == 401


def test_the_page_speaks_the_readers_language(app: Flask, web: Clients) -> None:
    client = web.clients["Manager"]
    client.post("/lang/de", data={"csrf_token": web.tokens["Manager"]})
    html = client.get("/automation/rules/new").get_data(as_text=True)
    catalogue = page_json(html, "cd-re-catalogue")
    labels = {e["name"]: e["label"] for e in catalogue["events"]}
    assert labels["payment.failed"] != "Payment failed"  # the events catalogue is translated already
