"""REST resources /metrics, /tickets and /threads: scope per client subject, idempotent ingest, bad input."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.analytics import ProgressMetric
from app.models.engagement import Message, Thread, ThreadContext
from app.models.identity import RoleCode
from app.services.engagement.messages import NOTES_CONTEXT
from tests.support.api_support import bearer, make_api_client
from tests.support.plan_support import make_customer, make_user

BASE = "/api/v1"
PROBLEM = "application/problem+json"


def problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == PROBLEM
    return resp.get_json()


def reading(n: int, **changes) -> dict:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(hours=n + 1)
    item = {
        "metric_type": "weight",
        "value": 70 + n,
        "unit": "kg",
        "recorded_at": when.isoformat(),
        "client_key": f"r{n}",
    }
    return {**item, **changes}


@pytest.fixture
def world(app):
    """A coach with a customer, a customer of another coach, a thread each, and keys for every subject."""
    with app.app_context():
        coach = make_user("Coach A", RoleCode.COACH).id
        other_coach = make_user("Coach B", RoleCode.COACH).id
        db.session.commit()
        cara = make_customer("Cara", coach_id=coach)
        dan = make_customer("Dan", coach_id=other_coach)
        threads = {}
        for name, customer, owner, context in (
            ("cara", cara, coach, None), ("notes", cara, coach, NOTES_CONTEXT), ("dan", dan, other_coach, None),
        ):  # fmt: skip
            thread = Thread(subject="Talk", context_type=ThreadContext.CUSTOMER_COACH, customer_id=customer,
                            coach_id=owner, context_id=context)  # fmt: skip
            db.session.add(thread)
            db.session.flush()
            threads[name] = thread.id
        db.session.commit()
        scopes = "metrics:read metrics:write tickets:read tickets:write messages:read messages:write"
        return {
            "coach": coach, "cara": cara, "dan": dan, "threads": threads,
            "cara_app": make_api_client(scopes, customer_id=cara)[1],
            "dan_app": make_api_client(scopes, customer_id=dan)[1],
            "coach_app": make_api_client(scopes, coach_id=coach)[1],
            "partner": make_api_client(scopes)[1],
        }  # fmt: skip


# --- metrics -----------------------------------------------------------------------------------


def test_a_customer_app_records_its_own_readings_idempotently(app, world) -> None:
    client = app.test_client()
    key = bearer(world["cara_app"])
    first = client.post(f"{BASE}/metrics", json=reading(1), headers=key)
    assert first.status_code == 201, first.get_data(as_text=True)
    body = first.get_json()
    assert body["customer_id"] == str(world["cara"]) and body["value"] == 71 and first.headers["ETag"]
    again = client.post(f"{BASE}/metrics", json=reading(1), headers=key)
    assert again.status_code == 200 and again.get_json()["id"] == body["id"]
    # Naming another customer is refused as unknown: nothing is written for them.
    errors = problem(client.post(f"{BASE}/metrics", json=reading(2, customer_id=str(world["dan"])), headers=key), 422)
    assert "customer_id" in errors["errors"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProgressMetric)) == 1


def test_batch_per_item_results_and_retry(app, world) -> None:
    client = app.test_client()
    key = bearer(world["coach_app"])
    items = [reading(n, customer_id=str(world["cara"])) for n in range(3)]
    items.append(reading(3, customer_id=str(world["dan"])))  # not the coach's customer
    items.append(reading(4, customer_id=str(world["cara"]), value="heavy"))
    resp = client.post(f"{BASE}/metrics/batch", json={"items": items}, headers=key)
    assert resp.status_code == 207, resp.get_data(as_text=True)
    body = resp.get_json()
    assert (body["created"], body["duplicates"], body["errors"]) == (3, 0, 2)
    assert [r["status"] for r in body["items"]] == ["created"] * 3 + ["error"] * 2
    assert body["items"][3]["errors"] == {"customer_id": [body["items"][3]["errors"]["customer_id"][0]]}
    assert "value" in body["items"][4]["errors"]
    retry = client.post(f"{BASE}/metrics/batch", json={"items": items[:3]}, headers=key)
    assert retry.status_code == 200
    assert [r["status"] for r in retry.get_json()["items"]] == ["duplicate"] * 3
    assert [r["id"] for r in retry.get_json()["items"]] == [r["id"] for r in body["items"][:3]]


def test_metric_lists_are_scoped_and_filtered(app, world) -> None:
    client = app.test_client()
    for app_key in ("cara_app", "dan_app"):
        items = [reading(n, metric_type=t, unit=u, value=v) for n, (t, u, v) in
                 enumerate((("weight", "kg", 70), ("steps", "steps", 9000)))]  # fmt: skip
        resp = client.post(f"{BASE}/metrics/batch", json={"items": items}, headers=bearer(world[app_key]))
        assert resp.status_code == 200, resp.get_data(as_text=True)
    for app_key, expected in (("cara_app", {"cara"}), ("coach_app", {"cara"}), ("partner", {"cara", "dan"})):
        rows = client.get(f"{BASE}/metrics", headers=bearer(world[app_key])).get_json()["data"]
        assert {r["customer_id"] for r in rows} == {str(world[name]) for name in expected}
    steps = client.get(f"{BASE}/metrics?metric_type=steps", headers=bearer(world["partner"])).get_json()["data"]
    assert len(steps) == 2 and {r["metric_type"] for r in steps} == {"steps"}
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=90)).isoformat()
    recent = client.get(f"{BASE}/metrics", query_string={"recorded_from": since}, headers=bearer(world["cara_app"]))
    assert [r["metric_type"] for r in recent.get_json()["data"]] == ["weight"]
    dans = client.get(f"{BASE}/metrics", headers=bearer(world["dan_app"])).get_json()["data"][0]["id"]
    problem(client.get(f"{BASE}/metrics/{dans}", headers=bearer(world["cara_app"])), 404)
    problem(client.get(f"{BASE}/metrics?recorded_from=yesterday", headers=bearer(world["cara_app"])), 422)
    problem(client.get(f"{BASE}/metrics?colour=red", headers=bearer(world["cara_app"])), 422)


@pytest.mark.parametrize(
    ("path", "data", "status"),
    [
        ("/metrics/batch", b"{not json", 400),
        ("/metrics/batch", b'{"items": [{"metric_type": "we\\u0000ight"}]}', 400),  # NUL: the input guard
        ("/metrics/batch", b'{"items": "many"}', 422),
        ("/metrics/batch", b'{"items": []}', 422),
        ("/metrics/batch", b"[]", 422),
        ("/metrics/batch", b'{"items": [], "extra": 1}', 422),
        ("/metrics/batch", b'{"items": [{"value": 1e999}]}', 400),
        ("/metrics/batch", b'{"items": [{"value": ' + b"9" * 5000 + b"}]}", 400),
        ("/metrics", b'"weight"', 422),
        ("/metrics", b'{"metric_type": "weight", "value": 1e20, "unit": "kg"}', 422),
        ("/metrics", b'{"metric_type": "weight", "value": 80, "unit": "kg", "source": 3}', 422),
    ],
)
def test_bad_metric_input_is_a_problem(app, world, path: str, data: bytes, status: int) -> None:
    resp = app.test_client().post(
        BASE + path, data=data, content_type="application/json", headers=bearer(world["cara_app"])
    )
    problem(resp, status)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProgressMetric)) == 0


def test_more_than_a_thousand_readings_is_413(app, world) -> None:
    items = [reading(n % 50, client_key=f"k{n}") for n in range(1001)]
    resp = app.test_client().post(f"{BASE}/metrics/batch", json={"items": items}, headers=bearer(world["cara_app"]))
    problem(resp, 413)
    resp = app.test_client().post(
        f"{BASE}/metrics/batch", data=json.dumps({"items": items[:2]}), content_type="text/plain",
        headers=bearer(world["cara_app"]),
    )  # fmt: skip
    problem(resp, 415)


# --- tickets -----------------------------------------------------------------------------------


def test_tickets_are_opened_and_read_by_their_customer_only(app, world) -> None:
    client = app.test_client()
    resp = client.post(f"{BASE}/tickets", json={"subject": "Cannot sync", "body": "Since Monday.", "priority": "HIGH"},
                       headers=bearer(world["cara_app"]))  # fmt: skip
    assert resp.status_code == 201, resp.get_data(as_text=True)
    ticket = resp.get_json()
    assert ticket["requester_id"] == str(world["cara"]) and ticket["priority"] == "HIGH" and ticket["sla_due_at"]
    client.post(f"{BASE}/tickets", json={"subject": "Dan's"}, headers=bearer(world["dan_app"]))
    mine = client.get(f"{BASE}/tickets", headers=bearer(world["cara_app"])).get_json()["data"]
    assert [t["id"] for t in mine] == [ticket["id"]]
    problem(client.get(f"{BASE}/tickets/{ticket['id']}", headers=bearer(world["dan_app"])), 404)
    # The text became the first message of a support thread the customer sees.
    threads = client.get(f"{BASE}/threads?context_type=SUPPORT", headers=bearer(world["cara_app"])).get_json()["data"]
    assert len(threads) == 1
    # A coach's client holds no ticket grant; a partner names the customer.
    problem(client.get(f"{BASE}/tickets", headers=bearer(world["coach_app"])), 403)
    problem(client.post(f"{BASE}/tickets", json={"subject": "x"}, headers=bearer(world["partner"])), 422)
    resp = client.post(f"{BASE}/tickets", json={"subject": "For Dan", "requester_id": str(world["dan"])},
                       headers=bearer(world["partner"]))  # fmt: skip
    assert resp.status_code == 201 and resp.get_json()["requester_id"] == str(world["dan"])
    body = problem(client.post(f"{BASE}/tickets", json={"subject": "x", "requester_id": str(world["dan"])},
                               headers=bearer(world["cara_app"])), 422)  # fmt: skip
    assert "requester_id" in body["errors"]


@pytest.mark.parametrize(
    "payload",
    [{"subject": ""}, {"subject": 5}, {"subject": "a\x00b"}, {"subject": "ok", "priority": "ASAP"},
     {"subject": "ok", "body": "bell\x07"}, {"subject": "x" * 301}, {"subject": "ok", "status": "CLOSED"}],
)  # fmt: skip
def test_bad_ticket_input_is_a_problem(app, world, payload: dict) -> None:
    resp = app.test_client().post(f"{BASE}/tickets", json=payload, headers=bearer(world["cara_app"]))
    assert resp.status_code in (400, 422) and resp.mimetype == PROBLEM, resp.get_data(as_text=True)


# --- threads and messages ----------------------------------------------------------------------


def test_threads_per_subject_and_notes_hidden_from_the_customer(app, world) -> None:
    client = app.test_client()
    t = world["threads"]
    listed = {k: {r["id"] for r in client.get(f"{BASE}/threads", headers=bearer(world[k])).get_json()["data"]}
              for k in ("cara_app", "coach_app", "partner")}  # fmt: skip
    assert listed == {
        "cara_app": {t["cara"]}, "coach_app": {t["cara"], t["notes"]}, "partner": {t["cara"], t["notes"], t["dan"]},
    }  # fmt: skip
    problem(client.get(f"{BASE}/threads/{t['notes']}", headers=bearer(world["cara_app"])), 404)
    problem(client.get(f"{BASE}/threads/{t['notes']}/messages", headers=bearer(world["cara_app"])), 404)
    problem(client.get(f"{BASE}/threads/{t['dan']}/messages", headers=bearer(world["coach_app"])), 404)


def test_messages_are_sent_as_the_acting_person(app, world) -> None:
    client = app.test_client()
    t = world["threads"]
    resp = client.post(f"{BASE}/threads/{t['cara']}/messages", json={"body": "Week 1 done"},
                       headers=bearer(world["cara_app"]))  # fmt: skip
    assert resp.status_code == 201, resp.get_data(as_text=True)
    sent = resp.get_json()
    assert (sent["sender_id"], sent["recipient_id"]) == (str(world["cara"]), str(world["coach"]))
    reply = client.post(f"{BASE}/threads/{t['cara']}/messages", json={"body": "Great"},
                        headers=bearer(world["coach_app"])).get_json()  # fmt: skip
    assert reply["sender_id"] == str(world["coach"])
    page = client.get(f"{BASE}/threads/{t['cara']}/messages", headers=bearer(world["cara_app"])).get_json()
    assert [m["body"] for m in page["data"]] == ["Great", "Week 1 done"]
    thread = client.get(f"{BASE}/threads/{t['cara']}", headers=bearer(world["cara_app"])).get_json()
    assert thread["last_message_at"] == reply["sent_at"]
    # No spoofing: a sender in the body is refused; another customer's thread is not there; a partner is nobody.
    body = problem(client.post(f"{BASE}/threads/{t['cara']}/messages",
                               json={"body": "hi", "sender_id": str(world["coach"])},
                               headers=bearer(world["cara_app"])), 422)  # fmt: skip
    assert "sender_id" in body["errors"]
    problem(client.post(f"{BASE}/threads/{t['dan']}/messages", json={"body": "hi"}, headers=bearer(world["cara_app"])),
            404)  # fmt: skip
    problem(client.post(f"{BASE}/threads/{t['notes']}/messages", json={"body": "hi"},
                        headers=bearer(world["coach_app"])), 403)  # fmt: skip
    problem(client.post(f"{BASE}/threads/{t['cara']}/messages", json={"body": "hi"}, headers=bearer(world["partner"])),
            403)  # fmt: skip
    for bad in (b'{"body": ""}', b'{"body": 7}', b"{", b'{"body": "nul\\u0000"}'):
        resp = client.post(f"{BASE}/threads/{t['cara']}/messages", data=bad, content_type="application/json",
                           headers=bearer(world["cara_app"]))  # fmt: skip
        assert resp.status_code in (400, 422) and resp.mimetype == PROBLEM
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 2


def test_the_document_describes_the_new_operations(app) -> None:
    doc = app.test_client().get(f"{BASE}/openapi.json").get_json()
    for path, method in (("/metrics", "get"), ("/metrics", "post"), ("/metrics/batch", "post"),
                         ("/metrics/{key}", "get"), ("/tickets", "post"), ("/tickets/{key}", "get"),
                         ("/threads", "get"), ("/threads/{key}/messages", "post")):  # fmt: skip
        operation = doc["paths"][path][method]
        assert operation["summary"] and "401" in operation["responses"] and "403" in operation["responses"]
    assert {"207", "413"} <= set(doc["paths"]["/metrics/batch"]["post"]["responses"])
