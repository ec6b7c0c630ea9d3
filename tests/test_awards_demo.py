"""The demo's awards and results come from the services: every award meets its criteria, every rank its scores."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask

from app.extensions import appbuilder, db
from app.models.engagement import Challenge, ChallengeResult
from app.models.training import Badge, CustomerBadge
from app.services.awards import badges, challenges
from app.services.awards.criteria import Criteria
from app.services.demo_data import seed_demo_data

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def test_demo_awards_and_ranks_hold_their_invariants(app: Flask) -> None:
    with app.app_context():
        result = seed_demo_data(appbuilder.sm, customers=40, seed=11, progress=False, now=NOW)
        assert "badge awards & challenge rankings" in result.timings  # the phase ran
        awards = db.session.scalar(sa.select(sa.func.count()).select_from(CustomerBadge))
        assert awards and awards > 10
        # Every badge's criteria are valid; every award met them at the moment it carries.
        for badge in db.session.scalars(sa.select(Badge)):
            Criteria.parse(badge.criteria_json)
        assert badges.unmet_awards(db.session) == []
        # Re-evaluating at the demo's now finds nothing new: the history was evaluated up to it.
        assert badges.evaluate_badges(db.session, as_of=NOW).awarded == 0
        db.session.rollback()
        # Ranks agree with the scores; ended challenges are final, running ones ranked, future ones not yet.
        assert challenges.rank_disagreements(db.session) == []
        for ch in db.session.scalars(sa.select(Challenge)):
            if challenges.ends_at(ch) <= NOW:
                assert ch.finalized_at is not None
            elif ch.start_date <= NOW.date():
                assert ch.ranked_at is not None and ch.finalized_at is None
        scored = db.session.scalar(sa.select(sa.func.count()).where(ChallengeResult.score > 0))
        assert scored and scored > 0
