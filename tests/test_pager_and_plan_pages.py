"""One pager on console lists (no "Next »" button beside the page numbers), and /plans/ in pages."""

from __future__ import annotations

import datetime as dt
import html
import re

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models.analytics import EngagementEvent
from app.models.identity import ConsoleUser
from app.models.training import ItemType
from app.policy.scope import Actor
from app.services.training.plans import assign_program
from app.web.views.plans import PLANS_PAGE_SIZE
from tests.support.apps import make_accounts
from tests.support.plan_support import make_catalogue, make_customer, make_program
from tests.support.web import login
from tests.support.world import make_world

EVENTS = "/engagement-events/list/?psize_EngagementEventView=5"
NEXT = re.compile(r'<a rel="next" href="([^"]+)"')
PLAN_ROW = re.compile(r'href="/plans/(\d+)"')


def _next(page: str) -> str:
    found = NEXT.search(page)
    assert found, "no Next link"
    return html.unescape(found.group(1))


def test_a_list_has_one_pager_whose_next_opens_the_next_rows(sqlite_app: Flask) -> None:
    accounts = make_accounts(sqlite_app)
    with sqlite_app.app_context():
        world = make_world(None, tag="p")
        customer = world[next(m for m in world if m.__name__ == "PlatformUser")]
        base = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
        for i in range(11):
            db.session.add(
                EngagementEvent(customer_id=customer.id, event_type="pager", occurred_at=base - dt.timedelta(hours=i))
            )
        db.session.commit()
        expected = list(
            db.session.scalars(
                select(EngagementEvent.id).order_by(EngagementEvent.occurred_at.desc(), EngagementEvent.id.desc())
            )
        )
    client = sqlite_app.test_client()
    login(client, "admin", accounts["Admin"].password)
    first = client.get(EVENTS).get_data(as_text=True)
    assert first.count('class="pagination') == 1, "one pager"
    assert "cd-keyset" not in first and "Next &raquo;" not in first
    assert re.search(r'<li class="active"><a [^>]*aria-current="page">1</a>', first)
    second = client.get(_next(first)).get_data(as_text=True)
    shown = [int(x) for x in dict.fromkeys(re.findall(r"/engagement-events/show/(\d+)", second))]
    assert shown == expected[5:10]
    assert second.count('class="pagination') == 1


def _plans(app: Flask, n: int) -> list[int]:
    with app.app_context():
        coach_id = db.session.scalar(select(ConsoleUser.platform_user_id).where(ConsoleUser.username == "coach"))
        coach = Actor(coach_id, frozenset({"Coach"}))
        customers = [make_customer(f"Pat {i:02d}", "UTC", coach_id) for i in range(n)]
        squat = make_catalogue().exercises[0]
        program = make_program(coach, [(ItemType.EXERCISE, squat, 0, 0)], weeks=1, title="Paged")
        ids = []
        for i, customer in enumerate(customers):  # one start date each: the list's order is known
            ids += assign_program(
                coach, program.id, [customer], start_date=dt.date(2027, 1, 1) + dt.timedelta(days=i)
            ).plan_ids
        db.session.commit()
        return ids[::-1]  # newest start first


def test_plans_come_in_pages_and_next_opens_the_rest(sqlite_app: Flask) -> None:
    accounts = make_accounts(sqlite_app)
    newest_first = _plans(sqlite_app, PLANS_PAGE_SIZE + 3)
    client = sqlite_app.test_client()
    login(client, "coach", accounts["Coach"].password)
    first = client.get("/plans/").get_data(as_text=True)
    assert [int(x) for x in PLAN_ROW.findall(first)] == newest_first[:PLANS_PAGE_SIZE]
    second = client.get(_next(first)).get_data(as_text=True)
    assert [int(x) for x in PLAN_ROW.findall(second)] == newest_first[PLANS_PAGE_SIZE:]
    assert not NEXT.search(second)
    # Past the end: the last page; nonsense: a 400 with the reason.
    beyond = client.get("/plans/?page=99")
    assert beyond.status_code == 302
    assert [int(x) for x in PLAN_ROW.findall(client.get(beyond.location).get_data(as_text=True))] == newest_first[
        PLANS_PAGE_SIZE:
    ]
    for bad in ("0", "x", "-1", "9" * 9):
        resp = client.get(f"/plans/?page={bad}")
        assert resp.status_code == 400 and b"page must be" in resp.data


def test_the_first_of_a_month_is_labelled_with_its_month_name(sqlite_app: Flask) -> None:
    accounts = make_accounts(sqlite_app)
    plan_id = _plans(sqlite_app, 1)[0]
    client = sqlite_app.test_client()
    login(client, "coach", accounts["Coach"].password)
    page = client.get(f"/plans/{plan_id}?at=2027-02-01", headers={"Accept-Language": "en"}).get_data(as_text=True)
    cell = re.search(r'data-date="2027-02-01">\s*<div class="cd-cal-date"><strong>([^<]+)</strong>', page)
    assert cell and cell.group(1) == "1 Feb"
