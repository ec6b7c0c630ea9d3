"""The program builder in a real browser: Playwright (sync API) driving Debian's Chromium against a real server.

Chromium missing: the test fails when CI=true and is skipped otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.e2e.browser import launched_chromium, live_app
from tests.support.apps import make_accounts

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Flask]]:
    """The app on a freshly migrated SQLite file, served by werkzeug on a free localhost port."""
    with live_app(tmp_path_factory.mktemp("e2e"), accounts=False) as served:
        yield served


@pytest.fixture(scope="module")
def browser(server):
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def seed(server) -> dict:
    return _seed(server[1])


def _seed(app: Flask) -> dict:
    import sqlalchemy as sa

    from app.extensions import db
    from app.models.identity import ConsoleUser
    from app.policy.scope import Actor
    from tests.support.plan_support import make_catalogue, make_customer, make_program

    accounts = make_accounts(app)
    with app.app_context():
        coach_id = db.session.scalar(sa.select(ConsoleUser.platform_user_id).where(ConsoleUser.username == "coach"))
        catalogue = make_catalogue()
        make_customer("Greta Garten", "Europe/Berlin", coach_id)
        program = make_program(Actor(coach_id, frozenset({"Coach"})), [], weeks=1, title="Spring block")
        return {
            "coach": accounts["Coach"],
            "program_id": program.id,
            "coach_id": coach_id,
            "exercise_id": catalogue.exercises[0],
        }


def _signed_in_page(browser, base: str, seed: dict):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1500, "height": 1100}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/login/")
    page.fill("#username", seed["coach"].username)
    page.fill("#password", seed["coach"].password)
    page.click("form[name=login] [type=submit]")
    expect(page.locator("h1")).to_contain_text("Welcome")
    return context, page


def test_coach_builds_saves_reloads_and_assigns(server, browser, seed):
    from playwright.sync_api import expect

    base, _app = server
    ARTIFACTS.mkdir(exist_ok=True)
    context, page = _signed_in_page(browser, base, seed)
    try:
        page.goto(f"{base}/planbuilder/{seed['program_id']}")
        monday = page.locator('.cd-day[data-week="0"][data-day="0"]')
        wednesday = page.locator('.cd-day[data-week="0"][data-day="2"]')
        library = page.locator("#cd-lib-results")
        expect(library.locator(".cd-lib-item")).to_have_count(4)

        # Drag three items onto two days: two exercises on Monday, a meal on Wednesday.
        library.locator('.cd-lib-item[data-name="Back squat"]').drag_to(monday)
        library.locator('.cd-lib-item[data-name="Push-up"]').drag_to(monday)
        page.select_option("#cd-lib-type", "MEAL")
        expect(library.locator('.cd-lib-item[data-name="Oat porridge"]')).to_be_visible()
        library.locator('.cd-lib-item[data-name="Oat porridge"]').drag_to(wednesday)
        expect(monday.locator(".cd-card")).to_have_count(2)
        expect(wednesday.locator(".cd-card")).to_have_count(1)
        assert monday.locator(".cd-card").all_inner_texts()[0].startswith("Back squat")

        # Reorder by mouse: Push-up dropped at the top of Monday.
        monday.locator('.cd-card[data-name="Push-up"]').drag_to(monday, target_position={"x": 20, "y": 8})
        expect(monday.locator(".cd-card").first).to_have_attribute("data-name", "Push-up")

        # And by keyboard: the meal goes one day left and back again, announced to screen readers.
        meal = page.locator('.cd-card[data-name="Oat porridge"]')
        meal.focus()
        page.keyboard.press("ArrowLeft")
        expect(page.locator('.cd-day[data-week="0"][data-day="1"] .cd-card')).to_have_count(1)
        expect(page.locator("#cd-announce")).to_contain_text("Oat porridge moved to week 1, Tue")
        page.keyboard.press("ArrowRight")
        expect(wednesday.locator(".cd-card")).to_have_count(1)
        expect(page.locator(".cd-card[data-name='Oat porridge']")).to_be_focused()

        # Edit a prescription (a superset label is upper-cased).
        monday.locator('.cd-card[data-name="Back squat"]').click()
        editor = page.locator("#cd-editor")
        expect(editor).to_be_visible()
        editor.locator("input[name=sets]").fill("4")
        editor.locator("input[name=reps]").fill("8")
        editor.locator("input[name=load_kg]").fill("60")
        editor.locator("input[name=superset]").fill("a")
        editor.locator("#cd-editor-apply").click()
        squat = monday.locator('.cd-card[data-name="Back squat"]')
        expect(squat).to_contain_text("4×8")
        expect(squat.locator(".cd-superset")).to_have_text("A")

        # Copy the week, then save.
        page.locator('.cd-copy-week[data-week="0"]').click()
        expect(page.locator(".cd-week")).to_have_count(2)
        expect(page.locator('.cd-week[data-week="1"] .cd-card')).to_have_count(3)
        page.click("#cd-save")
        expect(page.locator("#cd-status")).to_have_text("Saved (version 2).")
        page.screenshot(path=str(ARTIFACTS / "plan_builder.png"), full_page=True)

        # Reload: the same program comes back from the server.
        page.reload()
        expect(page.locator(".cd-week")).to_have_count(2)
        for week in ("0", "1"):
            cards = page.locator(f'.cd-day[data-week="{week}"][data-day="0"] .cd-card')
            expect(cards).to_have_count(2)
            assert [cards.nth(n).get_attribute("data-name") for n in range(2)] == ["Push-up", "Back squat"]
            expect(page.locator(f'.cd-day[data-week="{week}"][data-day="2"] .cd-card')).to_have_count(1)
        expect(page.locator('.cd-day[data-week="1"][data-day="0"] .cd-card[data-name="Back squat"]')).to_contain_text(
            "4×8 · 60 kg"
        )
        expect(page.locator("#cd-version")).to_have_text("Version 2")

        # Assign to the coach's customer, starting on Monday 22 March 2027 (Berlin changes clocks on the 28th).
        page.fill("#cd-customer-q", "Greta")
        option = page.locator(".cd-customer-option", has_text="Greta Garten")
        option.click()
        expect(page.locator("#cd-customer-chosen")).to_contain_text("Greta Garten")
        page.fill("#cd-start-date", "2027-03-22")
        page.click("#cd-assign")
        expect(page.locator("#cd-assign-result")).to_contain_text("Assigned: 1 new plans")
        page.locator("#cd-assign-result a.cd-plan-link").click()

        expect(page.locator("h1")).to_contain_text("Greta Garten")
        expected = {
            "2027-03-22": ["Push-up", "Back squat"],
            "2027-03-24": ["Oat porridge"],
            "2027-03-29": ["Push-up", "Back squat"],
            "2027-03-31": ["Oat porridge"],
        }
        for day, names in expected.items():
            cell = page.locator(f'td[data-date="{day}"] .cd-item-name')
            expect(cell).to_have_count(len(names))
            assert cell.all_inner_texts() == names, day
        expect(page.locator('td[data-date="2027-03-23"] .cd-plan-item')).to_have_count(0)
        expect(page.locator(".cd-rate").first).to_have_text("—")
        page.screenshot(path=str(ARTIFACTS / "plan_view.png"), full_page=True)
        assert re.search(r"/plans/\d+$", page.url)
    finally:
        context.close()


def test_a_concurrent_save_is_refused_and_nothing_is_lost(server, browser, seed):
    from playwright.sync_api import expect

    from app.extensions import committed
    from app.models.training import ItemType, Visibility
    from app.policy.scope import Actor
    from app.services.training.programs import save_program
    from tests.support.plan_support import make_program

    base, app = server
    coach = Actor(seed["coach_id"], frozenset({"Coach"}))
    with app.app_context():
        program = make_program(
            coach, [(ItemType.EXERCISE, seed["exercise_id"], 0, 0)], title="Shared", visibility=Visibility.SHARED
        )
        program_id = program.id
    context, page = _signed_in_page(browser, base, seed)
    try:
        page.goto(f"{base}/planbuilder/{program_id}")
        expect(page.locator(".cd-card")).to_have_count(1)
        with app.app_context(), committed():  # another coach saves first
            save_program(coach, program_id, {"version": 1, "weeks": 1, "items": []})
        page.locator("#cd-lib-results .cd-lib-item").first.focus()
        page.keyboard.press("Enter")  # keyboard add to the selected day (week 1, Monday)
        expect(page.locator(".cd-card")).to_have_count(2)
        page.locator('.cd-day[data-week="0"][data-day="0"]').focus()  # keyboard: select Tuesday, add there
        page.keyboard.press("ArrowRight")
        tuesday = page.locator('.cd-day[data-week="0"][data-day="1"]')
        expect(tuesday).to_be_focused()
        expect(page.locator("#cd-announce")).to_contain_text("Week 1, Tue")
        page.locator("#cd-lib-results .cd-lib-item").nth(1).focus()
        page.keyboard.press("Enter")
        expect(tuesday.locator(".cd-card")).to_have_count(1)
        tuesday.focus()  # copy Tuesday and paste it on Wednesday, by keyboard
        page.keyboard.press("Control+c")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("Control+v")
        wednesday = page.locator('.cd-day[data-week="0"][data-day="2"]')
        expect(wednesday.locator(".cd-card")).to_have_count(1)
        expect(page.locator("#cd-announce")).to_contain_text("Day pasted into week 1, Wed")
        page.click("#cd-save")
        expect(page.locator("#cd-alert")).to_be_visible()
        expect(page.locator("#cd-alert-text")).to_contain_text("Someone else saved this program")
        expect(page.locator(".cd-card")).to_have_count(4)  # the page keeps the coach's work
        page.click("#cd-reload")
        expect(page.locator(".cd-card")).to_have_count(0)
        expect(page.locator("#cd-version")).to_have_text("Version 2")
    finally:
        context.close()
