"""The schedule calendar's page and JSON endpoints, on SQLite and PostgreSQL, signed in as each role.

Each endpoint: who may call it (and anonymous), CSRF on every POST, bad input answered with a 4xx
JSON message that changes nothing, and a coach's scope (another coach's sessions and customers are
out of reach). The services' own rules are tested with the services; here they are reached through
the web layer exactly as the page's script reaches them.
"""

from __future__ import annotations

import datetime as dt
import json

import icalendar
import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.compliance import AuditLog
from app.models.scheduling import ScheduledSession, SessionParticipant
from tests.support.schedule_web import ScheduleWorld, build_schedule_world, count, snapshot, start_now, wall

API = "/schedule/api"


@pytest.fixture
def world(app: Flask, accounts: dict) -> ScheduleWorld:
    return build_schedule_world(app, accounts)


def week(world: ScheduleWorld) -> dict[str, str]:
    return {"start": wall(world.start - dt.timedelta(days=1)), "end": wall(world.start + dt.timedelta(days=6))}


def refused_cleanly(app: Flask, before: dict, resp, status: int | tuple = 400) -> None:
    statuses = status if isinstance(status, tuple) else (status,)
    assert resp.status_code in statuses, (resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.is_json and resp.get_json()["error"], resp.get_data(as_text=True)[:300]
    assert snapshot(app) == before


# --- the page ---------------------------------------------------------------------------------------------------


def test_the_page_opens_for_calendar_roles_with_the_vendored_library_and_is_in_the_menu(
    app: Flask, world: ScheduleWorld
) -> None:
    for role in ("Admin", "Support", "Coach", "Manager"):
        resp = world.get(role, "/schedule/")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200, role
        assert "/static/vendor/fullcalendar-6.1.20/index.global.min.js" in html
        assert "coachdesk/schedule.js" in html and 'name="csp-nonce"' in html
        assert "cdn" not in html.lower().replace("cd-", "")
        home = world.get(role, "/").get_data(as_text=True)
        assert 'href="/schedule/"' in home, f"no Calendar link in the menu for {role}"
    assert world.get("Compliance", "/schedule/").status_code == 403
    assert 'href="/schedule/"' not in world.get("Compliance", "/").get_data(as_text=True)
    anonymous = world.get(None, "/schedule/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_the_page_speaks_spanish_and_loads_the_spanish_calendar_locale(app: Flask, world: ScheduleWorld) -> None:
    client = world.clients["Coach"]
    client.post("/lang/es", data={"csrf_token": world.tokens["Coach"]})
    html = client.get("/schedule/").get_data(as_text=True)
    assert "locales/es.global.min.js" in html
    strings = json.loads(html.split('id="cd-schedule-strings">', 1)[1].split("</script>", 1)[0])
    assert strings["error"] == "Error" or strings["remove"] != "Remove"  # new strings wait for the catalogues
    assert strings["remove"] != "Remove"


# --- reading ----------------------------------------------------------------------------------------------------


def test_events_show_each_viewer_only_what_their_scope_allows(app: Flask, world: ScheduleWorld) -> None:
    ids = {
        role: {e["id"] for e in world.get(role, "/schedule/events", query_string=week(world)).get_json()}
        for role in ("Coach", "Support", "Manager", "Admin")
    }
    both = {str(world.session_id), str(world.other_session_id)}
    assert ids["Coach"] == {str(world.session_id)}
    assert ids["Support"] == ids["Manager"] == ids["Admin"] == both
    event = world.get("Support", "/schedule/events", query_string=week(world)).get_json()[0]
    assert event["start"] == wall(world.start) and event["extendedProps"]["capacity"] == 2
    assert event["extendedProps"]["booked"] == 0 and "cd-type-CLASS" in event["classNames"]
    assert event["editable"] is True
    manager = world.get("Manager", "/schedule/events", query_string=week(world)).get_json()
    assert all(e["editable"] is False for e in manager)  # Managers read the calendar, they do not change it
    only_other = world.get(
        "Support", "/schedule/events", query_string={**week(world), "coach": str(world.other_coach_id)}
    ).get_json()
    assert [e["id"] for e in only_other] == [str(world.other_session_id)]
    none = world.get("Support", "/schedule/events", query_string={**week(world), "type": "VIRTUAL"}).get_json()
    assert none == []
    assert world.get("Compliance", "/schedule/events", query_string=week(world)).status_code == 403
    assert world.get(None, "/schedule/events", query_string=week(world)).status_code == 401


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"start": "2026-01-10T00:00", "end": "2026-01-09T00:00"},
        {"start": "99999-01-01", "end": "99999-01-08"},
        {"start": "0001-01-01T00:00", "end": "0001-01-02T00:00"},
        {"start": "2026-01-01T00:00", "end": "2026-12-31T00:00"},
        {"start": "yesterday", "end": "today"},
        {"start": "2026-01-01T00:00", "end": "2026-01-08T00:00", "type": "PARTY"},
        {"start": "2026-01-01T00:00", "end": "2026-01-08T00:00", "coach": "not-a-uuid"},
        {"start": "2026-01-01T00:00", "end": "2026-01-08T00:00", "status": "x" * 5000},
    ],
)
def test_events_refuse_bad_ranges_and_filters_with_a_message(app: Flask, world: ScheduleWorld, args: dict) -> None:
    resp = world.get("Support", "/schedule/events", query_string=args)
    assert resp.status_code == 400 and resp.get_json()["error"]


def test_the_panel_shows_the_session_with_its_roster_and_a_coach_cannot_open_another_coaches(
    app: Flask, world: ScheduleWorld
) -> None:
    data = world.get("Coach", f"/schedule/sessions/{world.session_id}").get_json()
    assert data["session"]["title"] == "Morning strength" and data["booked"] == [] and data["waitlist"] == []
    assert data["can"] == {"edit": True, "roster": True}
    assert world.get("Coach", f"/schedule/sessions/{world.other_session_id}").status_code == 404
    assert world.get("Coach", "/schedule/sessions/987654321").status_code == 404
    assert world.get("Manager", f"/schedule/sessions/{world.other_session_id}").get_json()["can"]["edit"] is False


def test_customer_search_offers_a_coach_only_their_own_customers(app: Flask, world: ScheduleWorld) -> None:
    coach = {r["id"] for r in world.get("Coach", "/schedule/customers", query_string={"q": "Customer"}).get_json()[
        "results"
    ]}  # fmt: skip
    assert coach == {str(c) for c in world.customers}
    support = world.get("Support", "/schedule/customers", query_string={"q": "Bee"}).get_json()["results"]
    assert [r["id"] for r in support] == [str(world.other_customer)]
    assert world.get("Manager", "/schedule/customers", query_string={"q": "Customer"}).get_json()["results"] == []


# --- sessions ---------------------------------------------------------------------------------------------------


def test_support_creates_a_weekly_series_moves_one_and_cancels_the_rest(app: Flask, world: ScheduleWorld) -> None:
    start = world.start + dt.timedelta(days=1, hours=8)
    body = {
        "title": "Evening HIIT", "session_type": "CLASS", "start": wall(start),
        "end": wall(start + dt.timedelta(minutes=45)), "capacity": 8, "coach_id": str(world.coach_id),
        "location": "Studio 2", "repeat": {"weekdays": [start.weekday(), (start.weekday() + 2) % 7], "count": 4},
        "override": True,
    }  # fmt: skip
    resp = world.post("Support", f"{API}/sessions/", body)
    assert resp.status_code == 201, resp.get_json()
    created = resp.get_json()["sessions"]
    assert len(created) == 4
    first = created[0]
    with app.app_context():
        series = {db.session.get(ScheduledSession, c["id"]).series_id for c in created}
    assert len(series) == 1 and None not in series

    moved = wall(start + dt.timedelta(days=1))
    change = {"version": first["version"], "scope": "one", "changes": {"start": moved, "end": wall(
        start + dt.timedelta(days=1, minutes=60))}, "override": True}  # fmt: skip
    resp = world.post("Support", f"{API}/sessions/{first['id']}/update", change)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["sessions"][0]["version"] == first["version"] + 1
    before = snapshot(app)
    stale = world.post("Support", f"{API}/sessions/{first['id']}/update", change)
    refused_cleanly(app, before, stale, 409)
    assert stale.get_json()["code"] == "stale"

    second = created[1]
    resp = world.post(
        "Support", f"{API}/sessions/{second['id']}/cancel", {"version": second["version"], "scope": "following"}
    )
    assert resp.status_code == 200, resp.get_json()
    assert len(resp.get_json()["sessions"]) == 3
    with app.app_context():
        statuses = [db.session.get(ScheduledSession, c["id"]).status.value for c in created]
    assert statuses == ["SCHEDULED", "CANCELLED", "CANCELLED", "CANCELLED"]


def test_a_clash_is_a_409_with_save_anyway_only_for_roles_allowed_to_override(app: Flask, world: ScheduleWorld) -> None:
    clash = {
        "title": "Clash", "session_type": "ONE_ON_ONE", "start": wall(world.start + dt.timedelta(minutes=30)),
        "end": wall(world.start + dt.timedelta(minutes=90)), "capacity": 1, "coach_id": str(world.coach_id),
    }  # fmt: skip
    before = snapshot(app)
    support = world.post("Support", f"{API}/sessions/", clash)
    refused_cleanly(app, before, support, 409)
    data = support.get_json()
    assert data["code"] == "conflict" and data["overridable"] is True
    assert any(c["kind"] == "coach_busy" for c in data["conflicts"]) and all(c["message"] for c in data["conflicts"])
    coach = world.post("Coach", f"{API}/sessions/", {k: v for k, v in clash.items() if k != "coach_id"})
    refused_cleanly(app, before, coach, 409)
    assert coach.get_json()["overridable"] is False
    forced = world.post("Coach", f"{API}/sessions/", {**clash, "coach_id": None, "override": True})
    refused_cleanly(app, before, forced, 403)
    assert world.post("Support", f"{API}/sessions/", {**clash, "override": True}).status_code == 201


BAD_CREATES = [
    ("not an object", [1, 2]),
    ("missing title", {"session_type": "CLASS", "capacity": 1}),
    ("end before start", {"end": "-1h"}),
    ("unknown zone", {"timezone": "Mars/Olympus"}),
    ("huge capacity", {"capacity": 10**30}),
    ("float capacity", {"capacity": 2.5}),
    ("text capacity", {"capacity": "many"}),
    ("year 99999", {"start": "99999-01-01T10:00"}),
    ("nul in title", {"title": "a\x00b"}),
    ("list title", {"title": ["x"]}),
    ("10,000 occurrences", {"repeat": {"weekdays": [0], "count": 10_000}}),
    ("both count and until", {"repeat": {"weekdays": [0], "count": 2, "until": "2030-01-01"}}),
    ("weekday 9", {"repeat": {"weekdays": [9], "count": 2}}),
    ("in the past", {"start": "2020-01-01T10:00", "end": "2020-01-01T11:00"}),
    ("bad link", {"join_link": "javascript:alert(1)"}),
    ("unknown coach", {"coach_id": "00000000-0000-4000-8000-000000000000"}),
    ("override not bool", {"override": "yes"}),
]


@pytest.mark.parametrize(("label", "change"), BAD_CREATES, ids=[b[0] for b in BAD_CREATES])
def test_bad_session_input_is_refused_with_a_message_and_changes_nothing(
    app: Flask, world: ScheduleWorld, label: str, change
) -> None:
    start = world.start + dt.timedelta(days=2)
    body: object = {
        "title": "Bad", "session_type": "CLASS", "start": wall(start), "end": wall(start + dt.timedelta(hours=1)),
        "capacity": 3, "coach_id": str(world.coach_id), "override": True,
    }  # fmt: skip
    if isinstance(change, dict):
        if change.get("end") == "-1h":
            change = {"end": wall(start - dt.timedelta(hours=1))}
        body = {**body, **change}  # type: ignore[dict-item]
        if label == "missing title":
            del body["title"]  # type: ignore[attr-defined]
    else:
        body = change
    before = snapshot(app)
    refused_cleanly(app, before, world.post("Support", f"{API}/sessions/", body), (400, 404))


def test_bad_updates_are_refused_and_change_nothing(app: Flask, world: ScheduleWorld) -> None:
    url = f"{API}/sessions/{world.session_id}/update"
    before = snapshot(app)
    for body in (
        {"version": 1, "changes": {}},
        {"version": "1", "changes": {"title": "x"}},
        {"version": 1, "scope": "all", "changes": {"title": "x"}},
        {"version": 1, "changes": {"capacity": 99}},
        {"version": 1, "changes": {"start": wall(world.start + dt.timedelta(hours=2))}},  # would end before it starts
        {"version": 1e308, "changes": {"title": "x"}},
        {"version": 1, "changes": {"title": ""}},
    ):
        refused_cleanly(app, before, world.post("Support", url, body))
    refused_cleanly(app, before, world.post("Coach", f"{API}/sessions/{world.other_session_id}/update", {
        "version": 1, "changes": {"title": "mine now"}}), 404)  # fmt: skip
    refused_cleanly(app, before, world.post("Coach", f"{API}/sessions/{world.other_session_id}/cancel", {
        "version": 1}), 404)  # fmt: skip


def test_every_post_needs_the_csrf_token_and_the_grant(app: Flask, world: ScheduleWorld) -> None:
    sid = world.session_id
    posts = [
        (f"{API}/sessions/", {"title": "x"}),
        (f"{API}/sessions/{sid}/update", {"version": 1, "changes": {"title": "x"}}),
        (f"{API}/sessions/{sid}/cancel", {"version": 1}),
        (f"{API}/sessions/{sid}/capacity", {"capacity": 5}),
        (f"{API}/sessions/{sid}/book", {"customer_id": str(world.customers[0])}),
        (f"{API}/sessions/{sid}/cancel-booking", {"customer_id": str(world.customers[0])}),
        (f"{API}/sessions/{sid}/attendance", {"all": True, "status": "ATTENDED"}),
        (f"{API}/sessions/{sid}/feedback", {"customer_id": str(world.customers[0]), "score": 5}),
        (f"{API}/availability/slots", {"day_of_week": 0, "start_time": "08:00", "end_time": "12:00"}),
        (f"{API}/availability/slots/1/update", {"capacity": 2}),
        (f"{API}/availability/slots/1/delete", {}),
        (f"{API}/availability/exceptions", {"kind": "TIME_OFF"}),
        (f"{API}/availability/exceptions/1/delete", {}),
        ("/schedule/feed/rotate", {}),
    ]
    before = snapshot(app)
    for url, body in posts:
        resp = world.post("Coach", url, body, csrf=False)
        assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True), url
        assert world.post(None, url, body).status_code in (401, 302), url
        assert world.post("Compliance", url, body).status_code == 403, url
    for url, body in posts[:4]:
        assert world.post("Manager", url, body).status_code == 403, url
    for url, body in posts[8:13]:
        assert world.post("Support", url, body).status_code == 403, url  # availability is read-only for Support
    assert snapshot(app) == before


# --- the roster -------------------------------------------------------------------------------------------------


def test_booking_past_capacity_waitlists_and_a_cancellation_promotes_in_order(app: Flask, world: ScheduleWorld) -> None:
    sid = world.session_id
    one, two, three = (str(c) for c in world.customers)
    outcomes = [
        world.post("Coach", f"{API}/sessions/{sid}/book", {"customer_id": c}).get_json() for c in (one, two, three)
    ]
    assert [o["outcome"] for o in outcomes] == ["booked", "booked", "waitlisted"]
    assert outcomes[2]["name"] == "Customer Three"
    again = world.post("Coach", f"{API}/sessions/{sid}/book", {"customer_id": three}).get_json()
    assert again["outcome"] == "already_waitlisted"
    panel = world.get("Coach", f"/schedule/sessions/{sid}").get_json()
    assert [p["customer_id"] for p in panel["booked"]] == [one, two]
    assert [(p["customer_id"], p["position"]) for p in panel["waitlist"]] == [(three, 1)]
    event = world.get("Coach", "/schedule/events", query_string=week(world)).get_json()[0]["extendedProps"]
    assert (event["booked"], event["waitlisted"]) == (2, 1)

    audit_before = count(app, AuditLog)
    resp = world.post("Coach", f"{API}/sessions/{sid}/cancel-booking", {"customer_id": one})
    assert resp.status_code == 200 and resp.get_json()["promoted"] == ["Customer Three"]
    assert count(app, AuditLog) > audit_before  # the booking engine's writes are audited like any console write
    panel = world.get("Coach", f"/schedule/sessions/{sid}").get_json()
    assert [p["customer_id"] for p in panel["booked"]] == [two, three] and panel["waitlist"] == []
    assert [p["customer_id"] for p in panel["cancelled"]] == [one]

    early = world.post("Coach", f"{API}/sessions/{sid}/attendance", {"all": True, "status": "ATTENDED"})
    assert early.status_code == 400 and early.get_json()["error"]  # not before the session starts
    start_now(app, sid)
    marked = world.post("Coach", f"{API}/sessions/{sid}/attendance", {"all": True, "status": "ATTENDED"})
    assert marked.get_json()["count"] == 2
    one_by_one = world.post("Coach", f"{API}/sessions/{sid}/attendance", {"customer_ids": [two], "status": "NO_SHOW"})
    assert one_by_one.status_code == 200 and one_by_one.get_json()["count"] == 1
    assert world.post("Coach", f"{API}/sessions/{sid}/feedback", {"customer_id": three, "score": 4}).status_code == 200
    with app.app_context():
        rows = {
            str(p.customer_id): (p.attendance_status.value, p.feedback_score)
            for p in db.session.scalars(sa.select(SessionParticipant).where(SessionParticipant.session_id == sid))
        }
    assert rows[two] == ("NO_SHOW", None) and rows[three] == ("ATTENDED", 4)

    before = snapshot(app)
    for url, body in (
        ("feedback", {"customer_id": three, "score": 9}),
        ("feedback", {"customer_id": three, "score": "5"}),
        ("feedback", {"customer_id": "nobody", "score": 3}),
        ("attendance", {"customer_ids": [], "status": "ATTENDED"}),
        ("attendance", {"customer_ids": [three], "status": "PARTYING"}),
        ("attendance", {"customer_ids": [three] * 501, "status": "ATTENDED"}),
        ("book", {"customer_id": str(world.other_customer)}),
        ("book", {}),
        ("capacity", {"capacity": 0}),
        ("capacity", {"capacity": 10**12}),
        ("capacity", {"capacity": 1}),  # two seats are held
    ):
        refused_cleanly(app, before, world.post("Coach", f"{API}/sessions/{sid}/{url}", body), (400, 403, 404, 409))


def test_more_capacity_promotes_from_the_waitlist(app: Flask, world: ScheduleWorld) -> None:
    sid = world.session_id
    for customer in world.customers:
        world.post("Support", f"{API}/sessions/{sid}/book", {"customer_id": str(customer)})
    resp = world.post("Support", f"{API}/sessions/{sid}/capacity", {"capacity": 3})
    assert resp.status_code == 200 and resp.get_json()["promoted"] == ["Customer Three"]


def test_a_coach_cannot_touch_another_coaches_roster(app: Flask, world: ScheduleWorld) -> None:
    before = snapshot(app)
    other = world.other_session_id
    for url, body in (
        ("book", {"customer_id": str(world.customers[0])}),
        ("cancel-booking", {"customer_id": str(world.other_customer)}),
        ("attendance", {"all": True, "status": "ATTENDED"}),
        ("capacity", {"capacity": 9}),
    ):
        refused_cleanly(app, before, world.post("Coach", f"{API}/sessions/{other}/{url}", body), (403, 404))


# --- availability -----------------------------------------------------------------------------------------------


def test_a_coach_edits_weekly_availability_and_time_off_on_the_calendar(app: Flask, world: ScheduleWorld) -> None:
    slot = world.post("Coach", f"{API}/availability/slots", {
        "day_of_week": 0, "start_time": "08:00", "end_time": "12:00", "timezone": "UTC"})  # fmt: skip
    assert slot.status_code == 201, slot.get_json()
    off = world.post("Coach", f"{API}/availability/exceptions", {
        "kind": "TIME_OFF", "starts_at": wall(world.start + dt.timedelta(days=2)),
        "ends_at": wall(world.start + dt.timedelta(days=3)), "note": "Dentist"})  # fmt: skip
    assert off.status_code == 201, off.get_json()
    blocks = world.get("Coach", "/schedule/availability", query_string={**week(world), "editing": "1"}).get_json()
    kinds = sorted((b["extendedProps"]["source"], b["extendedProps"]["block_kind"]) for b in blocks)
    assert ("weekly", "available") in kinds and ("exception", "time_off") in kinds
    weekly = next(b for b in blocks if b["extendedProps"]["source"] == "weekly")
    assert weekly["start"] == wall(world.start.replace(hour=8)) and weekly["display"] == "auto"
    shown = world.get("Support", "/schedule/availability", query_string={**week(world), "coach": str(world.coach_id)})
    assert {b["display"] for b in shown.get_json()} == {"background"}  # Support reads it, cannot edit it

    moved = world.post("Coach", f"{API}/availability/slots/{slot.get_json()['id']}/update", {"end_time": "13:00"})
    assert moved.status_code == 200, moved.get_json()
    before = snapshot(app)
    for url, body in (
        ("slots", {"day_of_week": 9, "start_time": "08:00", "end_time": "12:00"}),
        ("slots", {"day_of_week": 1, "start_time": "12:00", "end_time": "08:00"}),
        ("slots", {"day_of_week": 1, "start_time": "25:00", "end_time": "26:00"}),
        ("slots", {"day_of_week": 1, "start_time": "08:00", "end_time": "09:00", "timezone": "Nowhere/City"}),
        (
            "slots",
            {"day_of_week": 1, "start_time": "08:00", "end_time": "09:00", "coach_id": str(world.other_coach_id)},
        ),
        ("exceptions", {"kind": "HOLIDAY", "starts_at": "2030-01-01T00:00", "ends_at": "2030-01-02T00:00"}),
        ("exceptions", {"kind": "TIME_OFF", "starts_at": "2030-01-02T00:00", "ends_at": "2030-01-01T00:00"}),
        (f"slots/{slot.get_json()['id']}/update", {}),
        ("slots/987654321/delete", {}),
        ("exceptions/987654321/delete", {}),
    ):
        refused_cleanly(app, before, world.post("Coach", f"{API}/availability/{url}", body), (400, 403, 404, 409))
    assert world.post("Coach", f"{API}/availability/exceptions/{off.get_json()['id']}/delete").status_code == 200
    assert world.post("Coach", f"{API}/availability/slots/{slot.get_json()['id']}/delete").status_code == 200
    assert world.get("Coach", "/schedule/availability", query_string=week(world)).get_json() == []


# --- iCal -------------------------------------------------------------------------------------------------------


def test_a_session_downloads_as_ics_and_the_coach_feed_rotates(app: Flask, world: ScheduleWorld) -> None:
    resp = world.get("Coach", f"/schedule/sessions/{world.session_id}.ics")
    assert resp.status_code == 200 and resp.mimetype == "text/calendar"
    assert "attachment" in resp.headers["Content-Disposition"]
    events = icalendar.Calendar.from_ical(resp.data).walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == ["Morning strength"]
    assert events[0].decoded("DTSTART") == world.start
    assert world.get("Coach", f"/schedule/sessions/{world.other_session_id}.ics").status_code == 404

    first = world.post("Coach", "/schedule/feed/rotate", {})
    assert first.status_code == 200
    url = first.get_json()["url"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    feed = world.get(None, "/" + path)  # no sign-in: calendar apps poll the secret address
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    assert [str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(feed.data).walk("VEVENT")] == ["Morning strength"]
    second = world.post("Coach", "/schedule/feed/rotate", {}).get_json()["url"]
    assert second != url
    assert world.get(None, "/" + path).status_code == 404  # the old address stops working
    assert world.get(None, "/schedule/feed/" + "x" * 43 + ".ics").status_code == 404
    assert world.get(None, "/schedule/feed/short.ics").status_code == 404
    before = snapshot(app)
    for body in ("{not json", "[1]", '{"coach_id": 7}'):
        malformed = world.clients["Coach"].post(
            "/schedule/feed/rotate",
            data=body,
            content_type="application/json",
            headers={"X-CSRFToken": world.tokens["Coach"], "Accept": "application/json"},
        )
        assert malformed.status_code == 400 and malformed.get_json()["error"], body
    assert world.get(None, "/" + second.split("://", 1)[1].split("/", 1)[1]).status_code == 200
    assert snapshot(app) == before
    refused = world.post("Coach", "/schedule/feed/rotate", {"coach_id": str(world.other_coach_id)})
    assert refused.status_code in (403, 404)
    status = world.get("Coach", "/schedule/feed/status").get_json()
    assert status["exists"] is True and "token" not in json.dumps(status)


def test_the_public_feed_is_rate_limited_per_address(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    import uuid

    from tests.support import databases
    from tests.support.apps import build_app

    app = build_app(
        databases.create_sqlite_database(tmp_path_factory.mktemp("feed-limit")),
        REDIS_URL=redis_url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex[:8]}",
        SCHEDULE_FEED_RATE_LIMIT="3 per minute",
    )
    client = app.test_client()
    url = "/schedule/feed/" + "x" * 43 + ".ics"
    assert [client.get(url).status_code for _ in range(3)] == [404, 404, 404]
    assert client.get(url).status_code == 429
    other = client.get(url, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 404  # another address has its own allowance
