"""Billing jobs: `flask billing run-daily` (a recorded run with progress), the cron entries (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.jobs.cron import CRON_TABLE, dispatch_billing_daily, dispatch_billing_dunning
from app.models.commerce import Invoice, InvoiceStatus, Payment, PaymentStatus, Subscription, SubscriptionStatus
from app.models.jobs import JobRun
from app.services.billing.jobs import DAILY_KIND, DUNNING_KIND
from app.services.billing.subscriptions import create_subscription
from app.services.jobs.queues import get_queue
from tests.support import billing_support as bs
from tests.support.jobworker import jobs_env  # noqa: F401  (fixture)


def test_run_daily_renews_charges_and_records_the_run(app_ctx: Flask) -> None:
    sub, first = create_subscription(db.session, bs.customer(), bs.product("25.00").id, now=bs.at("2026-01-15"))
    db.session.commit()
    runner = app_ctx.test_cli_runner()
    result = runner.invoke(args=["billing", "run-daily", "--date", "2026-02-15"])
    assert result.exit_code == 0, result.output
    assert "1 subscriptions renewed (1 invoices" in result.output
    invoices = db.session.scalars(sa.select(Invoice).order_by(Invoice.period_start)).all()
    # Both the first invoice and the renewal were charged through the sandbox (which succeeds by default).
    assert [i.status for i in invoices] == [InvoiceStatus.PAID, InvoiceStatus.PAID]
    payments = db.session.scalars(sa.select(Payment)).all()
    assert [(p.status, p.provider) for p in payments] == [(PaymentStatus.SUCCEEDED, "sandbox")] * 2
    run = db.session.scalars(sa.select(JobRun).where(JobRun.kind == DAILY_KIND)).one()
    assert run.status == "succeeded" and run.params == {"date": "2026-02-15"}
    assert run.result["renewed"] == 1 and run.result["charged"] == 2 and run.progress_done == 1
    # Run again: nothing more to do.
    again = runner.invoke(args=["billing", "run-daily", "--date", "2026-02-15"])
    assert again.exit_code == 0 and "0 subscriptions renewed" in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invoice)) == 2
    assert db.session.get(Subscription, sub.id).status == SubscriptionStatus.ACTIVE and first is not None


def test_run_daily_refuses_a_bad_date(app_ctx: Flask) -> None:
    result = app_ctx.test_cli_runner().invoke(args=["billing", "run-daily", "--date", "2026-02-30"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 0


def test_run_daily_failures_go_to_dunning(app_ctx: Flask) -> None:
    app_ctx.config["BILLING_SANDBOX_OUTCOME"] = "fail"
    try:
        create_subscription(db.session, bs.customer(), bs.product().id, now=bs.at("2026-01-15"))
        db.session.commit()
        runner = app_ctx.test_cli_runner()
        assert runner.invoke(args=["billing", "run-daily", "--date", "2026-01-15"]).exit_code == 0
        assert db.session.scalar(sa.select(Subscription.status)) == SubscriptionStatus.PAST_DUE
        result = runner.invoke(args=["billing", "run-dunning"])
        assert result.exit_code == 0, result.output
    finally:
        app_ctx.config.pop("BILLING_SANDBOX_OUTCOME")


@pytest.mark.usefixtures("jobs_env")
def test_cron_starts_one_billing_run_per_hour(app: Flask) -> None:
    with app.app_context():
        first = dispatch_billing_daily()
        assert dispatch_billing_daily() == first
        assert db.session.get(JobRun, first).kind == DAILY_KIND
        assert db.session.get(JobRun, dispatch_billing_dunning()).kind == DUNNING_KIND
        assert get_queue("default").count == 2
    entries = {path for path, _queue, _when in CRON_TABLE}
    assert {"app.jobs.cron.dispatch_billing_daily", "app.jobs.cron.dispatch_billing_dunning"} <= entries
