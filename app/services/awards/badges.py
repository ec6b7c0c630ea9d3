"""Awarding badges: the evaluation of every badge's criteria, and one award by a rule or staff.

Each badge is one ``INSERT INTO customer_badges ... SELECT`` of the customers its criteria
query returns, minus those who hold it, with ``ON CONFLICT DO NOTHING`` on the (customer,
badge) key: a badge is awarded at most once per customer even when two evaluations overlap.
The inserted rows come back (``RETURNING``) and become ``badge.awarded`` events in one bulk
insert, and each badge's batch leaves one chained audit row with its count (the ORM audit
hooks do not see Core inserts). ``awarded_at`` is the evaluation's ``as_of``, so every award
meets its criteria as of the moment it carries.

``award`` is the one path for a single award (automation's AWARD_BADGE, staff): a MANUAL badge
is awarded as asked; a badge with criteria only to a customer who meets them then, so that no
award contradicts its badge's criteria.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.training import Badge, CustomerBadge
from app.services import events
from app.services.audit.chain import record
from app.services.awards.criteria import Criteria, CriteriaError, customers_meeting, qualifying

AUDIT_EVALUATE = "badge.evaluate"
AUDIT_AWARD = "badge.award"
WORK_MEM = "256MB"
_TABLE = CustomerBadge.__table__


class Outcome(enum.StrEnum):
    AWARDED = "AWARDED"
    ALREADY_HELD = "ALREADY_HELD"
    NOT_MET = "NOT_MET"


@dataclass
class EvaluationResult:
    as_of: dt.datetime
    badges: int = 0
    awarded: int = 0
    per_badge: dict[str, int] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)  # badge codes whose criteria the schema refuses

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "badges": self.badges,
            "awarded": self.awarded,
            "per_badge": self.per_badge,
            "invalid": self.invalid,
        }


def _insert(session: Session) -> Any:
    return (postgresql.insert if session.connection().dialect.name == "postgresql" else sqlite.insert)(_TABLE)


def _award_rows(session: Session, badge: Badge, source: sa.Subquery, when: dt.datetime) -> list[tuple[int, uuid.UUID]]:
    """Insert (customer, badge) for every customer in ``source`` not holding it; the new (id, customer)."""
    held = sa.select(CustomerBadge.id).where(
        CustomerBadge.badge_id == badge.id, CustomerBadge.customer_id == source.c.customer_id
    )
    rows = sa.select(source.c.customer_id, sa.literal(badge.id), sa.literal(when, _TABLE.c.awarded_at.type)).where(
        ~held.exists()  # also SQLite's parser needs a WHERE before ON CONFLICT in INSERT ... SELECT
    )
    stmt = (
        _insert(session)
        .from_select(["customer_id", "badge_id", "awarded_at"], rows)
        .on_conflict_do_nothing(index_elements=["customer_id", "badge_id"])
        .returning(_TABLE.c.id, _TABLE.c.customer_id)
    )
    return [(row.id, row.customer_id) for row in session.execute(stmt)]


def _announce(session: Session, badge: Badge, awarded: list[tuple[int, uuid.UUID]]) -> None:
    events.emit_many(
        session,
        events.BADGE_AWARDED,
        [
            (customer_id, {"customer_badge_id": award_id, "badge_id": badge.id, "badge_code": badge.code})
            for award_id, customer_id in awarded
        ],
    )


def evaluate_badge(
    session: Session, badge: Badge, as_of: dt.datetime, customer_ids: Collection[uuid.UUID] | None = None
) -> int:
    """Award ``badge`` to everyone meeting its criteria at ``as_of``; the number of new awards.

    Raises ``CriteriaError`` for criteria the schema refuses; MANUAL badges award nobody here.
    """
    criteria = Criteria.parse(badge.criteria_json)
    if not criteria.automatic:
        return 0
    if session.connection().dialect.name == "postgresql":
        # Streaks sort every (customer, day): in memory rather than in temporary files, for this transaction.
        session.execute(sa.text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    awarded = _award_rows(session, badge, qualifying(session, criteria, as_of, customer_ids), as_of)
    if awarded:
        _announce(session, badge, awarded)
        ids = [award_id for award_id, _customer in awarded]
        metadata = {"badge_code": badge.code, "awarded": len(ids), "first_id": min(ids), "last_id": max(ids)}
        record(AUDIT_EVALUATE, _TABLE.name, badge.id, {**metadata, "as_of": as_of.isoformat()})
    session.flush()
    return len(awarded)


def evaluate_badges(
    session: Session,
    *,
    as_of: dt.datetime | None = None,
    customer_ids: Collection[uuid.UUID] | None = None,
    badge_ids: Collection[int] | None = None,
    after_badge: Callable[[int, int], None] | None = None,
) -> EvaluationResult:
    """Evaluate every badge (or ``badge_ids``) for every customer (or ``customer_ids``), in badge id order.

    ``after_badge(done, total)`` runs after each badge, so a job commits badge by badge with its progress.
    """
    result = EvaluationResult(as_of=as_of or utcnow())
    query = sa.select(Badge).order_by(Badge.id)
    if badge_ids is not None:
        query = query.where(Badge.id.in_(list(badge_ids)))
    badges = session.scalars(query).all()
    for done, badge in enumerate(badges, start=1):
        try:
            count = evaluate_badge(session, badge, result.as_of, customer_ids)
        except CriteriaError:
            result.invalid.append(badge.code)
            count = 0
        result.badges += 1
        result.awarded += count
        if count:
            result.per_badge[badge.code] = count
        if after_badge is not None:
            after_badge(done, len(badges))
    return result


def holds(session: Session, customer_id: uuid.UUID, badge_id: int) -> bool:
    stmt = sa.select(CustomerBadge.id).where(
        CustomerBadge.customer_id == customer_id, CustomerBadge.badge_id == badge_id
    )
    return session.execute(stmt.limit(1)).first() is not None


def award(
    session: Session, customer_id: uuid.UUID, badge: Badge, *, at: dt.datetime | None = None, cause: str = "manual"
) -> Outcome:
    """Award one badge to one customer, once: MANUAL badges as asked, others only if their criteria are met.

    Emits ``badge.awarded`` and records one audit row for a new award; raises ``CriteriaError``
    if the badge's criteria are invalid.
    """
    when = at or utcnow()
    criteria = Criteria.parse(badge.criteria_json)
    if holds(session, customer_id, badge.id):
        return Outcome.ALREADY_HELD
    if criteria.automatic and customer_id not in customers_meeting(session, criteria, when, [customer_id]):
        return Outcome.NOT_MET
    one = sa.select(sa.literal(customer_id, CustomerBadge.__table__.c.customer_id.type).label("customer_id"))
    awarded = _award_rows(session, badge, one.subquery("one"), when)
    if not awarded:
        return Outcome.ALREADY_HELD  # a concurrent award won the unique key
    _announce(session, badge, awarded)
    record(AUDIT_AWARD, _TABLE.name, awarded[0][0], {"badge_code": badge.code, "cause": cause})
    session.flush()
    return Outcome.AWARDED


def unmet_awards(session: Session) -> list[tuple[int, str]]:
    """Awards whose customer did not meet the badge's criteria at ``awarded_at`` (the demo invariant).

    One criteria query per (badge, awarded_at) group, over the customers awarded then.
    """
    problems: list[tuple[int, str]] = []
    groups: dict[tuple[int, dt.datetime], dict[uuid.UUID, int]] = {}
    for row in session.execute(sa.select(CustomerBadge.id, CustomerBadge.badge_id, CustomerBadge.customer_id,
                                         CustomerBadge.awarded_at)):  # fmt: skip
        groups.setdefault((row.badge_id, row.awarded_at), {})[row.customer_id] = row.id
    badges = {b.id: b for b in session.scalars(sa.select(Badge))}
    for (badge_id, when), holders in groups.items():
        badge = badges[badge_id]
        try:
            met = customers_meeting(session, Criteria.parse(badge.criteria_json), when, list(holders))
        except CriteriaError:
            met = set()
        problems += [(award_id, badge.code) for customer, award_id in holders.items() if customer not in met]
    return problems
