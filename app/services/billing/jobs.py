"""Job kinds of billing: the daily run (renewals and the rest of what days do) and the dunning retries.

Both are idempotent: renewals issue one invoice per subscription and period (unique key), the other
steps act only on rows still due, and a dunning step is claimed before it is charged, so a retried or
overlapping run does no harm. The cron starts one daily run per day and one retry run per hour.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.extensions import db
from app.services.billing.gateway import default_gateway
from app.services.billing.lifecycle import collect_due, end_due, resume_due
from app.services.billing.renewals import RenewalResult, count_due, renew_due
from app.services.billing.retries import run_due_retries
from app.services.jobs.context import JobContext
from app.services.jobs.kinds import job_kind

DAILY_KIND = "billing.daily"
DUNNING_KIND = "billing.dunning"


def run_moment(params: dict[str, Any]) -> dt.datetime:
    """The instant a run acts at: now, or noon UTC of the ``date`` param (a catch-up or a rehearsal)."""
    day = params.get("date")
    if day:
        return dt.datetime.combine(dt.date.fromisoformat(str(day)), dt.time(12), tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC)


@job_kind(DAILY_KIND, queue="default", timeout=3600)
def daily_job(ctx: JobContext) -> dict[str, Any]:
    """Resume ended pauses, end what ends, renew what is due (progress counts renewals), charge new invoices,
    run due retries."""
    session, now = db.session, run_moment(ctx.params)
    gateway = default_gateway()
    resumed = resume_due(session, now)
    cancelled, expired = end_due(session, now)
    ctx.commit(done=0, total=count_due(session, now))

    def progress(result: RenewalResult) -> None:
        ctx.commit(done=result.renewed)

    renewed = renew_due(session, now, commit=progress)
    charged, failed = collect_due(session, gateway, now)
    retries = run_due_retries(session, gateway, now)
    ctx.commit(done=renewed.renewed, total=renewed.renewed)
    return {
        "date": now.date().isoformat(),
        "resumed": resumed,
        "cancelled": cancelled,
        "expired": expired,
        "renewed": renewed.renewed,
        "invoices": renewed.invoices,
        "trials_ended": renewed.trials_ended,
        "charged": charged,
        "charge_failures": failed,
        "retries": retries.attempted,
        "recovered": retries.recovered,
        "dunning_cancelled": retries.cancelled_subscriptions,
    }


@job_kind(DUNNING_KIND, queue="default", timeout=3600)
def dunning_job(ctx: JobContext) -> dict[str, Any]:
    """Run the dunning retries that are due now."""
    result = run_due_retries(
        db.session, default_gateway(), run_moment(ctx.params), commit=lambda done: ctx.commit(done=done)
    )
    ctx.commit(done=result.attempted)
    return {
        "retries": result.attempted,
        "recovered": result.recovered,
        "failed": result.failed,
        "cancelled": result.cancelled_subscriptions,
    }
