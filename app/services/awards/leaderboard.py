"""What a challenge's leaderboard shows: the stored ranks, with names only where row scope allows.

The ranks are the ranking job's (not recomputed here), so the page shows the rows behind it.
Every participant's rank and score is shown, because a rank means nothing without the ranks
around it; the name of a participant outside the viewer's row scope (a coach: customers not
assigned to them) is withheld, so the board stays anonymous beyond what the viewer may see.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.engagement import Challenge, ChallengeResult
from app.models.identity import PlatformUser
from app.policy.scope import scope_criteria
from app.services.awards.challenges import ChallengeError, Rules

MAX_ROWS = 1000


@dataclass(frozen=True, slots=True)
class Row:
    rank: int | None
    tied: bool
    score: decimal.Decimal
    customer_id: uuid.UUID | None  # None when the viewer may not see who it is
    name: str | None


@dataclass(frozen=True, slots=True)
class Board:
    challenge: Challenge
    metric: str | None
    aggregation: str | None
    target: decimal.Decimal | None
    final: bool
    as_of: dt.datetime | None
    participants: int
    rows: list[Row]


def board(session: Session, challenge: Challenge, viewer: Any, *, limit: int = MAX_ROWS) -> Board:
    """The leaderboard of ``challenge`` as ``viewer`` (a console user or an ``Actor``) may see it."""
    visible = scope_criteria(ChallengeResult, viewer)
    query = (
        sa.select(
            ChallengeResult.rank,
            ChallengeResult.score,
            sa.case((visible, ChallengeResult.customer_id), else_=sa.null()).label("customer_id"),
            sa.case((visible, PlatformUser.full_name), else_=sa.null()).label("name"),
        )
        .join(PlatformUser, PlatformUser.id == ChallengeResult.customer_id)
        .where(ChallengeResult.challenge_id == challenge.id)
        .order_by(
            ChallengeResult.rank.is_(None), ChallengeResult.rank, ChallengeResult.score.desc(), ChallengeResult.id
        )  # fmt: skip
        .limit(limit)
    )
    found = session.execute(query).all()
    counts: dict[int, int] = {}
    for row in found:
        if row.rank is not None:
            counts[row.rank] = counts.get(row.rank, 0) + 1
    total = session.scalar(
        sa.select(sa.func.count()).select_from(ChallengeResult).where(ChallengeResult.challenge_id == challenge.id)
    )
    try:
        rules: Rules | None = Rules.parse(challenge.rules_json)
    except ChallengeError:
        rules = None
    return Board(
        challenge=challenge,
        metric=rules.metric if rules else None,
        aggregation=rules.aggregation if rules else None,
        target=rules.target if rules else None,
        final=challenge.finalized_at is not None,
        as_of=challenge.finalized_at or challenge.ranked_at,
        participants=int(total or 0),
        rows=[
            Row(r.rank, r.rank is not None and counts.get(r.rank, 0) > 1, r.score, r.customer_id, r.name) for r in found
        ],
    )
