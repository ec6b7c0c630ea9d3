"""Job kinds for the dashboards: rollup refresh (hourly) and cohort snapshots (daily), started by the cron.

Both are idempotent, so a retry or an overlapping run is harmless.
"""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.services.analytics.rollups import default_since, refresh_rollups
from app.services.analytics.snapshots import capture_snapshots
from app.services.jobs.context import JobContext
from app.services.jobs.kinds import job_kind

REFRESH_ROLLUPS = "analytics.refresh_rollups"
CAPTURE_SNAPSHOTS = "analytics.capture_snapshots"


@job_kind(REFRESH_ROLLUPS, queue="default", timeout=3600)
def refresh_rollups_job(ctx: JobContext) -> dict[str, Any]:
    result = refresh_rollups(db.session, default_since())
    return {"since": str(result.since), "daily_rows": result.daily_rows, "monthly_rows": result.monthly_rows}


@job_kind(CAPTURE_SNAPSHOTS, queue="default", timeout=3600)
def capture_snapshots_job(ctx: JobContext) -> dict[str, Any]:
    """Bring the rollups up to date, then capture today's headline metrics."""
    refresh_rollups(db.session, default_since())
    result = capture_snapshots(db.session)
    return {"captured_at": result.captured_at.isoformat(), "computed": result.computed, "inserted": result.inserted}
