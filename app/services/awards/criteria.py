"""Badge criteria: ``criteria_json`` read into a typed ``Criteria``, and each kind as one set-based query.

``qualifying(criteria, as_of, ...)`` is a SELECT of the customer ids that meet the criteria with
what was known at ``as_of`` (nothing later counts), so the evaluation job, the automation action
and the demo invariant ask the same question in one statement for every customer at once, on
PostgreSQL and SQLite alike. ``window_days`` limits what counts to the days before ``as_of``
(for STREAK: the streak ended within the window). Days are the customer's own calendar days.

MANUAL badges have no query: only automation rules and staff award them, so any holder meets them.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models import json_schemas as js
from app.models.analytics import EngagementEvent, ProgressMetric
from app.models.base import validate_json_value
from app.models.customers import CustomerProfile
from app.models.engagement import Challenge, ChallengeResult
from app.models.scheduling import AttendanceStatus, ScheduledSession, SessionParticipant
from app.models.training import CompletionState, CustomerPlan, PlanItem
from app.models.types import UTCDateTime
from app.services.awards import zones


class Kind(enum.StrEnum):
    STREAK = "STREAK"
    COMPLETIONS = "COMPLETIONS"
    ATTENDANCE = "ATTENDANCE"
    CHALLENGE_RANK = "CHALLENGE_RANK"
    METRIC_DELTA = "METRIC_DELTA"
    METRIC_AVERAGE = "METRIC_AVERAGE"
    MANUAL = "MANUAL"


class CriteriaError(ValueError):
    """``criteria_json`` the schema refuses; the message names the field and the problem."""


@dataclass(frozen=True, slots=True)
class Criteria:
    kind: Kind
    threshold: decimal.Decimal = decimal.Decimal(0)
    window_days: int | None = None
    metric: str | None = None
    event_type: str | None = None
    direction: str | None = None  # METRIC_DELTA: DECREASE, INCREASE, or None for either way

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> Criteria:
        """Validate against ``BADGE_CRITERIA`` and type the values (a float threshold becomes a Decimal).

        A badge without criteria is MANUAL: nothing to evaluate, awarded by rules and staff only.
        """
        if raw is None:
            return cls(kind=Kind.MANUAL)
        if not isinstance(raw, Mapping):
            raise CriteriaError(_("criteria: an object with a kind is required"))
        try:
            validate_json_value("criteria_json", js.BADGE_CRITERIA, dict(raw))
        except ValueError as error:
            raise CriteriaError(str(error)) from error
        return cls(
            kind=Kind(raw["kind"]),
            threshold=decimal.Decimal(str(raw.get("threshold", 0))),
            window_days=raw.get("window_days"),
            metric=raw.get("metric"),
            event_type=raw.get("event_type"),
            direction=raw.get("direction"),
        )

    @property
    def automatic(self) -> bool:
        """Whether the evaluation job awards it (every kind but MANUAL)."""
        return self.kind is not Kind.MANUAL

    def whole_threshold(self) -> int:
        """Counts and ranks compare with a whole number: 2.5 completions means 3."""
        return int(self.threshold.to_integral_value(rounding=decimal.ROUND_CEILING))


def _bound(as_of: dt.datetime) -> Any:
    return sa.literal(as_of, UTCDateTime())


def _since(criteria: Criteria, as_of: dt.datetime) -> dt.datetime | None:
    return as_of - dt.timedelta(days=criteria.window_days) if criteria.window_days else None


def _in_time(column: Any, as_of: dt.datetime, since: dt.datetime | None) -> list[Any]:
    clauses = [column <= _bound(as_of)]
    if since is not None:
        clauses.append(column > _bound(since))
    return clauses


def _activity(criteria: Criteria) -> tuple[Any, Any, Any]:
    """(customer column, time column, FROM clause) of what COMPLETIONS and STREAK count."""
    if criteria.event_type:
        return EngagementEvent.customer_id, EngagementEvent.occurred_at, EngagementEvent.__table__
    join = sa.join(PlanItem, CustomerPlan, CustomerPlan.id == PlanItem.plan_id)
    return CustomerPlan.customer_id, PlanItem.completion_at, join


def _activity_filter(criteria: Criteria) -> Any:
    if criteria.event_type:
        return EngagementEvent.event_type == criteria.event_type
    return PlanItem.completion_state == CompletionState.COMPLETED


def _completions(criteria: Criteria, as_of: dt.datetime, **_kw: Any) -> sa.Select:
    customer, moment, source = _activity(criteria)
    return (
        sa.select(customer.label("customer_id"))
        .select_from(source)
        .where(_activity_filter(criteria), *_in_time(moment, as_of, _since(criteria, as_of)))
        .group_by(customer)
        .having(sa.func.count() >= criteria.whole_threshold())
    )


def _streak(criteria: Criteria, as_of: dt.datetime, *, dialect: str, zone_names: list[str]) -> sa.Select:
    """Gaps and islands over distinct local days: consecutive days share ``day - row_number``."""
    need = max(1, criteria.whole_threshold())
    customer, moment, source = _activity(criteria)
    tz = zones.zone_of(CustomerProfile.timezone, zone_names)
    # Enough history to see a streak of ``need`` days ending inside the window (two days for the zones).
    since = as_of - dt.timedelta(days=criteria.window_days + need + 2) if criteria.window_days else None
    columns = [customer.label("customer_id"), zones.local_day(dialect, moment, tz).label("day")]
    if criteria.window_days:
        columns.append(zones.local_day(dialect, _bound(as_of), tz).label("today"))
    days = (
        sa.select(*columns)
        .select_from(source.outerjoin(CustomerProfile, CustomerProfile.user_id == customer))
        .where(_activity_filter(criteria), *_in_time(moment, as_of, since))
        .distinct()
        .subquery("days")
    )
    grp = days.c.day - sa.func.row_number().over(partition_by=days.c.customer_id, order_by=days.c.day)
    islands = sa.select(*days.c, grp.label("grp")).subquery("islands")
    query = (
        sa.select(islands.c.customer_id).group_by(islands.c.customer_id, islands.c.grp).having(sa.func.count() >= need)
    )
    if criteria.window_days:
        # The streak's last day lies within the window's days, counted in the customer's zone.
        query = query.having(sa.func.max(islands.c.day) > sa.func.max(islands.c.today) - criteria.window_days)
    return sa.select(query.subquery("streaks").c.customer_id).distinct()


def _attendance(criteria: Criteria, as_of: dt.datetime, **_kw: Any) -> sa.Select:
    return (
        sa.select(SessionParticipant.customer_id.label("customer_id"))
        .join(ScheduledSession, ScheduledSession.id == SessionParticipant.session_id)
        .where(
            SessionParticipant.attendance_status == AttendanceStatus.ATTENDED,
            *_in_time(ScheduledSession.start_time, as_of, _since(criteria, as_of)),
        )
        .group_by(SessionParticipant.customer_id)
        .having(sa.func.count() >= criteria.whole_threshold())
    )


def _challenge_rank(criteria: Criteria, as_of: dt.datetime, **_kw: Any) -> sa.Select:
    """A final rank at or above the threshold in a challenge finalized by ``as_of``."""
    return (
        sa.select(ChallengeResult.customer_id.label("customer_id"))
        .join(Challenge, Challenge.id == ChallengeResult.challenge_id)
        .where(
            Challenge.finalized_at.is_not(None),
            *_in_time(Challenge.finalized_at, as_of, _since(criteria, as_of)),
            ChallengeResult.rank.is_not(None),
            ChallengeResult.rank <= max(1, int(criteria.threshold)),
        )
        .distinct()
    )


def _metric_delta(criteria: Criteria, as_of: dt.datetime, **_kw: Any) -> sa.Select:
    """The change from the first reading to the latest one (within the window) of ``metric``."""
    order = (ProgressMetric.recorded_at, ProgressMetric.id)
    readings = (
        sa.select(
            ProgressMetric.customer_id,
            ProgressMetric.value,
            sa.func.row_number().over(partition_by=ProgressMetric.customer_id, order_by=order).label("first_n"),
            sa.func.row_number()
            .over(partition_by=ProgressMetric.customer_id, order_by=[c.desc() for c in order])
            .label("last_n"),
        )
        .where(
            ProgressMetric.metric_type == criteria.metric,
            *_in_time(ProgressMetric.recorded_at, as_of, _since(criteria, as_of)),
        )
        .subquery("readings")
    )
    first = sa.func.max(sa.case((readings.c.first_n == 1, readings.c.value)))
    last = sa.func.max(sa.case((readings.c.last_n == 1, readings.c.value)))
    change = {"DECREASE": first - last, "INCREASE": last - first}.get(
        criteria.direction or "", sa.func.abs(last - first)
    )
    return (
        sa.select(readings.c.customer_id)
        .group_by(readings.c.customer_id)
        .having(sa.func.count() >= 2, change >= criteria.threshold)
    )


def _metric_average(criteria: Criteria, as_of: dt.datetime, **_kw: Any) -> sa.Select:
    """The window's average reaches the threshold, for a customer measuring since before the window."""
    since = _since(criteria, as_of)
    assert since is not None  # the schema requires window_days for METRIC_AVERAGE
    in_window = ProgressMetric.recorded_at > _bound(since)
    return (
        sa.select(ProgressMetric.customer_id.label("customer_id"))
        .where(ProgressMetric.metric_type == criteria.metric, ProgressMetric.recorded_at <= _bound(as_of))
        .group_by(ProgressMetric.customer_id)
        .having(
            sa.func.min(ProgressMetric.recorded_at) <= _bound(since),
            sa.func.avg(sa.case((in_window, ProgressMetric.value))) >= criteria.threshold,
        )
    )


def _nobody(criteria: Criteria, as_of: dt.datetime, **_kw: Any) -> sa.Select:
    return sa.select(ProgressMetric.customer_id.label("customer_id")).where(sa.false())


_QUERIES = {
    Kind.COMPLETIONS: _completions,
    Kind.STREAK: _streak,
    Kind.ATTENDANCE: _attendance,
    Kind.CHALLENGE_RANK: _challenge_rank,
    Kind.METRIC_DELTA: _metric_delta,
    Kind.METRIC_AVERAGE: _metric_average,
    Kind.MANUAL: _nobody,
}


def qualifying(
    session: Session, criteria: Criteria, as_of: dt.datetime, customer_ids: Collection[uuid.UUID] | None = None
) -> sa.Subquery:
    """The customers meeting ``criteria`` at ``as_of`` (one column, ``customer_id``), as a subquery to select from.

    Call it inside the transaction that runs it: it readies SQLite's zone function on the connection.
    """
    dialect = zones.prepare(session)
    zone_names = zones.known_zones(session) if criteria.kind is Kind.STREAK else []
    query = _QUERIES[criteria.kind](criteria, as_of, dialect=dialect, zone_names=zone_names)
    met = query.subquery("met")
    outer = sa.select(met.c.customer_id)
    if customer_ids is not None:
        outer = outer.where(met.c.customer_id.in_(list(customer_ids)))
    return outer.subquery("qualifying")


def customers_meeting(
    session: Session, criteria: Criteria, as_of: dt.datetime, customer_ids: Collection[uuid.UUID] | None = None
) -> set[uuid.UUID]:
    """Who meets ``criteria`` at ``as_of``; for MANUAL, everyone asked about (nothing to meet)."""
    if not criteria.automatic:
        return set(customer_ids or ())
    met = qualifying(session, criteria, as_of, customer_ids)
    return set(session.scalars(sa.select(met.c.customer_id)))
