"""Links between figures and the records behind them, followed as each role on both databases.

Every "Show records" link on a dashboard panel and on an entity chart (the whole figure and each
bar) must open the console's list and show as many records as the figure counts; every list
links to its chart with its filters; the chart index lists what the role may read, by label.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import urllib.parse

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.identity import ConsoleUser
from app.policy.roles import READ
from app.policy.roles import allowed as role_allows
from app.policy.scope import scoped_select
from app.services.analytics import entity_charts as ec
from app.services.analytics import reports as rp
from app.services.analytics.rollups import refresh_rollups
from app.web.views.base.record_links import list_view
from tests.support import dashboard_data
from tests.support.apps import ROLE_ACCOUNTS
from tests.support.web import login

RANGE = {"from": "2025-01-01", "to": "2025-03-31"}
COUNT_RE = re.compile(r'class="pull-right cd-count" data-estimated="no">\s*<strong>[^<]*</strong>\s*([\d,]+)')
RECORDS_RE = re.compile(r'cd-records" href="([^"]+)"')
BUCKET_RE = re.compile(r'class="cd-bucket-value">([^<]+)</td>\s*<td>(?:<a class="cd-bucket-records" href="([^"]+)")?')
# Rows that signing in and browsing write while the test runs: their counts move between two requests.
MOVING = {"auditlogs", "authsessions", "users", "userroles", "roles"}


@pytest.fixture
def data(app, accounts):
    with app.app_context():
        return dashboard_data.build(dashboard_data.coach_platform_id())


def href(raw: str) -> str:
    return html.unescape(raw)


def list_count(client, url: str) -> int:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    page = resp.get_data(as_text=True)
    assert "Filter ignored" not in page, url
    match = COUNT_RE.search(page)
    assert match, f"no exact record count on {url}"
    return int(match.group(1).replace(",", ""))


def query_count(app, username: str, query: ec.RecordsQuery) -> int:
    """The records a RecordsQuery selects for this account, counted by the chart service itself."""
    with app.app_context():
        user = db.session.execute(sa.select(ConsoleUser).where(ConsoleUser.username == username)).scalar_one()
        entity = ec.get_entity(query.entity)
        req = ec.ChartRequest(query.date_from, query.date_to, dict(query.equals))
        return int(ec.entity_chart(db.session, entity, scoped_select(entity.model, user), req).total)


@pytest.mark.parametrize("role", list(ROLE_ACCOUNTS))
def test_every_dashboard_records_link_opens_the_rows_the_panel_counts(app, client, data, role):
    username = ROLE_ACCOUNTS[role]
    login(client, username, f"{username}-Passw0rd!")
    followed = 0
    for name in rp.DASHBOARDS:
        resp = client.get(f"/dashboards/{name}/", query_string=RANGE)
        if resp.status_code == 403:
            continue
        assert resp.status_code == 200, (role, name)
        page = resp.get_data(as_text=True)
        filters = rp.parse_filters(RANGE)
        for report in rp.readable_reports(name, lambda r: role_allows(role, r, READ)):
            if report.records is None:
                continue
            match = re.search(rf'id="panel-{report.key}".*?</div>\s*</div>', page, re.S)
            assert match, (role, report.key)
            links = RECORDS_RE.findall(match.group(0))
            query = report.records.query(filters)
            view_resource = ec.get_entity(query.entity).resource
            if not role_allows(role, view_resource, READ):
                assert not links, (role, report.key)
                continue
            if not links:  # the list cannot filter so (see record_links): no link rather than a wrong one
                assert report.records.equals, (role, report.key, "no link although the list could show it")
                continue
            url = href(links[0])
            assert urllib.parse.urlsplit(url).path.endswith("/list/"), url
            assert list_count(client, url) == query_count(app, username, query), (role, report.key, url)
            followed += 1
    if role in ("Manager", "Admin"):
        assert followed >= 15, followed


def test_failed_payments_panel_total_equals_its_list(app, client, data):
    # Failed payments in range: two card_declined (I5), one insufficient_funds (I3).
    with app.app_context():
        refresh_rollups(db.session)
    login(client, "manager", "manager-Passw0rd!")
    page = client.get("/dashboards/revenue/", query_string=RANGE).get_data(as_text=True)
    panel = re.search(r'id="panel-revenue_failed_payments".*?</div>\s*</div>', page, re.S).group(0)
    figure = json.loads(html.unescape(re.search(r'data-figure="([^"]+)"', panel).group(1)))
    bars = sum(sum(trace["y"]) for trace in figure["data"])
    assert bars == 3
    assert list_count(client, href(RECORDS_RE.search(panel).group(1))) == bars


def _chart_links(client, url: str) -> tuple[str | None, list[tuple[float, str | None]]]:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    page = resp.get_data(as_text=True)
    whole = RECORDS_RE.search(page)
    bars = [(float(v), href(u) if u else None) for v, u in BUCKET_RE.findall(page)]
    return (href(whole.group(1)) if whole else None), bars


@pytest.mark.parametrize("role", list(ROLE_ACCOUNTS))
def test_every_entity_chart_bar_links_to_as_many_records(app, client, data, role):
    username = ROLE_ACCOUNTS[role]
    login(client, username, f"{username}-Passw0rd!")
    checked = 0
    for entity in ec.ENTITIES:
        if not role_allows(role, entity.resource, READ) or entity.key in MOVING:
            continue
        for args in ({}, {"by": entity.categories[0]} if entity.categories else None):
            if args is None:
                continue
            url = f"/charts/{entity.key}/?" + urllib.parse.urlencode(args)
            whole, bars = _chart_links(client, url)
            total = sum(v for v, _ in bars)
            if whole is not None:
                assert list_count(client, whole) == total, (role, url, whole)
            for value, link in bars:
                if link is None:
                    continue
                assert list_count(client, link) == value, (role, url, link)
                checked += 1
    if role in ("Admin", "Manager", "Coach"):
        assert checked >= 20, checked


def test_coach_bar_links_stay_in_scope(app, client, data):
    # Events: A 4, B 2, C 2; coach one has A and C, so 6 of 8 behind the bars.
    login(client, "coach", "coach-Passw0rd!")
    whole, bars = _chart_links(client, "/charts/engagementevents/?from=2025-01-01&to=2025-03-31&bucket=month")
    assert [v for v, _ in bars] == [1, 3, 2]
    assert list_count(client, whole) == 6
    assert [list_count(client, link) for _, link in bars] == [1, 3, 2]


def test_bars_split_by_a_category_link_to_that_category(app, client, data):
    login(client, "manager", "manager-Passw0rd!")
    _whole, bars = _chart_links(client, "/charts/payments/?by=status&from=2025-01-01&to=2025-03-31&bucket=month")
    failed = [link for v, link in bars if link and "f_status=FAILED" in link]
    assert len(failed) == 2  # February (two) and March (one)
    assert sorted(list_count(client, link) for link in failed) == [1, 2]
    _whole, bars = _chart_links(client, "/charts/programitems/?by=program_id")  # a foreign key: via its relation
    assert all(link is None or "f_program=" in link for _, link in bars)


def csv_total(client, url: str) -> float:
    resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    return sum(float(r[-1]) for r in rows[1:])


@pytest.mark.parametrize(
    ("role", "list_url", "carried"),
    [
        ("manager", "/payments/list/?f_status=FAILED", {"f_status": "FAILED"}),
        ("manager", "/invoices/list/?f_status=PAID&f_due_date_from=2025-01-15", None),
        ("coach", "/engagement-events/list/?f_event_type=workout", {"f_event_type": "workout"}),
        ("support", "/payments/list/?q=card_declined", {"q": "card_declined"}),
    ],
)
def test_list_chart_link_carries_the_filters(app, client, data, role, list_url, carried):
    login(client, role, f"{role}-Passw0rd!")
    page = client.get(list_url).get_data(as_text=True)
    count = int(COUNT_RE.search(page).group(1).replace(",", ""))
    assert count > 0
    chart = href(re.search(r'class="btn btn-sm btn-default cd-chart-link" href="([^"]+)"', page).group(1))
    split = urllib.parse.urlsplit(chart)
    expected = carried or dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(list_url).query))
    assert split.path.startswith("/charts/") and dict(urllib.parse.parse_qsl(split.query)) == expected
    assert client.get(chart).status_code == 200
    assert csv_total(client, split.path + "data.csv?" + split.query) == count
    # ... and the chart's own records link goes back to the same rows.
    whole, _bars = _chart_links(client, chart)
    assert list_count(client, whole) == count


def test_unfiltered_list_links_to_the_whole_chart(app, client, data):
    login(client, "manager", "manager-Passw0rd!")
    page = client.get("/subscriptions/list/").get_data(as_text=True)
    assert 'cd-chart-link" href="/charts/subscriptions/"' in page
    assert csv_total(client, "/charts/subscriptions/data.csv") == 4


@pytest.mark.parametrize("role", list(ROLE_ACCOUNTS))
def test_chart_index_lists_what_the_role_reads_by_label(app, client, accounts, role):
    username = ROLE_ACCOUNTS[role]
    login(client, username, f"{username}-Passw0rd!")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/charts/"' in home, "the chart index is in the menu"
    page = client.get("/charts/").get_data(as_text=True)
    with app.test_request_context():
        for entity in ec.ENTITIES:
            shown = f'href="/charts/{entity.key}/"' in page
            assert shown is role_allows(role, entity.resource, READ), (role, entity.key)
            if shown:
                assert f">{list_view(entity.resource).list_title}</a>" in page, entity.key
    assert ">EngagementEvents<" not in page and "occurred_at" not in page
    if role in ("Manager", "Coach"):
        assert ">Engagement events</a>" in page and "over When" in page and "by Event" in page
