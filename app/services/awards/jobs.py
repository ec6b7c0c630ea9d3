"""Job kinds: badge evaluation and challenge ranking, started by the cron (and ``flask awards``).

Both are idempotent: an award is inserted once per (customer, badge) and a ranking recomputes
the same ranks, so a retry or an overlapping run is harmless. Each badge (or challenge) commits
with the run's progress.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from app.extensions import db
from app.services.awards.badges import evaluate_badges
from app.services.awards.challenges import rank_due
from app.services.jobs.context import JobContext
from app.services.jobs.kinds import job_kind

EVALUATE_BADGES = "awards.evaluate_badges"
RANK_CHALLENGES = "awards.rank_challenges"


def _as_of(params: dict[str, Any]) -> dt.datetime | None:
    raw = params.get("as_of")
    return dt.datetime.fromisoformat(raw) if isinstance(raw, str) else None


@job_kind(EVALUATE_BADGES, queue="default", timeout=3600)
def evaluate_badges_job(ctx: JobContext) -> dict[str, Any]:
    """Params: ``as_of`` (ISO time, default now), ``customer_ids`` (UUIDs), ``badge_ids``."""
    customers = ctx.params.get("customer_ids")
    result = evaluate_badges(
        db.session,
        as_of=_as_of(ctx.params),
        customer_ids=None if customers is None else [uuid.UUID(c) for c in customers],
        badge_ids=ctx.params.get("badge_ids"),
        after_badge=lambda done, total: ctx.commit(done=done, total=total),
    )
    return result.as_dict()


@job_kind(RANK_CHALLENGES, queue="default", timeout=3600)
def rank_challenges_job(ctx: JobContext) -> dict[str, Any]:
    run = rank_due(db.session, now=_as_of(ctx.params), after=lambda done, total: ctx.commit(done=done, total=total))
    db.session.commit()
    return run.as_dict()
