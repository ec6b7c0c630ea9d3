"""Challenges: joining, scoring each participant by the rules, ranking with ties, and finalizing.

The participants are the challenge's result rows (``join`` creates one with ``joined_at``). A
participant's score is their activity on the challenge's days, which are calendar days in the
participant's own zone: a walk at 23:30 in Madrid on the last day counts. What each metric reads:

- WORKOUTS: ``workout_completed`` engagement events (one each)
- MINUTES: the ``duration_min`` of those events
- STEPS, DISTANCE_KM: ``steps`` and ``distance_km`` progress metric readings
- HABIT_DAYS: days with at least one ``habit_checked`` event (one per day)

then SUM, MAX or COUNT of those values. Ranks are standard competition ranking (1, 1, 3): equal
scores share a rank, the next rank skips. ``rank`` updates the results while the challenge runs
(``ranked_at``) and once more when its last day is over everywhere (``finalized_at``); a
finalized challenge's results never change again. ``team_size`` is kept in the rules but
participants are ranked one by one (teams are not in the data model yet).
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models import json_schemas as js
from app.models.analytics import EngagementEvent, ProgressMetric
from app.models.base import utcnow, validate_json_value
from app.models.customers import CustomerProfile
from app.models.engagement import Challenge, ChallengeResult
from app.models.types import UTCDateTime
from app.services.audit.chain import record
from app.services.awards import zones

AUDIT_RANK = "challenge.rank"
WORKOUT_EVENT = "workout_completed"
HABIT_EVENT = "habit_checked"
METRIC_SOURCES = {"STEPS": "steps", "DISTANCE_KM": "distance_km"}
UNITS = {"WORKOUTS": "workouts", "MINUTES": "min", "STEPS": "steps", "DISTANCE_KM": "km", "HABIT_DAYS": "days"}
# The last day is over everywhere once it is over at UTC-12.
LAST_ZONE_LAG = dt.timedelta(hours=12)
CENT = decimal.Decimal("0.01")


class ChallengeError(ValueError):
    """A refused join or rules the schema refuses; the message says why."""


@dataclass(frozen=True, slots=True)
class Rules:
    metric: str
    aggregation: str
    target: decimal.Decimal | None = None
    team_size: int | None = None

    @classmethod
    def parse(cls, raw: Any) -> Rules:
        try:
            validate_json_value("rules_json", js.CHALLENGE_RULES, raw)
        except ValueError as error:
            raise ChallengeError(str(error)) from error
        if not isinstance(raw, dict):
            raise ChallengeError(_("rules: an object with a metric and an aggregation is required"))
        target = raw.get("target")
        return cls(
            metric=raw["metric"],
            aggregation=raw["aggregation"],
            target=None if target is None else decimal.Decimal(str(target)),
            team_size=raw.get("team_size"),
        )

    @property
    def unit(self) -> str:
        return UNITS[self.metric]


@dataclass
class RankOutcome:
    challenge_id: int
    participants: int = 0
    changed: int = 0
    finalized: bool = False
    frozen: bool = False  # finalized before: nothing recomputed


@dataclass
class RankRun:
    challenges: int = 0
    finalized: int = 0
    changed: int = 0
    invalid: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"challenges": self.challenges, "finalized": self.finalized, "changed": self.changed,
                "invalid": self.invalid}  # fmt: skip


def ends_at(challenge: Challenge) -> dt.datetime:
    """When the challenge's last day is over in every zone: results may be final from then on."""
    return dt.datetime.combine(challenge.end_date + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC) + LAST_ZONE_LAG


def join(
    session: Session, challenge: Challenge, customer_id: uuid.UUID, *, now: dt.datetime | None = None
) -> ChallengeResult:
    """Make the customer a participant (a result row with ``joined_at``); joining twice returns the same row."""
    now = now or utcnow()
    existing = session.scalars(
        sa.select(ChallengeResult).where(
            ChallengeResult.challenge_id == challenge.id, ChallengeResult.customer_id == customer_id
        )
    ).first()
    if existing is not None:
        return existing
    if challenge.finalized_at is not None or now >= ends_at(challenge):
        raise ChallengeError(_("The challenge %(name)s is over; it cannot be joined.", name=challenge.name))
    result = ChallengeResult(
        challenge_id=challenge.id, customer_id=customer_id, score=decimal.Decimal(0), rank=None, joined_at=now
    )
    session.add(result)
    session.flush()
    return result


def _source(rules: Rules) -> tuple[Any, Any, Any, Any]:
    """(customer column, time column, value, filter) of what the metric reads."""
    if rules.metric in METRIC_SOURCES:
        return (ProgressMetric.customer_id, ProgressMetric.recorded_at, ProgressMetric.value,
                ProgressMetric.metric_type == METRIC_SOURCES[rules.metric])  # fmt: skip
    event = HABIT_EVENT if rules.metric == "HABIT_DAYS" else WORKOUT_EVENT
    value: Any = sa.literal(1)
    if rules.metric == "MINUTES":
        value = sa.func.coalesce(EngagementEvent.payload_json["duration_min"].as_float(), 0)
    return EngagementEvent.customer_id, EngagementEvent.occurred_at, value, EngagementEvent.event_type == event


def scores(
    session: Session, challenge: Challenge, rules: Rules, as_of: dt.datetime
) -> dict[uuid.UUID, decimal.Decimal]:
    """Each participant's score from what happened on the challenge's days up to ``as_of`` (0 for nothing)."""
    dialect = zones.prepare(session)
    zone_names = zones.known_zones(session)
    customer, moment, value, kind = _source(rules)
    tz = zones.zone_of(CustomerProfile.timezone, zone_names)
    day = zones.local_day(dialect, moment, tz)
    first, last = zones.day_number(challenge.start_date), zones.day_number(challenge.end_date)
    # The UTC span that can hold those local days, for the (customer, time) index.
    lower = dt.datetime.combine(challenge.start_date, dt.time(), tzinfo=dt.UTC) - dt.timedelta(hours=15)
    upper = min(as_of, ends_at(challenge) + dt.timedelta(hours=3))
    rows = (
        sa.select(customer.label("customer_id"), day.label("day"), value.label("value"))
        .select_from(sa.join(ChallengeResult, moment.table, customer == ChallengeResult.customer_id))
        .outerjoin(CustomerProfile, CustomerProfile.user_id == customer)
        .where(
            ChallengeResult.challenge_id == challenge.id,
            kind,
            moment >= sa.literal(lower, UTCDateTime()),
            moment <= sa.literal(upper, UTCDateTime()),
            day.between(first, last),
        )
    )
    if rules.metric == "HABIT_DAYS":
        rows = rows.distinct()  # one per day
    sub = rows.subquery("activity")
    agg = {"SUM": sa.func.sum(sub.c.value), "MAX": sa.func.max(sub.c.value), "COUNT": sa.func.count()}[
        rules.aggregation
    ]
    query = sa.select(sub.c.customer_id, agg.label("score")).group_by(sub.c.customer_id)
    found = {row.customer_id: _money(row.score) for row in session.execute(query)}
    participants = session.scalars(
        sa.select(ChallengeResult.customer_id).where(ChallengeResult.challenge_id == challenge.id)
    )
    return {c: found.get(c, decimal.Decimal("0.00")) for c in participants}


def _money(value: Any) -> decimal.Decimal:
    return max(decimal.Decimal(0), decimal.Decimal(str(value or 0)).quantize(CENT, rounding=decimal.ROUND_HALF_UP))


def competition_ranks(scored: dict[uuid.UUID, decimal.Decimal]) -> dict[uuid.UUID, int]:
    """Standard competition ranking: 1 + how many scored strictly higher (1, 1, 3)."""
    ordered = sorted(scored.values(), reverse=True)
    first_at: dict[decimal.Decimal, int] = {}
    for position, score in enumerate(ordered, start=1):
        first_at.setdefault(score, position)
    return {customer: first_at[score] for customer, score in scored.items()}


def rank(session: Session, challenge: Challenge, *, now: dt.datetime | None = None) -> RankOutcome:
    """Recompute scores and ranks (changed rows only); finalize once the last day is over everywhere.

    A finalized challenge is left as it is: its results are frozen.
    """
    now = now or utcnow()
    outcome = RankOutcome(challenge.id)
    if challenge.finalized_at is not None:
        outcome.frozen = True
        return outcome
    rules = Rules.parse(challenge.rules_json)
    scored = scores(session, challenge, rules, now)
    ranks = competition_ranks(scored)
    current = {
        row.customer_id: (row.score, row.rank)
        for row in session.execute(
            sa.select(ChallengeResult.customer_id, ChallengeResult.score, ChallengeResult.rank).where(
                ChallengeResult.challenge_id == challenge.id
            )
        )
    }
    changes = [
        {"c": customer, "s": score, "r": ranks[customer], "u": now}
        for customer, score in scored.items()
        if current.get(customer) != (score, ranks[customer])
    ]
    table = ChallengeResult.__table__
    if changes:
        session.execute(
            table.update()
            .where(table.c.challenge_id == challenge.id, table.c.customer_id == sa.bindparam("c"))
            .values(score=sa.bindparam("s"), rank=sa.bindparam("r"), updated_at=sa.bindparam("u")),
            changes,
            execution_options={"synchronize_session": False},
        )
    outcome.participants, outcome.changed = len(scored), len(changes)
    challenge.ranked_at = now
    if now >= ends_at(challenge):
        challenge.finalized_at = now
        outcome.finalized = True
    record(AUDIT_RANK, table.name, challenge.id, {
        "participants": outcome.participants, "changed": outcome.changed, "final": outcome.finalized,
        "as_of": now.isoformat(),
    })  # fmt: skip
    session.flush()
    return outcome


def due(session: Session, now: dt.datetime) -> list[int]:
    """Challenges to rank: started (somewhere) and not finalized."""
    tomorrow = (now + dt.timedelta(days=1)).date()
    query = sa.select(Challenge.id).where(Challenge.finalized_at.is_(None), Challenge.start_date <= tomorrow)
    return list(session.scalars(query.order_by(Challenge.id)))


def rank_due(
    session: Session, *, now: dt.datetime | None = None, after: Callable[[int, int], None] | None = None
) -> RankRun:
    """Rank every due challenge; ``after(done, total)`` after each (the job commits there)."""
    now = now or utcnow()
    run = RankRun()
    ids = due(session, now)
    for done, challenge_id in enumerate(ids, start=1):
        challenge = session.get(Challenge, challenge_id)
        assert challenge is not None
        try:
            outcome = rank(session, challenge, now=now)
        except ChallengeError:
            run.invalid.append(challenge_id)
        else:
            run.challenges += 1
            run.finalized += int(outcome.finalized)
            run.changed += outcome.changed
        if after is not None:
            after(done, len(ids))
    return run


def rank_disagreements(session: Session) -> list[int]:
    """Result ids whose rank disagrees with the scores of their challenge (the demo invariant)."""
    rows = session.execute(
        sa.select(ChallengeResult.id, ChallengeResult.challenge_id, ChallengeResult.customer_id,
                  ChallengeResult.score, ChallengeResult.rank).join(Challenge)
        .where(Challenge.ranked_at.is_not(None))
    ).all()  # fmt: skip
    by_challenge: dict[int, list[Any]] = {}
    for row in rows:
        by_challenge.setdefault(row.challenge_id, []).append(row)
    bad: list[int] = []
    for group in by_challenge.values():
        expected = competition_ranks({r.customer_id: r.score for r in group})
        bad += [r.id for r in group if r.rank != expected[r.customer_id]]
    return bad
