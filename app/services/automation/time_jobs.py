"""The job kind of time-driven rules: SCHEDULE rules every minute, INACTIVITY rules every hour.

``automation.time_rules`` records executions only (``schedules.fire_due_schedules``,
``inactivity.detect_inactive``) and commits them; the minute's ``automation.run`` runs them like
any other. The cron starts it with ``{"what": "schedules"}`` every minute and
``{"what": "inactivity"}`` every hour, each with a per-period ``dedupe_key``.
"""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models.base import utcnow
from app.services.automation.inactivity import detect_inactive
from app.services.automation.schedules import fire_due_schedules
from app.services.jobs.context import JobContext
from app.services.jobs.kinds import job_kind

TIME_RULES_KIND = "automation.time_rules"
SCHEDULES = "schedules"
INACTIVITY = "inactivity"
WHAT = (SCHEDULES, INACTIVITY)


@job_kind(TIME_RULES_KIND, queue="default", timeout=900)
def time_rules_job(ctx: JobContext) -> dict[str, Any]:
    """Fire due SCHEDULE rules and/or check INACTIVITY rules (``params["what"]``: one name or a list; default both)."""
    what = ctx.params.get("what") or list(WHAT)
    chosen = [what] if isinstance(what, str) else list(what)
    unknown = [name for name in chosen if name not in WHAT]
    if unknown:
        raise ValueError(f"unknown part(s) {unknown!r}; expected {', '.join(WHAT)}")
    now = utcnow()
    result: dict[str, Any] = {}
    ctx.commit(done=0, total=len(chosen))
    if SCHEDULES in chosen:
        result["scheduled"] = fire_due_schedules(db.session, now)
        ctx.commit(done=1)
    if INACTIVITY in chosen:
        result["inactive"] = detect_inactive(db.session, now)
        ctx.commit(done=len(chosen))
    return result
