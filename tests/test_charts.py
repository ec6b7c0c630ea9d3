"""Entity charts: SQL aggregation against hand-computed values, filters, scope, limits, bad input, plotly.js."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import plotly.graph_objects as go
import pytest
import sqlalchemy as sa

from app import models as m
from app.extensions import db
from app.policy.scope import scoped_select
from app.services.analytics import charting as ch
from app.services.analytics import entity_charts as ec
from app.web.views.charts import PLOTLY_FILE, PLOTLY_VERSION
from tests.support import dashboard_data
from tests.support.web import csrf_token, login

PLOTLY_URL = f"/static/vendor/plotly/{PLOTLY_VERSION}/plotly.min.js"


@pytest.fixture
def data(app, accounts):
    with app.app_context():
        return dashboard_data.build(dashboard_data.coach_platform_id())


def chart(app, key: str, args: dict, user=None):
    with app.app_context():
        entity = ec.get_entity(key)
        base = sa.select(entity.model) if user is None else scoped_select(entity.model, user)
        return ec.entity_chart(db.session, entity, base, ec.parse_request(entity, args))


def csv_rows(resp) -> list[list[str]]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True))))


Q1 = {"from": "2025-01-01", "to": "2025-03-31", "bucket": "month"}


def test_registry_covers_every_entity_with_real_columns():
    assert {e.model for e in ec.ENTITIES} == set(m.SEED_MODELS)
    assert len(ec.REGISTRY) == 45
    for e in ec.ENTITIES:
        if e.time:
            type_ = e.time_column().type
            assert isinstance(getattr(type_, "impl", type_), (sa.Date, sa.DateTime)), e.resource
        for name in e.categories:
            assert e.column(name) is not None
        for name in e.numbers:
            assert isinstance(e.column(name).type, (sa.Numeric, sa.Integer)), (e.resource, name)


def test_counts_per_month_split_by_status(app, data):
    # Subscriptions start: A Jan (ACTIVE), B Jan (CANCELLED), C Feb (TRIAL), D Feb (PAUSED).
    result = chart(app, "subscriptions", {**Q1, "by": "status"})
    cells = {(p, s): v for p, s, v in result.rows if v}
    assert cells == {
        (dt.date(2025, 1, 1), "ACTIVE"): 1,
        (dt.date(2025, 1, 1), "CANCELLED"): 1,
        (dt.date(2025, 2, 1), "TRIAL"): 1,
        (dt.date(2025, 2, 1), "PAUSED"): 1,
    }
    assert result.unit == "month" and result.total == 4


def test_sum_of_a_numeric_column_and_an_equality_filter(app, data):
    # Invoice amounts by due month: Jan I1 50 + I4 100; Feb I2 50 + I5 100 + I6 100; Mar I3 50.
    assert chart(app, "invoices", {**Q1, "measure": "amount"}).rows == [
        (dt.date(2025, 1, 1), 150), (dt.date(2025, 2, 1), 250), (dt.date(2025, 3, 1), 50),
    ]  # fmt: skip
    assert chart(app, "invoices", {**Q1, "measure": "amount", "status": "PAID"}).rows == [
        (dt.date(2025, 1, 1), 150), (dt.date(2025, 2, 1), 50), (dt.date(2025, 3, 1), 0),
    ]  # fmt: skip
    # The date range narrows the rows too: February only.
    feb = chart(app, "invoices", {"from": "2025-02-01", "to": "2025-02-28", "bucket": "month"})
    assert feb.rows == [(dt.date(2025, 2, 1), 3)]


def test_breakdown_for_an_entity_without_time_column(app, data):
    result = chart(app, "products", {"by": "category"})
    assert result.kind == "breakdown"
    assert sorted(result.rows) == [("COACHING", 1), ("MEMBERSHIP", 1)]
    # Largest first; without "by" the first categorical column is used.
    assert chart(app, "products", {"measure": "price"}).rows == [("MEMBERSHIP", 100), ("COACHING", 50)]


def test_day_and_week_buckets_agree_on_both_databases(app, accounts):
    with app.app_context():
        user = m.PlatformUser(email="w@x.test", full_name="W")
        db.session.add(user)
        db.session.flush()
        # Sunday 5 Jan 2025 late evening UTC belongs to ISO week starting Mon 30 Dec 2024.
        for when in ("2025-01-05T23:30:00", "2025-01-06T00:10:00", "2025-01-12T08:00:00"):
            ts = dt.datetime.fromisoformat(when).replace(tzinfo=dt.UTC)
            db.session.add(m.EngagementEvent(customer_id=user.id, event_type="login", occurred_at=ts))
        db.session.commit()
    weeks = chart(app, "engagementevents", {"from": "2024-12-30", "to": "2025-01-12", "bucket": "week"})
    assert weeks.rows == [(dt.date(2024, 12, 30), 1), (dt.date(2025, 1, 6), 2)]
    days = chart(app, "engagementevents", {"from": "2025-01-05", "to": "2025-01-06"})
    assert days.unit == "day" and days.rows == [(dt.date(2025, 1, 5), 1), (dt.date(2025, 1, 6), 1)]


def test_unit_is_chosen_from_the_range():
    assert ch.choose_unit(ch.DateRange(dt.date(2025, 1, 1), dt.date(2025, 3, 31))) == "day"
    assert ch.choose_unit(ch.DateRange(dt.date(2025, 1, 1), dt.date(2025, 12, 31))) == "week"
    assert ch.choose_unit(ch.DateRange(dt.date(2020, 1, 1), dt.date(2025, 12, 31))) == "month"
    # 20 years by day with 11 series would be 80,000 points: coarsened until it fits.
    long = ch.DateRange(dt.date(2005, 1, 1), dt.date(2025, 1, 1))
    unit = ch.choose_unit(long, 11, "day")
    assert ch.count_buckets(long, unit) * 11 <= ch.MAX_POINTS and unit in ("month", "quarter")


def test_point_cap_holds_for_a_real_chart(app, accounts):
    with app.app_context():
        user = m.PlatformUser(email="cap@x.test", full_name="Cap")
        db.session.add(user)
        db.session.flush()
        start = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
        db.session.execute(
            sa.insert(m.EngagementEvent),
            [
                {"customer_id": user.id, "event_type": f"type{i % 25}", "occurred_at": start + dt.timedelta(days=i)}
                for i in range(0, 730, 2)
            ],
        )
        db.session.commit()
    result = chart(
        app, "engagementevents", {"from": "2023-01-01", "to": "2024-12-31", "bucket": "day", "by": "event_type"}
    )
    assert result.unit != "day" and len(result.rows) <= ch.MAX_POINTS
    assert result.series[-1] == ch.OTHER and len(result.series) == ch.MAX_SERIES + 1
    assert result.total == 365
    fig = ec.figure(ec.get_entity("engagementevents"), result, ch.FigureOptions())
    assert ch.figure_points(fig) <= ch.MAX_POINTS
    assert len(ch.figure_json(fig).encode()) <= ch.MAX_FIGURE_BYTES


def test_figure_budget_is_enforced():
    big = go.Figure(go.Bar(x=list(range(ch.MAX_POINTS + 1)), y=[1] * (ch.MAX_POINTS + 1)))
    with pytest.raises(ch.FigureTooLarge, match="points"):
        ch.figure_json(big)
    heavy = go.Figure(go.Bar(x=["x" * 300 + str(i) for i in range(4000)], y=[1] * 4000))
    with pytest.raises(ch.FigureTooLarge, match="bytes"):
        ch.figure_json(heavy)
    heat = go.Figure(go.Heatmap(z=[[1] * 80 for _ in range(70)]))
    assert ch.figure_points(heat) == 5600
    with pytest.raises(ch.FigureTooLarge):
        ch.figure_json(heat)


def test_locale_sets_plotly_number_separators():
    assert ch.separators("de") == ",."
    assert ch.separators("en") == ".,"
    fig = ch.base_figure(ch.FigureOptions(locale="es"))
    assert json.loads(ch.figure_json(fig))["layout"]["separators"] == ",."


# --- pages, scope, permissions ----------------------------------------------


def test_chart_page_and_csv(app, client, data):
    login(client, "manager", "manager-Passw0rd!")
    page = client.get("/charts/invoices/?from=2025-01-01&to=2025-03-31&bucket=month&measure=amount")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'class="cd-chart"' in html and PLOTLY_URL in html and "coachdesk/charts.js" in html
    assert 'cd-records" href="/invoices/list/?f_due_date_from=2025-01-01&amp;f_due_date_to=2025-03-31"' in html
    assert client.get("/invoices/list/?f_due_date_from=2025-01-01&f_due_date_to=2025-03-31").status_code == 200
    rows = csv_rows(client.get("/charts/invoices/data.csv?from=2025-01-01&to=2025-03-31&bucket=month&status=PAID"))
    assert rows == [["period", "count"], ["2025-01-01", "2"], ["2025-02-01", "1"], ["2025-03-01", "0"]]


def test_coach_chart_covers_only_assigned_customers(app, client, data):
    # Events: A 4 (Jan 1, Feb 2, Mar 1), B 2 (Jan), C 2 (Feb 1, Mar 1). Coach one has A and C.
    login(client, "coach", "coach-Passw0rd!")
    rows = csv_rows(client.get("/charts/engagementevents/data.csv?from=2025-01-01&to=2025-03-31&bucket=month"))
    assert rows[1:] == [["2025-01-01", "1"], ["2025-02-01", "3"], ["2025-03-01", "2"]]
    client.post("/logout/", data={"csrf_token": csrf_token(client, "/")})
    login(client, "manager", "manager-Passw0rd!")
    rows = csv_rows(client.get("/charts/engagementevents/data.csv?from=2025-01-01&to=2025-03-31&bucket=month"))
    assert rows[1:] == [["2025-01-01", "3"], ["2025-02-01", "3"], ["2025-03-01", "2"]]


def test_coach_scope_rules_in_the_fallback(app, data):
    with app.app_context():
        coach = db.session.execute(sa.select(m.ConsoleUser).where(m.ConsoleUser.username == "coach")).scalar_one()
        count = {
            model: db.session.execute(
                scoped_select(model, coach).with_only_columns(sa.func.count(), maintain_column_froms=True)
            ).scalar()
            for model in (m.Subscription, m.Payment, m.PlanItem, m.ScheduledSession, m.Message, m.AuditLog, m.Product)
        }
    assert count == {
        m.Subscription: 2,  # A, C
        m.Payment: 2,  # I1 succeeded, I3 failed (both A's)
        m.PlanItem: 6,  # A's 4, C's 2
        m.ScheduledSession: 2,  # the two coach-one sessions
        m.Message: 2,  # thread with A
        m.AuditLog: 0,  # no rule: no rows
        m.Product: 2,  # catalogue
    }


@pytest.mark.parametrize(
    ("role", "entity", "allowed"),
    [
        ("support", "subscriptions", True),
        ("support", "auditlogs", False),
        ("coach", "engagementevents", True),
        ("coach", "invoices", False),
        ("manager", "cohortsnapshots", True),
        ("compliance", "auditlogs", True),
        ("compliance", "payments", False),
        ("admin", "apiaccesslogs", True),
    ],
)
def test_chart_permissions_follow_the_entity_resource(app, client, accounts, role, entity, allowed):
    login(client, role, f"{role}-Passw0rd!")
    for url in (f"/charts/{entity}/", f"/charts/{entity}/data.csv"):
        resp = client.get(url)
        assert (resp.status_code == 200) is allowed, (url, resp.status_code)
    index = client.get("/charts/").get_data(as_text=True)
    assert (f"/charts/{entity}/" in index) is allowed


def test_anonymous_chart_redirects_to_login(client):
    for url in ("/charts/users/", "/charts/", "/charts/users/data.csv"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login/" in resp.headers["Location"]


def test_every_entity_chart_renders_empty_state_for_admin(app, client, accounts):
    login(client, "admin", "admin-Passw0rd!")
    for entity in ec.ENTITIES:
        if entity.key in ("users", "roles", "userroles", "auditlogs", "authsessions"):
            continue  # creating the console accounts and signing in write rows here
        resp = client.get(f"/charts/{entity.key}/")
        assert resp.status_code == 200, entity.key
        assert "No data for these filters." in resp.get_data(as_text=True), entity.key


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/charts/invoices/?from=2025-02-30", "not a date"),
        ("/charts/invoices/?from=2025-03-01&to=2025-01-01", "is after"),
        ("/charts/invoices/?status=LOST", "is not one of"),
        ("/charts/invoices/?amount=5", "not a column you can filter"),
        ("/charts/invoices/?nosuch=1", "not a column you can filter"),
        ("/charts/invoices/?by=amount", "not a categorical column"),
        ("/charts/invoices/?measure=status", "not a numeric column"),
        ("/charts/invoices/?bucket=fortnight", "unknown bucket"),
        ("/charts/products/?from=2025-01-01", "no time column"),
        ("/charts/coachassignments/?is_primary=maybe", "not true or false"),
        ("/charts/products/?category=" + "x" * 300, "too long"),
    ],
)
def test_bad_chart_input_is_a_400(app, client, accounts, url, message):
    login(client, "admin", "admin-Passw0rd!")
    resp = client.get(url)
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    csv_url = url.replace("/?", "/data.csv?")
    assert client.get(csv_url).status_code == 400


def test_unknown_entity_is_a_clear_404(app, client, accounts):
    login(client, "admin", "admin-Passw0rd!")
    resp = client.get("/charts/widgets/")
    assert resp.status_code == 404 and "There is no chart for widgets." in resp.get_data(as_text=True)


def test_csv_cells_cannot_start_a_formula(app, client, accounts):
    with app.app_context():
        user = m.PlatformUser(email="f@x.test", full_name="F")
        db.session.add(user)
        db.session.flush()
        db.session.add(
            m.EngagementEvent(
                customer_id=user.id, event_type="=HYPERLINK(1)", occurred_at=dashboard_data.at("2025-01-01")
            )
        )
        db.session.commit()
    login(client, "admin", "admin-Passw0rd!")
    rows = csv_rows(client.get("/charts/engagementevents/data.csv?by=event_type&from=2025-01-01&to=2025-01-01"))
    assert rows[1] == ["2025-01-01", "'=HYPERLINK(1)", "1"]


# --- plotly.js --------------------------------------------------------------


def test_plotly_js_is_served_locally_with_long_caching(app, client):
    resp = client.get(PLOTLY_URL)
    assert resp.status_code == 200
    assert resp.data == PLOTLY_FILE.read_bytes()
    assert "javascript" in resp.mimetype
    cc = resp.cache_control
    assert cc.public and cc.max_age == 365 * 24 * 3600 and cc.immutable
    etag = resp.headers["ETag"]
    again = client.get(PLOTLY_URL, headers={"If-None-Match": etag})
    assert again.status_code == 304
    old = client.get("/static/vendor/plotly/0.0.1/plotly.min.js")
    assert old.status_code == 302 and old.headers["Location"].endswith(PLOTLY_URL)
