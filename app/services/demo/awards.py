"""Demo badge awards and challenge results: the ranking and evaluation services run over the history.

Nothing here is typed in: at each fortnightly step of the simulated year the running challenges are
ranked as of that moment (finalized after their end) and every badge is evaluated as of it, so
each award carries the moment its criteria were first seen met and every rank agrees with the
scores. Runs after the events, sessions and metrics exist.
"""

from __future__ import annotations

import datetime as dt

from app.extensions import db
from app.services.awards import badges, challenges
from app.services.demo.base import Ctx

STEP = dt.timedelta(days=14)


def seed_awards(ctx: Ctx) -> None:
    if not ctx.customers:
        return
    first = min(c.signup for c in ctx.customers) + STEP
    moments = []
    moment = first
    while moment < ctx.now:
        moments.append(moment)
        moment += STEP
    moments.append(ctx.now)
    for moment in moments:
        challenges.rank_due(db.session, now=moment)
        badges.evaluate_badges(db.session, as_of=moment)
    db.session.flush()
