"""One look in Chromium: the task menu fits one navbar row at 1,400 px for every role in en, es and de,
and at 390 px a list, a show page, the plan calendar and the builder (dragged by touch) stay usable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.e2e.browser import launched_chromium, live_app, pass_mfa
from tests.support.apps import make_accounts

pytestmark = pytest.mark.e2e

NAVBAR = """() => {
  const nav = document.querySelector('.navbar');
  const item = nav.querySelector('.navbar-nav > li > a');
  return {
    nav: nav.getBoundingClientRect().height,
    item: item.getBoundingClientRect().height,
    groups: [...nav.querySelectorAll('.cd-menu-group')].map((g) => g.dataset.group),
    iconsOnly: nav.classList.contains('cd-nav-icons'),
    text: nav.textContent,
    lang: document.documentElement.lang || document.querySelector('.cd-language-code').textContent.trim(),
  };
}"""
PAGE_WIDTH = "() => document.documentElement.scrollWidth"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Flask]]:
    with live_app(tmp_path_factory.mktemp("layout"), accounts=False) as served:
        yield served


@pytest.fixture(scope="module")
def browser(server):
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def seed(server) -> dict:
    import datetime as dt

    import sqlalchemy as sa

    from app.extensions import db
    from app.models.identity import ConsoleUser
    from app.models.training import ItemType
    from app.policy.scope import Actor
    from app.services.training.plans import assign_program
    from tests.support.plan_support import make_catalogue, make_customer, make_program

    app = server[1]
    accounts = make_accounts(app)
    with app.app_context():
        coach_id = db.session.scalar(sa.select(ConsoleUser.platform_user_id).where(ConsoleUser.username == "coach"))
        coach = Actor(coach_id, frozenset({"Coach"}))
        catalogue = make_catalogue()
        customer = make_customer("Greta Garten", "Europe/Berlin", coach_id)
        squat = catalogue.exercises[0]
        program = make_program(coach, [(ItemType.EXERCISE, squat, 0, 0)], weeks=1, title="Spring block")
        result = assign_program(coach, program.id, [customer], start_date=dt.date(2027, 2, 22))
        db.session.commit()
        return {"accounts": accounts, "program_id": program.id, "plan_id": result.plan_ids[0]}


def _sign_in(page, app: Flask, account) -> None:
    page.goto("/login/")
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    page.click("form[name=login] [type=submit]")
    pass_mfa(page, app, account.username)


def test_the_menu_fits_one_row_at_1400_px_for_every_role_in_en_es_and_de(server, browser, seed):
    from app.web.views.menu_groups import GROUP_KEYS

    base, app = server
    internals = ("Base Permissions", "Views/Menus", "List Groups", "List Users", "Permission on")
    for role, account in seed["accounts"].items():
        context = browser.new_context(base_url=base, viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            _sign_in(page, app, account)
            for locale in ("en", "es", "de"):
                page.set_extra_http_headers({"Accept-Language": locale})
                page.goto("/")
                page.wait_for_load_state("load")
                bar = page.evaluate(NAVBAR)
                assert bar["lang"].lower().startswith(locale), (role, locale, bar["lang"])
                assert bar["nav"] < bar["item"] * 1.5, (role, locale, bar["nav"], bar["item"])
                assert bar["groups"], role
                assert bar["groups"] == [g for g in GROUP_KEYS if g in bar["groups"]], bar["groups"]
                assert not any(word in bar["text"] for word in internals), role
                if locale == "en":
                    assert not bar["iconsOnly"], f"{role}: English labels should fit without falling back to icons"
        finally:
            context.close()


def _touch_drag(page, source, target) -> None:
    """A finger on ``source``, moved in steps onto ``target`` and lifted (Chromium's touch events via CDP)."""
    start, end = source.bounding_box(), target.bounding_box()
    x0, y0 = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    x1, y1 = end["x"] + end["width"] / 2, end["y"] + end["height"] - 10
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
    for step in range(1, 11):
        x, y = x0 + (x1 - x0) * step / 10, y0 + (y1 - y0) * step / 10
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_at_390_px_lists_show_pages_the_plan_and_the_builder_work_by_touch(server, browser, seed):
    import sqlalchemy as sa
    from playwright.sync_api import expect

    from app.extensions import db
    from app.models.training import ProgramItem

    base, app = server
    context = browser.new_context(
        base_url=base, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True, locale="en-GB"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        _sign_in(page, app, seed["accounts"]["Coach"])

        # A list: filters folded behind a toggle, the table on the first screen, the page not wider than the phone.
        page.goto("/customer-profiles/list/")
        toggle = page.locator(".cd-filters-toggle")
        expect(toggle).to_be_visible()
        expect(page.locator("form.cd-filters")).to_be_hidden()
        table = page.locator(".table-responsive table").first
        assert table.bounding_box()["y"] < 844
        assert page.evaluate(PAGE_WIDTH) <= 390
        toggle.click()
        expect(page.locator("form.cd-filters")).to_be_visible()

        # Its show page.
        page.locator(".table-responsive a[href*='/show/']").first.click()
        expect(page.locator(".table-responsive")).not_to_have_count(0)
        assert page.evaluate(PAGE_WIDTH) <= 390

        # The plan calendar: seven columns in the phone's width, the 1st labelled with its month's name.
        page.goto(f"/plans/{seed['plan_id']}?at=2027-03-01")
        expect(page.locator('td[data-date="2027-03-01"] .cd-cal-date')).to_have_text("1 Mar")
        assert page.evaluate(PAGE_WIDTH) <= 390

        # The builder: no wider than the phone; a finger drags Monday's squat to Wednesday and Save keeps it.
        page.goto(f"/planbuilder/{seed['program_id']}")
        card = page.locator('.cd-day[data-week="0"][data-day="0"] .cd-card')
        expect(card).to_have_count(1)
        assert page.evaluate(PAGE_WIDTH) <= 390
        wednesday = page.locator('.cd-day[data-week="0"][data-day="2"]')
        wednesday.scroll_into_view_if_needed()
        card.scroll_into_view_if_needed()
        # A swipe up on the card's body scrolls the page and moves nothing; the handle drags.
        before = page.evaluate("window.scrollY")
        _touch_drag(page, card.locator(".cd-card-name"), page.locator(".cd-builder-title, h1").first)
        page.wait_for_function(f"window.scrollY !== {before}")
        expect(card).to_have_count(1)
        card.scroll_into_view_if_needed()
        wednesday.scroll_into_view_if_needed()
        _touch_drag(page, card.locator(".cd-grip"), wednesday)
        expect(wednesday.locator(".cd-card")).to_have_count(1)
        page.click("#cd-save")
        expect(page.locator("#cd-status")).to_have_text("Saved (version 2).")
        with app.app_context():
            days = db.session.scalars(
                sa.select(ProgramItem.day_index).where(ProgramItem.program_id == seed["program_id"])
            ).all()
        assert days == [2]
    finally:
        context.close()
