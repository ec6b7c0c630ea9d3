"""Cursor (keyset) paging: Next/Previous walk every row once in the list's order, at any depth, within the row scope."""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models.analytics import EngagementEvent
from app.models.commerce import Product, ProductCategory
from app.services import keyset
from app.services.data_access import SCOPED_MAX_OFFSET
from tests.support.web import login
from tests.support.world import (
    make_world,
    two_coaches,  # noqa: F401
)

BASE = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
LIST = "/engagement-events/list/?psize_EngagementEventView=10"
NEXT_RE = re.compile(r'<a rel="next" href="([^"]+)"')
PREV_RE = re.compile(r'<a rel="prev" href="([^"]+)"')
ROW_RE = re.compile(r"/engagement-events/show/(\d+)")


def _events(customer_id: uuid.UUID, n: int, tag: str) -> None:
    # Every third row shares its time with the one before: the key must break the tie.
    for i in range(n):
        at = BASE - dt.timedelta(minutes=i - (i % 3 == 2))
        db.session.add(EngagementEvent(customer_id=customer_id, event_type=tag, occurred_at=at))
    db.session.commit()


def _ids(page: str) -> list[int]:
    return list(dict.fromkeys(int(x) for x in ROW_RE.findall(page)))


def _link(regex: re.Pattern[str], page: str) -> str | None:
    found = regex.search(page)
    return html.unescape(found.group(1)) if found else None


def _expected(*criteria) -> list[int]:
    stmt = select(EngagementEvent.id).where(*criteria)
    return list(db.session.scalars(stmt.order_by(EngagementEvent.occurred_at.desc(), EngagementEvent.id.desc())))


def _walk(client, url: str) -> tuple[list[list[int]], str]:
    pages, last = [], url
    while url:
        page = client.get(url).get_data(as_text=True)
        pages.append(_ids(page))
        last, url = url, _link(NEXT_RE, page)
        assert len(pages) < 50, "Next never ended"
    return pages, last


def test_next_and_previous_walk_every_row_once_in_order(app: Flask, accounts: dict) -> None:
    with app.app_context():
        world = make_world(None, tag="k")
        customer = world[next(m for m in world if m.__name__ == "PlatformUser")]
        _events(customer.id, 34, "keyset")
        expected = _expected()
    client = app.test_client()
    login(client, "admin", "admin-Passw0rd!")
    first = client.get(LIST).get_data(as_text=True)
    assert _link(PREV_RE, first) is None
    pages, last_url = _walk(client, LIST)
    assert len(expected) == 35  # make_world adds one event of its own
    assert [len(p) for p in pages] == [10, 10, 10, 5]
    assert [i for p in pages for i in p] == expected
    # Back from the last page: the same pages in reverse, then no Previous on the first.
    page = client.get(last_url).get_data(as_text=True)
    back = []
    while url := _link(PREV_RE, page):
        page = client.get(url).get_data(as_text=True)
        back.append(_ids(page))
    assert back == pages[-2::-1]


def test_cursor_pages_keep_the_search_and_the_sort(app: Flask, accounts: dict) -> None:
    with app.app_context():
        world = make_world(None, tag="s")
        customer = world[next(m for m in world if m.__name__ == "PlatformUser")]
        _events(customer.id, 12, "wanted")
        _events(customer.id, 9, "other")
        expected = list(
            db.session.scalars(
                select(EngagementEvent.id)
                .where(EngagementEvent.event_type == "wanted")
                .order_by(EngagementEvent.occurred_at.asc(), EngagementEvent.id.asc())
            )
        )
    client = app.test_client()
    login(client, "admin", "admin-Passw0rd!")
    url = f"{LIST}&f_event_type=wanted&_oc_EngagementEventView=occurred_at&_od_EngagementEventView=asc"
    pages, _ = _walk(client, url)
    assert [i for p in pages for i in p] == expected


@pytest.mark.parametrize(
    "cursor",
    ["not-base64!!", "e30", "WzEsIm5vdC1hLWRhdGUiLDFd", keyset.encode(keyset.Cursor(True, 5, "x")), "A" * 600],
)
def test_a_broken_cursor_shows_the_first_page_with_a_message(app: Flask, accounts: dict, cursor: str) -> None:
    with app.app_context():
        world = make_world(None, tag="b")
        customer = world[next(m for m in world if m.__name__ == "PlatformUser")]
        _events(customer.id, 12, "broken")
        expected = _expected()[:10]
    client = app.test_client()
    login(client, "admin", "admin-Passw0rd!")
    resp = client.get(f"{LIST}&cursor_EngagementEventView={cursor}")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "This page link is not valid any more" in page
    assert _ids(page) == expected


def test_cursor_paging_stays_inside_the_coach_scope(app: Flask, two_coaches: dict) -> None:  # noqa: F811
    client = two_coaches["client"]
    with app.app_context():
        a_customer = uuid.UUID(two_coaches["a"][next(m for m in two_coaches["a"] if m.__name__ == "PlatformUser")])
        b_customer = uuid.UUID(two_coaches["b"][next(m for m in two_coaches["b"] if m.__name__ == "PlatformUser")])
        _events(a_customer, 13, "mine")
        _events(b_customer, 13, "theirs")
        mine = _expected(EngagementEvent.customer_id == a_customer)
        theirs = _expected(EngagementEvent.customer_id == b_customer)
    pages, _ = _walk(client, LIST)
    assert [i for p in pages for i in p] == mine
    # A cursor aimed at coach B's rows still returns only coach A's.
    with app.app_context():
        row = db.session.get(EngagementEvent, theirs[0])
        forged = keyset.encode(keyset.Cursor(True, row.occurred_at + dt.timedelta(days=1), row.id + 1000))
    page = client.get(f"{LIST}&cursor_EngagementEventView={forged}").get_data(as_text=True)
    assert _ids(page) and set(_ids(page)) <= set(mine)


def test_scoped_lists_stop_page_numbers_sooner_and_offer_next(app: Flask, accounts: dict) -> None:
    coach = app.test_client()
    login(coach, "coach", "coach-Passw0rd!")
    admin = app.test_client()
    login(admin, "admin", "admin-Passw0rd!")
    deep = SCOPED_MAX_OFFSET // 100 + 5
    url = f"/engagement-events/list/?psize_EngagementEventView=100&page_EngagementEventView={deep}"
    assert f"Page numbers stop at {SCOPED_MAX_OFFSET:,} rows" in coach.get(url).get_data(as_text=True)
    assert "Page numbers stop at" not in admin.get(url).get_data(as_text=True)


def test_cursor_values_round_trip_by_column_type(app: Flask) -> None:
    with app.app_context():
        moment = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
        column = keyset.sort_column(EngagementEvent, "occurred_at")
        pk = EngagementEvent.id
        back = keyset.decode(keyset.encode(keyset.Cursor(False, moment, 42)), column, pk)
        assert back == keyset.Cursor(False, moment, 42)
        category = keyset.sort_column(Product, "category")
        back = keyset.decode(keyset.encode(keyset.Cursor(True, ProductCategory.COACHING, 7)), category, Product.id)
        assert back.value is ProductCategory.COACHING
        with pytest.raises(keyset.CursorError):
            keyset.decode(keyset.encode(keyset.Cursor(True, "not a time", 1)), column, pk)
        with pytest.raises(keyset.CursorError):
            keyset.decode(keyset.encode(keyset.Cursor(True, moment, "1; DROP TABLE x")), column, pk)
        assert not keyset.keyable(EngagementEvent, "customer.full_name")
        # A list ordered by its key alone: the cursor carries the key only.
        assert keyset.decode(keyset.encode(keyset.Cursor(True, None, 9)), None, pk) == keyset.Cursor(True, None, 9)
        with pytest.raises(keyset.CursorError):
            keyset.decode(keyset.encode(keyset.Cursor(True, moment, 9)), None, pk)


def test_next_walks_a_list_ordered_by_its_key_alone(app: Flask, accounts: dict) -> None:
    import decimal

    with app.app_context():
        for i in range(23):
            db.session.add(Product(name=f"K{i:02}", category=ProductCategory.COACHING, price=decimal.Decimal(i)))
        db.session.commit()
        expected = list(db.session.scalars(select(Product.id).order_by(Product.id.desc())))
    client = app.test_client()
    login(client, "admin", "admin-Passw0rd!")
    url, seen = "/products/list/?psize_ProductView=10", []
    while url:
        page = client.get(url).get_data(as_text=True)
        assert "This page link is not valid any more" not in page
        seen += list(dict.fromkeys(int(x) for x in re.findall(r"/products/show/(\d+)", page)))
        url = _link(NEXT_RE, page)
    assert seen == expected
