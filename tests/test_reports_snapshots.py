"""Cohort snapshots (idempotent capture, CLI, job), rollup refresh, and report discovery."""

from __future__ import annotations

import datetime as dt
import decimal
import sys
import textwrap

import pytest
import sqlalchemy as sa

from app import models as m
from app.extensions import db
from app.jobs.cron import CRON_TABLE
from app.models.rollups import CustomerActivityMonthly, EngagementDaily
from app.services.analytics import reports as rp
from app.services.analytics.jobs import CAPTURE_SNAPSHOTS, REFRESH_ROLLUPS
from app.services.analytics.rollups import refresh_rollups
from app.services.analytics.snapshots import capture_snapshots, period_start
from app.services.jobs.context import run_inline
from app.services.jobs.runs import start_job
from tests.support import dashboard_data
from tests.support.web import login

NOW = dt.datetime(2025, 3, 20, 15, 30, tzinfo=dt.UTC)


@pytest.fixture
def data(app, accounts):
    with app.app_context():
        dataset = dashboard_data.build(dashboard_data.coach_platform_id())
        refresh_rollups(db.session)
    return dataset


def snapshots(app) -> dict[tuple[str, str], decimal.Decimal]:
    with app.app_context():
        rows = db.session.execute(sa.select(m.CohortSnapshot)).scalars().all()
        return {(r.cohort_key, r.metric_name): r.value for r in rows}


def test_capture_is_idempotent_per_day_and_hand_checked(app, data):
    with app.app_context():
        first = capture_snapshots(db.session, now=NOW)
        again = capture_snapshots(db.session, now=NOW + dt.timedelta(hours=3))
        count = db.session.scalar(sa.select(sa.func.count()).select_from(m.CohortSnapshot))
        captured = db.session.scalars(sa.select(m.CohortSnapshot.captured_at).distinct()).all()
    assert first.inserted == first.computed > 0
    assert again.inserted == 0 and count == first.computed
    assert captured == [dt.datetime(2025, 3, 20, tzinfo=dt.UTC)]
    values = snapshots(app)
    # March: MRR A 50 + D 100; events A 1 + C 1 from 2 active customers; invoices due in March: I3 open -> 0.
    assert values[("all", "mrr_EUR")] == decimal.Decimal("150")
    assert values[("all", "active_customers")] == 2
    assert values[("all", "events_per_active_customer")] == decimal.Decimal("1")
    assert values[("all", "invoice_collection_rate")] == 0
    # Jan cohort {A, B}: in March only A active. Feb cohort {C, D}: only C.
    assert values[("signup:2025-01", "share_active_this_month")] == decimal.Decimal("0.5")
    assert values[("signup:2025-02", "share_active_this_month")] == decimal.Decimal("0.5")
    assert values[("signup:2025-01", "cohort_size")] == 2


def test_next_day_adds_a_new_snapshot_and_the_trend_report_shows_both(app, data):
    with app.app_context():
        capture_snapshots(db.session, now=NOW)
        db.session.add(
            m.Subscription(customer_id=data.customers["C"], product_id=data.products["Premium"],
                           status=m.commerce.SubscriptionStatus.ACTIVE, start_date=dt.date(2025, 3, 20))
        )  # fmt: skip
        db.session.commit()
        refresh_rollups(db.session)  # as the job does before capturing
        capture_snapshots(db.session, now=NOW + dt.timedelta(days=1))
        filters = rp.parse_filters({"from": "2025-03-01", "to": "2025-03-31"})
        rows = rp.all_reports()["snapshot_trends"].query(rp.ReportContext(db.session, filters)).rows
        scoped = rp.all_reports()["snapshot_trends"].query(
            rp.ReportContext(db.session, filters, scope_coach_id=data.coach1)
        )
    mrr = [(day, value) for day, metric, value in rows if metric == "mrr_EUR"]
    assert mrr == [(dt.date(2025, 3, 20), 150), (dt.date(2025, 3, 21), 250)]
    assert scoped.rows == []  # whole-business figures are not shown to a scoped coach


def test_period_start_truncates():
    assert period_start(NOW, "day") == dt.datetime(2025, 3, 20, tzinfo=dt.UTC)
    assert period_start(NOW, "week") == dt.datetime(2025, 3, 17, tzinfo=dt.UTC)
    assert period_start(NOW, "month") == dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    with pytest.raises(ValueError):
        period_start(NOW, "hour")


def test_empty_database_captures_nothing(app, accounts):
    with app.app_context():
        result = capture_snapshots(db.session, now=NOW)
    assert result.inserted == 0 and snapshots(app) == {}


def test_job_and_cli_call_the_service(app, data):
    with app.app_context():
        first = run_inline(start_job(CAPTURE_SNAPSHOTS, {}, enqueue=False))
        assert first.status == "succeeded", first.error
        assert first.result["inserted"] == first.result["computed"] > 0
        assert run_inline(start_job(CAPTURE_SNAPSHOTS, {}, enqueue=False)).result["inserted"] == 0
        refreshed = run_inline(start_job(REFRESH_ROLLUPS, {}, enqueue=False))
        assert refreshed.status == "succeeded" and refreshed.result["daily_rows"] >= 0
    scheduled = {path for path, _queue, _when in CRON_TABLE}
    assert {"app.jobs.cron.dispatch_rollup_refresh", "app.jobs.cron.dispatch_snapshot_capture"} <= scheduled
    runner = app.test_cli_runner()
    out = runner.invoke(args=["reports", "snapshot"])
    assert out.exit_code == 0 and "0 new" in out.output
    out = runner.invoke(args=["reports", "refresh-rollups", "--since", "garbage"])
    assert out.exit_code != 0 and "not a date" in out.output
    out = runner.invoke(args=["reports", "refresh-rollups", "--full"])
    assert out.exit_code == 0 and "8 daily rows" in out.output


def test_rollups_match_the_raw_events_and_refresh_is_idempotent(app, data):
    with app.app_context():

        def state():
            daily = db.session.execute(
                sa.select(EngagementDaily.day, EngagementDaily.event_type, EngagementDaily.events,
                          EngagementDaily.customers).order_by(EngagementDaily.day, EngagementDaily.event_type)
            ).all()  # fmt: skip
            monthly = db.session.execute(
                sa.select(CustomerActivityMonthly.month, CustomerActivityMonthly.cohort_month,
                          CustomerActivityMonthly.events).order_by(CustomerActivityMonthly.month,
                                                                   CustomerActivityMonthly.events)
            ).all()  # fmt: skip
            return [tuple(r) for r in daily], [tuple(r) for r in monthly]

        daily, monthly = state()
        # 8 events on 7 distinct (day, type) pairs; B's login and promotion are on the same day.
        assert len(daily) == 8 and sum(r[2] for r in daily) == 8
        assert (dt.date(2025, 2, 3), "workout", 1, 1) in daily
        # Customer-months: A Jan/Feb/Mar, B Jan, C Feb/Mar.
        assert sorted((r[0], r[2]) for r in monthly) == sorted(
            [(dt.date(2025, 1, 1), 1), (dt.date(2025, 2, 1), 2), (dt.date(2025, 3, 1), 1),
             (dt.date(2025, 1, 1), 2), (dt.date(2025, 2, 1), 1), (dt.date(2025, 3, 1), 1)]
        )  # fmt: skip
        # A late event in March, then a partial refresh from March: only March changes, nothing doubles.
        db.session.add(
            m.EngagementEvent(customer_id=data.customers["B"], event_type="login",
                              occurred_at=dashboard_data.at("2025-03-15"))
        )  # fmt: skip
        db.session.commit()
        refresh_rollups(db.session, dt.date(2025, 3, 1))
        refresh_rollups(db.session, dt.date(2025, 3, 1))
        daily2, monthly2 = state()
    assert len(daily2) == 9 and len(monthly2) == 7
    assert [r for r in daily2 if r[0] < dt.date(2025, 3, 1)] == [r for r in daily if r[0] < dt.date(2025, 3, 1)]


def test_dashboard_reflects_rollups(app, client, data, accounts):
    login(client, "manager", "manager-Passw0rd!")
    rows = client.get("/dashboards/engagement/engagement_per_active.csv?from=2025-01-01&to=2025-03-31")
    assert rows.get_data(as_text=True).splitlines()[1:] == [
        "2025-01-01,3,2,1.5", "2025-02-01,3,2,1.5", "2025-03-01,2,2,1.0",
    ]  # fmt: skip


# --- discovery ----------------------------------------------------------------


def test_every_dashboard_has_reports_and_each_file_is_one_report():
    reports = rp.discover()
    assert {r.dashboard for r in reports.values()} == set(rp.DASHBOARDS)
    assert len(reports) == 21


def _write_package(tmp_path, name: str, files: dict[str, str]) -> None:
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for filename, body in files.items():
        (pkg / filename).write_text(textwrap.dedent(body))


REPORT_FILE = """
from app.services.analytics.reports import Report, ReportData
from app.services.analytics import charting as ch

REPORT = Report(key={key!r}, title="t", dashboard="revenue", query=lambda ctx: ReportData(["a"], []),
                figure=lambda data, ctx: ch.base_figure(ch.FigureOptions()))
"""


def test_adding_a_report_means_adding_a_file(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    _write_package(tmp_path, "extra_reports_ok", {"one.py": REPORT_FILE.format(key="one"), "_helper.py": "X = 1\n"})
    assert list(rp.discover("extra_reports_ok")) == ["one"]
    _write_package(
        tmp_path, "extra_reports_dup", {"a.py": REPORT_FILE.format(key="same"), "b.py": REPORT_FILE.format(key="same")}
    )
    with pytest.raises(rp.ReportRegistryError, match="share the key"):
        rp.discover("extra_reports_dup")
    _write_package(tmp_path, "extra_reports_bad", {"c.py": "X = 1\n"})
    with pytest.raises(rp.ReportRegistryError, match="no REPORT"):
        rp.discover("extra_reports_bad")
    for name in list(sys.modules):
        if name.startswith("extra_reports"):
            del sys.modules[name]
