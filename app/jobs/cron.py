"""The cron table: what `flask jobs cron` (exactly one process) enqueues, and when.

Entries only *dispatch*: each enqueues a thin function that starts job runs with a
per-period ``dedupe_key``, so a second cron process or a double tick cannot double-run,
and every scheduled task leaves its run in ``job_runs``.
Add an entry with one line in ``CRON_TABLE``: (function path, queue, cron or interval).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from app.models.base import utcnow
from app.services.analytics.jobs import CAPTURE_SNAPSHOTS, REFRESH_ROLLUPS
from app.services.automation.jobs import RUN_KIND as AUTOMATION_RUN
from app.services.automation.time_jobs import INACTIVITY, SCHEDULES, TIME_RULES_KIND
from app.services.awards.jobs import EVALUATE_BADGES, RANK_CHALLENGES
from app.services.billing.jobs import DAILY_KIND as BILLING_DAILY
from app.services.billing.jobs import DUNNING_KIND as BILLING_DUNNING
from app.services.compliance.jobs import CHECKPOINT_KIND, VERIFY_KIND
from app.services.engagement.announcements import start_due as start_due_sends
from app.services.engagement.delivery import DELIVER_KIND
from app.services.events.jobs import DETECT_KIND
from app.services.jobs.runs import redispatch_stale, start_job
from app.services.retention.runner import dispatch_enabled_policies

# (dotted function, queue, {"cron": "..."} or {"interval": seconds})
CRON_TABLE: list[tuple[str, str, dict[str, Any]]] = [
    ("app.jobs.cron.redispatch_stale_runs", "default", {"interval": 60}),
    ("app.jobs.cron.dispatch_retention", "retention", {"cron": "30 2 * * *"}),
    ("app.jobs.cron.verify_audit_chain", "default", {"cron": "15 3 * * *"}),
    ("app.jobs.cron.dispatch_audit_checkpoint", "default", {"cron": "45 * * * *"}),
    # Dashboards: idempotent rollup refresh (hourly) and cohort snapshots (daily), as job runs.
    ("app.jobs.cron.dispatch_rollup_refresh", "default", {"cron": "5 * * * *"}),
    ("app.jobs.cron.dispatch_snapshot_capture", "default", {"cron": "15 0 * * *"}),
    # Domain events: the outbox to its handlers (the automation engine among them) and the due rule
    # executions, every minute, as one run; detected events (missed plan days
    # hourly, as midnight reaches each zone; SLA breaches every five minutes; overdue invoices daily).
    ("app.jobs.cron.dispatch_domain_events", "default", {"interval": 60}),
    ("app.jobs.cron.detect_missed_plan_items", "default", {"cron": "2 * * * *"}),
    ("app.jobs.cron.detect_sla_breaches", "default", {"cron": "*/5 * * * *"}),
    ("app.jobs.cron.detect_overdue_invoices", "default", {"cron": "20 0 * * *"}),
    # Time-driven automation rules: SCHEDULE rules at their cron instants (checked every minute),
    # INACTIVITY rules hourly; their executions run with the next minute's automation run.
    ("app.jobs.cron.fire_automation_schedules", "default", {"interval": 60}),
    ("app.jobs.cron.detect_inactive_customers", "default", {"cron": "40 * * * *"}),
    # Queued message and announcement deliveries (email, push, in-app), every minute.
    ("app.jobs.cron.dispatch_deliveries", "default", {"interval": 60}),
    # Badges and challenges: rank running challenges (finalize ended ones), then award badges, hourly.
    ("app.jobs.cron.rank_challenges", "default", {"cron": "25 * * * *"}),
    ("app.jobs.cron.evaluate_badges", "default", {"cron": "35 * * * *"}),
    # Billing: the daily run (resume ended pauses, end subscriptions, renew, charge) hourly so each zone's
    # midnight is met (one run per hour, idempotent); dunning retries every hour at :50.
    ("app.jobs.cron.dispatch_billing_daily", "default", {"cron": "10 * * * *"}),
    ("app.jobs.cron.dispatch_billing_dunning", "default", {"cron": "50 * * * *"}),
    # Announcements whose send time has come: one send run each (dedupe key per announcement).
    ("app.jobs.cron.start_due_announcements", "default", {"interval": 60}),
]


def redispatch_stale_runs() -> list[int]:
    return redispatch_stale()


def dispatch_retention() -> list[int]:
    return dispatch_enabled_policies()


def verify_audit_chain() -> int:
    """One nightly verification run of the whole audit chain (its result and any failure in job_runs)."""
    return start_job(VERIFY_KIND, {}, dedupe_key=f"{VERIFY_KIND}-{utcnow().date().isoformat()}").id


def dispatch_audit_checkpoint() -> int:
    """One signed audit checkpoint run per hour."""
    return start_job(CHECKPOINT_KIND, {}, dedupe_key=f"{CHECKPOINT_KIND}-{utcnow():%Y-%m-%dT%H}").id


def dispatch_rollup_refresh() -> int:
    """One rollup refresh run per hour."""
    return start_job(REFRESH_ROLLUPS, {}, dedupe_key=f"{REFRESH_ROLLUPS}-{utcnow():%Y-%m-%dT%H}").id


def dispatch_snapshot_capture() -> int:
    """One snapshot capture run per day."""
    return start_job(CAPTURE_SNAPSHOTS, {}, dedupe_key=f"{CAPTURE_SNAPSHOTS}-{utcnow().date().isoformat()}").id


def dispatch_domain_events() -> int:
    """One dispatch-and-run per minute (a run left over from the last minute is harmless: SKIP LOCKED)."""
    return start_job(AUTOMATION_RUN, {}, dedupe_key=f"{AUTOMATION_RUN}-{utcnow():%Y-%m-%dT%H:%M}").id


def fire_automation_schedules() -> int:
    """One check of the SCHEDULE rules per minute."""
    key = f"{TIME_RULES_KIND}-{SCHEDULES}-{utcnow():%Y-%m-%dT%H:%M}"
    return start_job(TIME_RULES_KIND, {"what": SCHEDULES}, dedupe_key=key).id


def detect_inactive_customers() -> int:
    """One check of the INACTIVITY rules per hour."""
    key = f"{TIME_RULES_KIND}-{INACTIVITY}-{utcnow():%Y-%m-%dT%H}"
    return start_job(TIME_RULES_KIND, {"what": INACTIVITY}, dedupe_key=key).id


def dispatch_deliveries() -> int:
    """One delivery run per minute (two at once are harmless: they claim rows with SKIP LOCKED)."""
    return start_job(DELIVER_KIND, {}, dedupe_key=f"{DELIVER_KIND}-{utcnow():%Y-%m-%dT%H:%M}").id


def rank_challenges() -> int:
    """One ranking of the running challenges per hour."""
    return start_job(RANK_CHALLENGES, {}, dedupe_key=f"{RANK_CHALLENGES}-{utcnow():%Y-%m-%dT%H}").id


def evaluate_badges() -> int:
    """One evaluation of every badge for every customer per hour."""
    return start_job(EVALUATE_BADGES, {}, dedupe_key=f"{EVALUATE_BADGES}-{utcnow():%Y-%m-%dT%H}").id


def start_due_announcements() -> list[int]:
    """Start the send run of each SCHEDULED announcement that is due (once per announcement)."""
    return start_due_sends()


def _detect(detector: str, period: str) -> int:
    return start_job(DETECT_KIND, {"detector": detector}, dedupe_key=f"{DETECT_KIND}-{detector}-{period}").id


def detect_missed_plan_items() -> int:
    return _detect("missed_plan_items", f"{utcnow():%Y-%m-%dT%H}")


def detect_sla_breaches() -> int:
    now = utcnow()
    return _detect("sla_breaches", f"{now:%Y-%m-%dT%H}:{now.minute // 5 * 5:02d}")


def detect_overdue_invoices() -> int:
    return _detect("overdue_invoices", utcnow().date().isoformat())


def dispatch_billing_daily() -> int:
    """One billing run per hour: renewals follow each customer's own midnight, so the day is met in every zone."""
    return start_job(BILLING_DAILY, {}, dedupe_key=f"{BILLING_DAILY}-{utcnow():%Y-%m-%dT%H}").id


def dispatch_billing_dunning() -> int:
    """One run of the due dunning retries per hour."""
    return start_job(BILLING_DUNNING, {}, dedupe_key=f"{BILLING_DUNNING}-{utcnow():%Y-%m-%dT%H}").id


def build_scheduler(connection: Any) -> Any:
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=connection)
    for path, queue, when in CRON_TABLE:
        module, _, name = path.rpartition(".")
        func = getattr(import_module(module), name)
        scheduler.register(func, queue, job_timeout=3600, **when)
    return scheduler
