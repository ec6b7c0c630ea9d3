"""RQ entry points for dashboard rollups and cohort snapshots (thin: they call services).

Intended schedule (cron, UTC): ``refresh_rollups_job`` hourly at minute 5 and
``capture_snapshots_job`` daily at 00:15. Both are idempotent, so a retry or an
overlapping run is harmless.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from flask import has_app_context

SCHEDULE = {
    "app.jobs.snapshots.refresh_rollups_job": "5 * * * *",
    "app.jobs.snapshots.capture_snapshots_job": "15 0 * * *",
}


def _app_context() -> AbstractContextManager[Any]:
    if has_app_context():
        return nullcontext()
    from app import create_app

    return create_app().app_context()


def refresh_rollups_job() -> dict[str, Any]:
    from app.extensions import db
    from app.services.analytics.rollups import default_since, refresh_rollups

    with _app_context():
        result = refresh_rollups(db.session, default_since())
        return {"since": str(result.since), "daily_rows": result.daily_rows, "monthly_rows": result.monthly_rows}


def capture_snapshots_job() -> dict[str, Any]:
    """Bring the rollups up to date, then capture today's headline metrics."""
    from app.extensions import db
    from app.services.analytics.rollups import default_since, refresh_rollups
    from app.services.analytics.snapshots import capture_snapshots

    with _app_context():
        refresh_rollups(db.session, default_since())
        result = capture_snapshots(db.session)
        return {"captured_at": result.captured_at.isoformat(), "computed": result.computed, "inserted": result.inserted}
