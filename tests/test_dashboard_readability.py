"""Dashboards read well: every report's figure as its page gets it (legend outside the plot, series and
categories by name, round ticks, a partial last period marked), plotly's own locale served in es/de,
and the demo's headline snapshots filling "Headline trends".

Small data (tests/support/dashboard_data.py) on SQLite; range 2025-01-01 .. 2025-03-31.
"""

from __future__ import annotations

import datetime as dt
import enum
import inspect
import json
import re

import pytest

from app import models
from app.extensions import db
from app.models.analytics import CohortSnapshot
from app.services.analytics import reports as rp
from app.services.analytics.rollups import refresh_rollups
from app.services.demo import telemetry
from app.services.demo.base import Ctx
from tests.support import dashboard_data
from tests.support.apps import make_accounts
from tests.support.web import login

SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")
CODE = re.compile(r"^[A-Z0-9]+(_[A-Z0-9]+)+$")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
ENUM_CODES = {
    str(member.value)
    for _name, cls in inspect.getmembers(models, inspect.isclass)
    if issubclass(cls, enum.Enum)
    for member in cls
    if isinstance(member.value, str) and member.value.isupper()
}
COMPLETE, PARTIAL = dt.date(2025, 6, 1), dt.date(2025, 3, 15)  # "today": after the range, in its last month


@pytest.fixture
def data(sqlite_app):
    make_accounts(sqlite_app)
    with sqlite_app.app_context():
        dataset = dashboard_data.build(dashboard_data.coach_platform_id())
        refresh_rollups(db.session)
        # The demo's weekly headline history, as of the range's end ("Headline trends" reads it).
        telemetry.seed_headline_snapshots(Ctx(seed=1, customers=1, now=dt.datetime(2025, 3, 31, 12, tzinfo=dt.UTC)))
        db.session.commit()
    return dataset


def figure(app, key: str, today: dt.date = COMPLETE, locale: str = "en") -> tuple[rp.ReportData, dict]:
    with app.app_context():
        filters = rp.parse_filters({"from": "2025-01-01", "to": "2025-03-31"})
        ctx = rp.ReportContext(db.session, filters, today=today, locale=locale)
        rendered = rp.render_report(rp.all_reports()[key], ctx)
        assert rendered.figure_json, f"{key}: no figure ({rendered.error or 'no data'})"
        return rendered.data, json.loads(rendered.figure_json)


def shown_strings(fig: dict) -> list[str]:
    """Trace names and category values: what the legend, the axes and the hover labels show."""
    out = []
    for trace in fig["data"]:
        out.append(trace.get("name") or "")
        for axis in ("x", "y"):
            out += [v for v in trace.get(axis) or () if isinstance(v, str) and not re.match(r"\d{4}-\d\d", v)]
    out += [a["text"] for a in fig["layout"].get("annotations", ())]
    return [s for s in out if s]


def test_every_report_figure_reads_well(sqlite_app, data):
    for key in sorted(rp.all_reports()):  # one data set for all: each figure is checked in turn
        check_figure(key, *figure(sqlite_app, key))


def check_figure(key: str, table: rp.ReportData, fig: dict) -> None:
    layout = fig["layout"]
    legend = layout["legend"]
    assert legend["orientation"] == "h" and legend["yanchor"] == "bottom" and legend["y"] >= 1, (key, legend)
    for text in shown_strings(fig):
        assert not SNAKE.match(text) and text not in table.columns, f"{key}: raw column name {text!r}"
        assert not CODE.match(text) and text not in ENUM_CODES, f"{key}: enum code {text!r}"
        assert not UUID.search(text), f"{key}: id {text!r}"
    heatmaps = [t for t in fig["data"] if t["type"] == "heatmap"]
    if heatmaps:  # the values are colours: the colour bar is their axis
        value_axes = [t["colorbar"] for t in heatmaps] + [layout["xaxis"]]
    else:
        value_axes = [v for k, v in layout.items() if k.startswith("yaxis")]
    assert value_axes and all(axis.get("tickformat") for axis in value_axes), f"{key}: {value_axes}"


def test_enum_categories_show_their_labels(sqlite_app, data):
    from app.models.labels import enum_label
    from app.models.scheduling import SessionType

    table, fig = figure(sqlite_app, "attendance_by_type")
    with sqlite_app.app_context():
        assert fig["data"][0]["x"] == [enum_label(SessionType(r[0])) for r in table.rows]
    assert [r[0] for r in table.rows] == [SessionType(r[0]).value for r in table.rows]  # the CSV keeps codes


def dashed_frames(fig: dict) -> list[dict]:
    return [s for s in fig["layout"].get("shapes", ()) if s.get("line", {}).get("dash") == "dash"]


def test_a_partial_last_period_is_dashed_and_labelled(sqlite_app, data):
    for key in ("revenue_mrr", "revenue_collection", "engagement_badges", "revenue_movements"):
        _table, fig = figure(sqlite_app, key, today=PARTIAL)
        frames = dashed_frames(fig)
        assert [(f["x0"][:10], f["x1"][:10]) for f in frames] == [("2025-03-01", "2025-04-01")], key
        assert [a["text"] for a in fig["layout"]["annotations"]] == ["partial"], key
        lines = [t for t in fig["data"] if t["type"] == "scatter"]
        dashed = [t for t in lines if t.get("line", {}).get("dash") == "dash"]
        assert len(dashed) == len(lines) - len(dashed), key  # one dashed last segment per line
        assert all(t["x"][-1].startswith("2025-03-01") and "partial" in t["name"] for t in dashed), key
        colours = {t["name"]: t["line"]["color"] for t in lines if t not in dashed}
        assert all(t["line"]["color"] == colours[t["name"].rsplit(" (", 1)[0]] for t in dashed), key
        assert all(not t["x"][-1].startswith("2025-03-01") for t in lines if t not in dashed), key

        _table, whole = figure(sqlite_app, key, today=COMPLETE)
        assert not dashed_frames(whole) and not whole["layout"].get("annotations"), key
        assert not [t for t in whole["data"] if t.get("line", {}).get("dash") == "dash"], key


def test_page_serves_plotly_locale_and_sets_it(sqlite_app, data):
    client = sqlite_app.test_client()
    login(client, "manager", "manager-Passw0rd!")
    for lang in ("es", "de"):
        page = client.get(
            "/dashboards/revenue/?from=2025-01-01&to=2025-03-31", headers={"Accept-Language": lang}
        ).get_data(as_text=True)
        tag = re.search(r'<script src="([^"]+)"[^>]*data-plotly-locale="([a-z]+)"', page)
        assert tag and tag.group(2) == lang, f"no plotly locale script in {lang}"
        script = client.get(tag.group(1))
        assert script.status_code == 200 and "javascript" in script.mimetype
        body = script.get_data(as_text=True)
        assert f'name:"{lang}"' in body and "Plotly.register(locale)" in body
    charts = client.get(re.search(r'<script src="([^"]+charts\.js)"', page).group(1)).get_data(as_text=True)
    assert "data-plotly-locale" in charts and "locale: plotlyLocale()" in charts


def test_english_page_loads_no_plotly_locale(sqlite_app, data):
    client = sqlite_app.test_client()
    login(client, "manager", "manager-Passw0rd!")
    page = client.get("/dashboards/revenue/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "data-plotly-locale" not in page and "plotly.min.js" in page


def test_unknown_plotly_locale_is_a_404(sqlite_app):
    from app.web.views.charts import PLOTLY_VERSION

    assert (
        sqlite_app.test_client().get(f"/static/vendor/plotly/{PLOTLY_VERSION}/plotly-locale-fr.js").status_code == 404
    )


def test_demo_headline_snapshots_fill_headline_trends(sqlite_app, data):
    today = dt.date(2025, 3, 31)  # the demo's "now" in the fixture
    weekly = {today - dt.timedelta(weeks=k) for k in range(telemetry.HEADLINE_WEEKS + 1)}
    with sqlite_app.app_context():
        rows = db.session.query(CohortSnapshot.captured_at).filter_by(cohort_key="all").distinct().all()
        captured = {r[0].date() if hasattr(r[0], "date") else r[0] for r in rows}
        # Weekly, back from today, from the first week the data has figures (January 2025).
        assert today in captured and captured <= weekly and len(captured) == 13
        # "Headline trends" with its default filters (the last 12 months) as of that day.
        ctx = rp.ReportContext(db.session, rp.parse_filters({}, today=today), today=today)
        trends = rp.all_reports()["snapshot_trends"].query(ctx)
    assert {r[1] for r in trends.rows} >= {"active_customers", "invoice_collection_rate", "mrr_EUR"}
