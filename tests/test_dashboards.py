"""Dashboard reports against hand-computed numbers on a small dataset (tests/support/dashboard_data.py).

Range used throughout: 2025-01-01 .. 2025-03-31. Customers A, C are coach one's; B, D coach two's.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import urllib.parse

import pytest

from app.extensions import db
from app.policy.roles import ENTITY_RESOURCES, MANAGER, READ
from app.policy.roles import allowed as role_allows
from app.services.analytics import reports as rp
from app.services.analytics.rollups import refresh_rollups
from tests.support import dashboard_data
from tests.support.web import login

JAN, FEB, MAR = dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 3, 1)


@pytest.fixture
def data(app, accounts):
    with app.app_context():
        dataset = dashboard_data.build(dashboard_data.coach_platform_id())
        refresh_rollups(db.session)
    return dataset


def run(app, key: str, *, scope=None, rollups=True, today=dt.date(2025, 6, 1), **args):
    args = {"from": "2025-01-01", "to": "2025-03-31", **args}
    with app.app_context():
        filters = rp.parse_filters(args)
        ctx = rp.ReportContext(db.session, filters, scope_coach_id=scope, use_rollups=rollups, today=today)
        return rp.all_reports()[key].query(ctx)


def by_first(rows):
    return {r[0]: r[1:] for r in rows}


# --- retention -------------------------------------------------------------


@pytest.mark.parametrize("rollups", [True, False])
def test_retention_heatmap(app, data, rollups):
    # Jan cohort {A, B}: Jan both active, Feb and Mar only A. Feb cohort {C, D}: only C, in Feb and Mar.
    rows = run(app, "retention_heatmap", rollups=rollups).rows
    cells = {(r[0], r[2]): (r[1], r[3], r[4]) for r in rows}
    assert cells == {
        (JAN, 0): (2, 2, 1.0),
        (JAN, 1): (2, 1, 0.5),
        (JAN, 2): (2, 1, 0.5),
        (FEB, 0): (2, 1, 0.5),
        (FEB, 1): (2, 1, 0.5),
    }


def test_retention_scoped_to_coach_and_filtered(app, data):
    # Coach one has A (Jan) and C (Feb): both active in every month since signup.
    rows = run(app, "retention_heatmap", scope=data.coach1).rows
    assert {(r[0], r[2]): (r[1], r[4]) for r in rows} == {
        (JAN, 0): (1, 1.0), (JAN, 1): (1, 1.0), (JAN, 2): (1, 1.0), (FEB, 0): (1, 1.0), (FEB, 1): (1, 1.0),
    }  # fmt: skip
    # Product filter Premium: customers B (Jan) and D (Feb); B active only in Jan, D never.
    rows = run(app, "retention_heatmap", product=str(data.products["Premium"])).rows
    assert {(r[0], r[2]): r[4] for r in rows} == {
        (JAN, 0): 1.0,
        (JAN, 1): 0.0,
        (JAN, 2): 0.0,
        (FEB, 0): 0.0,
        (FEB, 1): 0.0,
    }


def test_retention_curve_for_chosen_cohort(app, data):
    rows = run(app, "retention_curve", cohort="2025-02").rows
    assert [(r[1], r[2]) for r in rows] == [(0, 0.5), (1, 0.5)]
    first = run(app, "retention_curve").rows  # default: the first cohort in range
    assert [(r[1], r[2]) for r in first] == [(0, 1.0), (1, 0.5), (2, 0.5)]


# --- revenue ---------------------------------------------------------------


@pytest.mark.parametrize("rollups", [True, False])
def test_mrr(app, data, rollups):
    # Jan: A 50 + B 100; Feb: A 50 + B 100 (ends in Feb) + D 100; Mar: A 50 + D 100. C is a trial.
    assert by_first(run(app, "revenue_mrr", rollups=rollups).rows) == {
        JAN: ("EUR", 150),
        FEB: ("EUR", 250),
        MAR: ("EUR", 150),
    }
    basic = run(app, "revenue_mrr", product=str(data.products["Basic"])).rows
    assert [r[2] for r in basic] == [50, 50, 50]
    coach2 = run(app, "revenue_mrr", coach=str(data.coach2)).rows  # B and D
    assert [r[2] for r in coach2] == [100, 200, 100]


@pytest.mark.parametrize("rollups", [True, False])
def test_movements(app, data, rollups):
    rows = by_first(run(app, "revenue_movements", rollups=rollups).rows)
    assert rows == {JAN: (2, 0, 0), FEB: (2, 1, 0), MAR: (0, 0, 1)}


@pytest.mark.parametrize("rollups", [True, False])
def test_collection_rate(app, data, rollups):
    # Jan: I1, I4 paid. Feb: I2 paid, I5 uncollectible (I6 is a draft). Mar: I3 open.
    rows = by_first(run(app, "revenue_collection", rollups=rollups).rows)
    assert rows[JAN] == (2, 2, 150, 150, 1.0)
    assert rows[FEB] == (2, 1, 150, 50, 0.5)
    assert rows[MAR] == (1, 0, 50, 0, 0.0)


@pytest.mark.parametrize("rollups", [True, False])
def test_failed_payments_and_scope(app, data, rollups):
    assert run(app, "revenue_failed_payments", rollups=rollups).rows == [
        ("card_declined", 2),
        ("insufficient_funds", 1),
    ]
    assert run(app, "revenue_failed_payments", scope=data.coach1).rows == [("insufficient_funds", 1)]
    assert run(app, "revenue_failed_payments", to="2025-02-28", rollups=rollups).rows == [("card_declined", 2)]


def test_promotion_use(app, data):
    assert run(app, "revenue_promotions").rows == [("NEWYEAR", 1)]
    assert run(app, "revenue_promotions", scope=data.coach1).rows == []


# --- adherence -------------------------------------------------------------


@pytest.mark.parametrize("rollups", [True, False])
def test_adherence_by_week(app, data, rollups):
    # Week 1: A 13th done, A 15th missed, B 20th done, C 10 Feb done -> 3/4. Week 2: A 20th done, A 22nd skipped,
    # C 17 Feb pending -> 1/3.
    rows = by_first(run(app, "adherence_by_week", rollups=rollups).rows)
    assert rows == {1: (4, 3, 0.75), 2: (3, 1, 0.3333)}
    assert by_first(run(app, "adherence_by_week", program=str(data.programs["Mobility"])).rows) == {
        1: (1, 1, 1.0), 2: (1, 0, 0.0),
    }  # fmt: skip


def test_adherence_items_not_yet_due_are_left_out(app, data):
    rows = by_first(run(app, "adherence_by_week", today=dt.date(2025, 2, 12), rollups=False).rows)
    assert rows == {1: (4, 3, 0.75), 2: (2, 1, 0.5)}  # C's 17 Feb item is not due on 12 Feb
    # The rollup counts what was due when it was refreshed.
    with app.app_context():
        refresh_rollups(db.session, today=dt.date(2025, 2, 12))
    assert by_first(run(app, "adherence_by_week").rows) == {1: (4, 3, 0.75), 2: (2, 1, 0.5)}


@pytest.mark.parametrize("rollups", [True, False])
def test_adherence_by_program_and_coach(app, data, rollups):
    assert by_first(run(app, "adherence_by_program", rollups=rollups).rows) == {
        "Strength": (5, 3, 0.6), "Mobility": (2, 1, 0.5),
    }  # fmt: skip
    assert by_first(run(app, "adherence_by_coach", rollups=rollups).rows) == {
        "Coach One": (6, 3, 0.5), "Coach Two": (1, 1, 1.0),
    }  # fmt: skip
    assert by_first(run(app, "adherence_by_coach", scope=data.coach1).rows) == {"Coach One": (6, 3, 0.5)}


@pytest.mark.parametrize("rollups", [True, False])
def test_substitutions_and_feedback(app, data, rollups):
    rows = {r[0]: (r[1], r[2]) for r in run(app, "adherence_substitutions", rollups=rollups).rows if r[1] or r[2]}
    assert rows == {dt.date(2025, 1, 20): (1, 1), dt.date(2025, 2, 10): (0, 1)}


# --- attendance ------------------------------------------------------------


def test_attendance_by_type(app, data):
    # CLASS: one live session (the other is cancelled), capacity 10, booked A + B (C cancelled, D waitlisted),
    # A attended, B no-show. ONE_ON_ONE: capacity 1, B attended.
    rows = by_first(run(app, "attendance_by_type").rows)
    assert rows == {"CLASS": (1, 10, 2, 0.2, 1, 1, 0.5), "ONE_ON_ONE": (1, 1, 1, 1.0, 1, 0, 0.0)}
    assert by_first(run(app, "attendance_by_type", scope=data.coach1).rows) == {"CLASS": (1, 10, 2, 0.2, 1, 1, 0.5)}


def test_attendance_by_coach_and_waitlist(app, data):
    assert set(by_first(run(app, "attendance_by_coach").rows)) == {"Coach One", "Coach Two"}
    assert by_first(run(app, "attendance_waitlist").rows)[JAN] == (2, 1)
    assert by_first(run(app, "attendance_waitlist", scope=data.coach1).rows)[JAN] == (1, 1)


# --- engagement ------------------------------------------------------------


@pytest.mark.parametrize("rollups", [True, False])
def test_events_per_active_customer(app, data, rollups):
    # Jan: A 1 + B 2 events, 2 active. Feb: A 2 + C 1, 2 active. Mar: A 1 + C 1, 2 active.
    rows = by_first(run(app, "engagement_per_active", rollups=rollups).rows)
    assert rows == {JAN: (3, 2, 1.5), FEB: (3, 2, 1.5), MAR: (2, 2, 1.0)}
    scoped = by_first(run(app, "engagement_per_active", rollups=rollups, scope=data.coach1).rows)
    assert scoped == {JAN: (1, 1, 1.0), FEB: (3, 2, 1.5), MAR: (2, 2, 1.0)}


def test_events_by_type_rollup_matches_raw(app, data):
    def totals(rows):
        out = {}
        for _, kind, n in rows:
            out[kind] = out.get(kind, 0) + n
        return {k: v for k, v in out.items() if v}

    assert totals(run(app, "engagement_by_type").rows) == {"login": 4, "workout": 3, "promotion_redeemed": 1}
    assert totals(run(app, "engagement_by_type", rollups=False).rows) == {
        "login": 4, "workout": 3, "promotion_redeemed": 1,
    }  # fmt: skip
    assert totals(run(app, "engagement_by_type", scope=data.coach1).rows) == {"login": 3, "workout": 3}
    daily = run(app, "engagement_by_type").rows
    assert (dt.date(2025, 1, 21), "login", 1) in daily  # 90 days -> daily buckets


@pytest.mark.parametrize("rollups", [True, False])
def test_messages_community_challenges_badges(app, data, rollups):
    assert by_first(run(app, "engagement_messages", rollups=rollups).rows)[JAN] == (1, 1)
    assert by_first(run(app, "engagement_messages", rollups=rollups).rows)[FEB] == (1, 0)
    assert by_first(run(app, "engagement_messages", coach=str(data.coach2)).rows)[FEB] == (1, 0)
    assert by_first(run(app, "engagement_messages", scope=data.coach1).rows) == {JAN: (1, 1), FEB: (0, 0), MAR: (0, 0)}
    assert by_first(run(app, "engagement_community", rollups=rollups).rows) == {JAN: (1, 1), FEB: (1, 0), MAR: (0, 0)}
    assert run(app, "engagement_challenges").rows == [("January Steps", 2), ("Spring", 1)]
    assert run(app, "engagement_challenges", scope=data.coach1).rows == [("January Steps", 1), ("Spring", 1)]
    assert by_first(run(app, "engagement_badges", rollups=rollups).rows) == {JAN: (1,), FEB: (0,), MAR: (1,)}


# --- empty, pages, permissions, bad input ----------------------------------


def test_every_report_handles_an_empty_database(app, accounts):
    for key in rp.all_reports():
        assert run(app, key).rows == [], key


def test_dashboard_pages_render_for_manager(app, client, data, accounts):
    login(client, "manager", "manager-Passw0rd!")
    for name in rp.DASHBOARDS:
        resp = client.get(f"/dashboards/{name}/?from=2025-01-01&to=2025-03-31")
        assert resp.status_code == 200, name
        page = resp.get_data(as_text=True)
        assert "/static/vendor/plotly/" in page and not re.search(r"(src|href)=\"(https?:)?//", page)
        for report in rp.dashboard_reports(name):
            shown = f'data-report="{report.key}"' in page
            assert shown is report.readable(lambda resource: role_allows(MANAGER, resource, READ)), report.key
    page = client.get("/dashboards/revenue/?from=2025-01-01&to=2025-03-31").get_data(as_text=True)
    assert page.count('class="cd-chart"') == 5
    # "Show records" opens the console's own list with its own filters (it answered 404 before).
    link = re.search(r'id="panel-revenue_failed_payments".*?cd-records" href="([^"]+)"', page, re.S)
    url = urllib.parse.urlsplit(html.unescape(link.group(1)))
    assert url.path == "/payments/list/"
    assert dict(urllib.parse.parse_qsl(url.query)) == {
        "f_status": "FAILED", "f_created_at_from": "2025-01-01", "f_created_at_to": "2025-03-31",
    }  # fmt: skip
    assert client.get(link.group(1).replace("&amp;", "&")).status_code == 200


def test_empty_dashboards_show_an_empty_state(app, client, accounts):
    login(client, "manager", "manager-Passw0rd!")
    for name in rp.DASHBOARDS:
        resp = client.get(f"/dashboards/{name}/")
        assert resp.status_code == 200
        page = resp.get_data(as_text=True)
        assert 'class="cd-chart"' not in page and "No data for these filters." in page


def test_csv_download_matches_the_report(app, client, data, accounts):
    login(client, "manager", "manager-Passw0rd!")
    resp = client.get("/dashboards/revenue/revenue_mrr.csv?from=2025-01-01&to=2025-03-31")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.get_data(as_text=True).splitlines() == [
        "month,currency,mrr", "2025-01-01,EUR,150", "2025-02-01,EUR,250", "2025-03-01,EUR,150",
    ]  # fmt: skip


def test_coach_dashboard_covers_only_their_customers(app, client, data, accounts):
    login(client, "coach", "coach-Passw0rd!")
    resp = client.get("/dashboards/engagement/engagement_challenges.csv?from=2025-01-01&to=2025-03-31")
    assert resp.get_data(as_text=True).splitlines() == ["challenge,participants", "January Steps,1", "Spring,1"]
    page = client.get("/dashboards/retention/?from=2025-01-01&to=2025-03-31").get_data(as_text=True)
    assert 'name="coach"' not in page  # no coach picker: a coach sees only their own


def test_coach_program_filter_lists_only_programs_they_may_see(app, client, data, accounts):
    # Another coach's PRIVATE program must not be offered; their SHARED one and the coach's own are.
    from app import models as m
    from app.models.training import ProgramLevel, Visibility

    with app.app_context():
        for title, visibility in (("Secret Plan", Visibility.PRIVATE), ("Team Plan", Visibility.SHARED)):
            db.session.add(
                m.Program(title=title, level=ProgramLevel.BEGINNER, created_by=data.coach2, visibility=visibility)
            )
        db.session.commit()
    login(client, "coach", "coach-Passw0rd!")
    page = client.get("/dashboards/adherence/?from=2025-01-01&to=2025-03-31").get_data(as_text=True)
    assert "Strength" in page and "Team Plan" in page
    assert "Secret Plan" not in page
    manager = app.test_client()
    login(manager, "manager", "manager-Passw0rd!")
    assert "Secret Plan" in manager.get("/dashboards/adherence/").get_data(as_text=True)


def test_dashboards_follow_the_grants_of_the_data_they_show(app, client, data, accounts):
    # The role matrix refuses a coach subscriptions, invoices and payments: so do the dashboards.
    login(client, "coach", "coach-Passw0rd!")
    assert client.get("/dashboards/revenue/").status_code == 403
    for key in ("revenue_mrr", "revenue_failed_payments", "revenue_collection"):
        resp = client.get(f"/dashboards/revenue/{key}.csv?from=2025-01-01&to=2025-03-31")
        assert resp.status_code == 403 and "failure" not in resp.get_data(as_text=True), key
    index = client.get("/dashboards/").get_data(as_text=True)
    assert "/dashboards/revenue/" not in index and "/dashboards/adherence/" in index
    page = client.get("/dashboards/engagement/?from=2025-01-01&to=2025-03-31").get_data(as_text=True)
    assert 'data-report="engagement_messages"' in page and 'data-report="engagement_community"' not in page
    # A manager may not read messages, so the message volume is not on their dashboard either.
    manager = app.test_client()
    login(manager, "manager", "manager-Passw0rd!")
    page = manager.get("/dashboards/engagement/?from=2025-01-01&to=2025-03-31").get_data(as_text=True)
    assert 'data-report="engagement_messages"' not in page and 'data-report="engagement_community"' in page
    assert manager.get("/dashboards/engagement/engagement_messages.csv").status_code == 403


def test_every_report_names_the_resources_it_reads():
    for key, report in rp.all_reports().items():
        assert report.reads, key
        assert set(report.reads) <= set(ENTITY_RESOURCES), key


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("admin", True), ("manager", True), ("coach", True), ("support", False), ("compliance", False)],
)
def test_dashboard_permissions(app, client, accounts, role, allowed):
    login(client, role, f"{role}-Passw0rd!")
    for url in ("/dashboards/", "/dashboards/retention/", "/dashboards/retention/retention_curve.csv"):
        resp = client.get(url)
        assert (resp.status_code == 200) is allowed, (role, url, resp.status_code)
        if not allowed:
            assert resp.status_code in (302, 403)


def test_anonymous_is_sent_to_login(app, client):
    resp = client.get("/dashboards/revenue/")
    assert resp.status_code == 302 and "/login/" in resp.headers["Location"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2025-13-01", "not a date"),
        ("from=2025-03-01&to=2025-01-01", "is after"),
        ("product=abc", "not an id"),
        ("coach=not-a-uuid", "not an id"),
        ("program=-4", "not an id"),
        ("cohort=2025-99", "not a month"),
        ("from=1000-01-01", "between 1900"),
    ],
)
def test_bad_dashboard_input_is_a_400(app, client, accounts, query, message):
    login(client, "manager", "manager-Passw0rd!")
    resp = client.get(f"/dashboards/retention/?{query}")
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    assert client.get(f"/dashboards/retention/retention_curve.csv?{query}").status_code == 400


def test_unknown_dashboard_or_report_is_a_404(app, client, accounts):
    login(client, "manager", "manager-Passw0rd!")
    assert client.get("/dashboards/nope/").status_code == 404
    assert client.get("/dashboards/revenue/nope.csv").status_code == 404
    assert client.get("/dashboards/nope/revenue_mrr.csv").status_code == 404


def test_long_range_heatmap_stays_within_the_point_budget(app):
    from app import models as m
    from app.models.identity import RoleCode
    from app.services.accounts import ensure_platform_role
    from app.services.analytics import charting as ch

    with app.app_context():
        role = ensure_platform_role(RoleCode.CUSTOMER)
        for i in range(100):  # one customer signing up each month, 2015-01 .. 2023-04
            user = m.PlatformUser(email=f"h{i}@x.test", full_name=f"H{i}",
                                  created_at=dashboard_data.at(f"{2015 + i // 12}-{i % 12 + 1:02d}-05"))  # fmt: skip
            db.session.add(user)
            db.session.flush()
            db.session.add(m.UserRole(user_id=user.id, role_id=role.id))
        db.session.commit()
        filters = rp.parse_filters({"from": "2015-01-01", "to": "2023-04-30"})
        ctx = rp.ReportContext(db.session, filters)
        rendered = rp.render_report(rp.all_reports()["retention_heatmap"], ctx)
    assert rendered.error == "" and rendered.figure_json is not None
    assert len(rendered.data.rows) <= ch.MAX_POINTS and rendered.data.meta["dropped_cohorts"] == 19
    assert rendered.data.rows[-1][0] == dt.date(2023, 4, 1)
