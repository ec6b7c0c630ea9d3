"""The schedule calendar in a real browser: Playwright (sync API) driving Debian's Chromium against a real server.

A coach selects a slot to create a weekly class, drags one occurrence to another day and resizes it,
books past capacity, cancels a booking and sees the promotion on the roster, and downloads the
session's .ics (parsed back with icalendar). Screenshots of the week view as a Coach and as Support
go to $SCHEDULE_SHOTS (default: coachdesk-schedule-shots in the temporary folder).
Chromium missing: fails when CI=true, else skipped.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import icalendar
import pytest
import sqlalchemy as sa
from flask import Flask

from tests.e2e.browser import launched_chromium, live_app
from tests.support.apps import make_accounts

SHOTS = Path(os.environ.get("SCHEDULE_SHOTS") or Path(tempfile.gettempdir()) / "coachdesk-schedule-shots")

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Flask]]:
    """The app on a freshly migrated SQLite file, served by werkzeug on a free localhost port."""
    with live_app(tmp_path_factory.mktemp("e2e-schedule"), accounts=False) as served:
        yield served


@pytest.fixture(scope="module")
def browser(server):
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def seed(server) -> dict:
    from app.extensions import db
    from app.models.identity import ConsoleUser, PlatformUser
    from app.policy.scope import Actor
    from app.services.scheduling import availability
    from tests.support.plan_support import make_customer

    app = server[1]
    accounts = make_accounts(app)
    with app.app_context():
        coach_id = db.session.scalar(sa.select(ConsoleUser.platform_user_id).where(ConsoleUser.username == "coach"))
        customers = []
        for name in ("Customer One", "Customer Two", "Customer Three"):
            cid = make_customer(name, "Europe/Madrid", coach_id)
            customers.append(f"{name} <{db.session.get(PlatformUser, cid).email}>")
        coach = Actor(coach_id, frozenset({"Coach"}))
        for day in range(7):  # the coach works every day, 06:00-22:00 UTC: nothing is "outside availability"
            availability.add_slot(
                db.session,
                coach,
                coach_id=coach_id,
                day_of_week=day,
                start_time=dt.time(6),
                end_time=dt.time(22),
                timezone="UTC",
            )
        db.session.commit()
        today = dt.datetime.now(dt.UTC).date()
        monday = today + dt.timedelta(days=7 - today.weekday())
        _other_coach_week(coach, monday)
    return {"accounts": accounts, "coach_id": coach_id, "customers": customers, "monday": monday}


def _other_coach_week(coach, monday: dt.date) -> None:
    """A second coach's sessions (one kept in Madrid time) and the first coach's Friday afternoon off."""
    from app.extensions import db
    from app.models.identity import ConsoleUser, RoleCode
    from app.policy.scope import Actor
    from app.services.scheduling import availability, sessions
    from tests.support.plan_support import make_user

    admin_id = db.session.scalar(sa.select(ConsoleUser.platform_user_id).where(ConsoleUser.username == "admin"))
    admin = Actor(admin_id, frozenset({"Admin"}))
    bee = make_user("Coach Bee", RoleCode.COACH)
    plan = [
        ("Lunch yoga (online)", "VIRTUAL", bee.id, 1, 12, "Europe/Madrid", None, "https://meet.example.test/yoga"),
        ("Mobility, studio and online", "HYBRID", bee.id, 2, 18, "UTC", "Studio 2", "https://meet.example.test/mob"),
        ("Personal training", "ONE_ON_ONE", coach.user_id, 4, 8, "UTC", "Studio 1", None),
    ]
    for title, kind, coach_id, day, hour, zone, location, link in plan:
        start = dt.datetime.combine(monday + dt.timedelta(days=day), dt.time(hour), dt.UTC)
        draft = sessions.SessionDraft(
            title=title, session_type=kind, start=start, end=start + dt.timedelta(hours=1), timezone=zone,
            capacity=1 if kind == "ONE_ON_ONE" else 12, coach_id=coach_id, location=location, join_link=link,
        )  # fmt: skip
        sessions.create_sessions(db.session, admin, draft, override=True)
    friday = monday + dt.timedelta(days=4)
    availability.add_exception(
        db.session,
        coach,
        coach_id=coach.user_id,
        kind="TIME_OFF",
        starts_at=dt.datetime.combine(friday, dt.time(13), dt.UTC),
        ends_at=dt.datetime.combine(friday, dt.time(18), dt.UTC),
        note="Physio",
    )
    db.session.commit()


def _signed_in(browser, base: str, account):
    from playwright.sync_api import expect

    # The browser's own zone differs from the account's (UTC): the grid must follow the account.
    context = browser.new_context(
        viewport={"width": 1500, "height": 1200}, locale="en-GB", timezone_id="Asia/Tokyo", accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.requested_hosts = set()
    page.on("request", lambda req: page.requested_hosts.add(urlparse(req.url).netloc))
    page.goto(f"{base}/login/")
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    page.click("form[name=login] [type=submit]")
    expect(page.locator("h1")).to_contain_text("Welcome")
    return context, page


def _open_next_week(page, base: str, monday: dt.date) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/schedule/")
    expect(page.locator(".fc-timegrid")).to_be_visible()
    page.locator("h1").click()  # focus the page body, then the keyboard shortcut for "next"
    page.keyboard.press("ArrowRight")
    expect(page.locator(f'td.fc-timegrid-col[data-date="{monday.isoformat()}"]')).to_be_visible()


def _point(page, day: dt.date, time: str, *, bottom: bool = False) -> tuple[float, float]:
    col = page.locator(f'td.fc-timegrid-col[data-date="{day.isoformat()}"]').bounding_box()
    lane = page.locator(f'td.fc-timegrid-slot-lane[data-time="{time}"]').bounding_box()
    y = lane["y"] + (lane["height"] - 3 if bottom else 3)
    return col["x"] + col["width"] / 2, y


def _drag(page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 2, start[1] + 8, steps=4)
    page.mouse.move(*end, steps=15)
    page.mouse.up()


def _session_rows(app: Flask, title: str) -> list:
    from app.extensions import db
    from app.models.scheduling import ScheduledSession

    with app.app_context():
        rows = db.session.scalars(
            sa.select(ScheduledSession).where(ScheduledSession.title == title).order_by(ScheduledSession.start_time)
        ).all()
        db.session.expunge_all()
        return rows


def test_coach_creates_a_weekly_class_moves_resizes_books_and_exports(server, browser, seed):
    from playwright.sync_api import expect

    base, app = server
    monday = seed["monday"]
    wednesday, thursday = monday + dt.timedelta(days=2), monday + dt.timedelta(days=3)
    SHOTS.mkdir(parents=True, exist_ok=True)
    context, page = _signed_in(browser, base, seed["accounts"]["Coach"])
    try:
        _open_next_week(page, base, monday)
        expect(page.locator("#cd-zone-label")).to_contain_text("UTC")

        # Select Monday 10:00-11:00 and create a class repeating on Mondays and Wednesdays, four times.
        _drag(page, _point(page, monday, "10:00:00"), _point(page, monday, "10:30:00", bottom=True))
        form = page.locator("#cd-create-form")
        expect(form).to_be_visible()
        expect(form).to_contain_text(f"{monday.isoformat()} 10:00 – {monday.isoformat()} 11:00")
        form.locator("input[name=title]").fill("Morning strength")
        form.locator("input[name=capacity]").fill("2")
        form.locator("input[name=location]").fill("Studio 1")
        form.locator("#cd-repeat").check()
        form.locator('input[name=weekday][value="2"]').check()
        form.locator("input[name=count]").fill("4")
        form.locator("#cd-create").click()
        events = page.locator(".fc-timegrid-event", has_text="Morning strength")
        expect(events).to_have_count(2)
        expect(page.locator("#cd-panel-title")).to_have_text("Morning strength")
        rows = _session_rows(app, "Morning strength")
        assert len(rows) == 4 and len({r.series_id for r in rows}) == 1
        assert [r.start_time.date().weekday() for r in rows] == [0, 2, 0, 2]
        assert rows[0].start_time == dt.datetime.combine(monday, dt.time(10), dt.UTC)

        # Drag Wednesday's occurrence to Thursday, this session only.
        wed = page.locator(f'td.fc-timegrid-col[data-date="{wednesday.isoformat()}"] .fc-timegrid-event')
        box = wed.bounding_box()
        start = (box["x"] + box["width"] / 2, box["y"] + 10)
        target = _point(page, thursday, "10:00:00")
        _drag(page, start, (target[0], target[1] + 7))
        page.get_by_role("button", name="Only this session").click()
        expect(page.locator("#cd-status")).to_have_text("Session moved.")
        moved = page.locator(f'td.fc-timegrid-col[data-date="{thursday.isoformat()}"] .fc-timegrid-event')
        expect(moved).to_have_count(1)
        rows = _session_rows(app, "Morning strength")
        assert rows[1].start_time == dt.datetime.combine(thursday, dt.time(10), dt.UTC)
        assert rows[3].start_time.date() == wednesday + dt.timedelta(days=7)  # the rest of the series stays

        # Resize it by an hour from its bottom edge.
        moved.hover()
        handle = moved.locator(".fc-event-resizer-end")
        hb = handle.bounding_box()
        end = _point(page, thursday, "11:30:00", bottom=True)
        _drag(page, (hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2), (hb["x"] + hb["width"] / 2, end[1]))
        page.get_by_role("button", name="Only this session").click()
        expect(page.locator("#cd-status")).to_have_text("Session moved.")
        rows = _session_rows(app, "Morning strength")
        assert rows[1].end_time == dt.datetime.combine(thursday, dt.time(12), dt.UTC)

        # Book three customers into Monday's class of two seats: the third waits.
        page.locator(f'td.fc-timegrid-col[data-date="{monday.isoformat()}"] .fc-timegrid-event').click()
        panel = page.locator("#cd-panel")
        expect(panel.locator(".cd-facts")).to_contain_text(f"{monday.isoformat()} 10:00")
        expect(panel.locator("#cd-add-customer")).to_be_visible()
        for name in seed["customers"]:
            field = panel.locator("#cd-add-customer input[name=customer]")
            field.fill(name.split(" <")[0].split()[-1])
            expect(panel.locator("#cd-customer-options option")).to_have_count(1)
            field.fill(name)
            panel.locator("#cd-book").click()
            expect(panel.locator("#cd-booked, #cd-waitlist").locator("li", has_text=name.split(" <")[0])).to_have_count(
                1
            )
        expect(page.locator("#cd-status")).to_contain_text("The session is full: Customer Three joins the waitlist.")
        expect(panel.locator("#cd-booked li.cd-person")).to_have_count(2)
        expect(panel.locator("#cd-waitlist li .cd-name")).to_have_text(["Customer Three"])
        expect(page.locator(".fc-timegrid-event", has_text="2/2 booked · 1 waiting")).to_have_count(1)

        # Cancel Customer One: Customer Three moves up, as the roster shows.
        panel.locator('#cd-booked li:has-text("Customer One") .cd-remove').click()
        expect(page.locator("#cd-status")).to_contain_text("Customer Three moved up from the waitlist.")
        expect(panel.locator("#cd-booked li.cd-person .cd-name")).to_have_text(["Customer Two", "Customer Three"])
        expect(panel.locator("#cd-waitlist li")).to_have_text(["Nobody yet."])
        page.screenshot(path=str(SHOTS / "schedule_panel_coach.png"), full_page=True)

        # The session as an .ics file.
        with page.expect_download() as download:
            panel.locator("#cd-ics").click()
        calendar = icalendar.Calendar.from_ical(Path(download.value.path()).read_bytes())
        [event] = calendar.walk("VEVENT")
        assert str(event["SUMMARY"]) == "Morning strength"
        assert event.decoded("DTSTART") == dt.datetime.combine(monday, dt.time(10), dt.UTC)
        assert event.decoded("DTEND") == dt.datetime.combine(monday, dt.time(11), dt.UTC)

        page.locator("#cd-panel-title").click()
        page.screenshot(path=str(SHOTS / "schedule_week_coach.png"), full_page=True)
        assert page.requested_hosts == {urlparse(base).netloc}, page.requested_hosts
    finally:
        context.close()


def test_support_sees_every_coach_and_the_keyboard_switches_views(server, browser, seed):
    from playwright.sync_api import expect

    base, _app = server
    monday = seed["monday"]
    context, page = _signed_in(browser, base, seed["accounts"]["Support"])
    try:
        _open_next_week(page, base, monday)
        expect(page.locator(".fc-timegrid-event", has_text="Morning strength").first).to_be_visible()
        online = page.locator(".fc-timegrid-event", has_text="Lunch yoga (online)")
        expect(online).to_contain_text("13:00 in Europe/Madrid")  # its own zone, beside the viewer's UTC
        expect(page.locator(".fc-timegrid-event.cd-type-HYBRID")).to_have_count(1)
        page.locator("h1").click()
        page.screenshot(path=str(SHOTS / "schedule_week_support.png"), full_page=True)
        page.select_option("#cd-f-coach", str(seed["coach_id"]))  # availability shows for one chosen coach
        expect(page.locator(".fc-bg-event.cd-avail-time_off")).to_have_count(1)
        expect(page.locator(".fc-timegrid-event", has_text="Lunch yoga (online)")).to_have_count(0)
        page.locator("h1").click()
        page.screenshot(path=str(SHOTS / "schedule_week_support_one_coach.png"), full_page=True)
        page.keyboard.press("m")
        expect(page.locator(".fc-dayGridMonth-view")).to_be_visible()
        page.keyboard.press("l")
        expect(page.locator(".fc-list")).to_be_visible()
        page.keyboard.press("?")
        expect(page.locator("#cd-help")).to_be_visible()
        assert page.requested_hosts == {urlparse(base).netloc}, page.requested_hosts
    finally:
        context.close()
