"""Demo badge awards and challenge results: the ranking and evaluation services run over the history.

Nothing here is typed in: at each fortnightly step of the simulated year the running challenges are
ranked as of that moment (finalized after their end) and every badge is evaluated as of it, so
each award carries the moment its criteria were first seen met and every rank agrees with the
scores. Runs last (after the events, sessions and metrics exist, and after the bulk audit history,
which its audit rows follow). The ``badge.awarded`` events are dated when their award was made,
not when the demo ran, so the history's "last activity" stays where the history puts it.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from app.extensions import db
from app.models.events import DomainEvent
from app.models.training import CustomerBadge
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
    award = CustomerBadge.__table__
    event = DomainEvent.__table__
    awarded_at = (
        sa.select(award.c.awarded_at)
        .where(award.c.id == DomainEvent.payload["customer_badge_id"].as_integer())
        .scalar_subquery()
    )
    db.session.execute(
        sa.update(event).where(event.c.event_type == "badge.awarded").values(occurred_at=awarded_at),
        execution_options={"synchronize_session": False},
    )
    db.session.flush()
