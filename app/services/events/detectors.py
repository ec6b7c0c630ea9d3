"""Detected events: what happens by time passing, not by a change (a plan day missed, an invoice
overdue, a support ticket past its SLA), written to the outbox once each.

No service call marks these moments, so periodic jobs find them. Each detector is one
``INSERT INTO domain_events ... SELECT`` per batch, set-based on both databases: the candidates
are rows in a recent window (``EVENTS_DETECT_LOOKBACK_DAYS``, so a first run does not announce
years of history) that have no event yet, walked in primary-key order ``(after, upper]``. Each
event carries a ``dedupe_key`` naming its row (and the day or due date), and the unique index on
``(event_type, dedupe_key)`` with ``ON CONFLICT DO NOTHING`` makes a second run, an overlapping
run or a retry after a crash emit nothing twice. Payloads are built by the database
(``jsonb_build_object`` / ``json_object``) in the shape the catalogue's schema describes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.commerce import Invoice, InvoiceStatus, Subscription
from app.models.customers import CustomerProfile
from app.models.engagement import SupportTicket, TicketStatus
from app.models.events import DomainEvent
from app.models.training import CompletionState, CustomerPlan, PlanItem, PlanStatus
from app.services.events.catalogue import INVOICE_OVERDUE, PLAN_ITEM_MISSED, SUPPORT_SLA_BREACHED

DEFAULT_LOOKBACK_DAYS = 7
DEFAULT_BATCH = 2000


@dataclass(frozen=True)
class Candidates:
    """One detector's SELECT: its key column, and the columns of the events it would insert."""

    key: Any  # the primary-key column walked in order
    columns: list[Any]  # customer_id, payload, dedupe_key (labelled)
    joins: Callable[[Any], Any]  # select -> select with FROM and joins
    where: list[Any]


@dataclass(frozen=True)
class Detector:
    name: str
    event_type: str
    build: Callable[[Session, dt.datetime, int], Candidates]


def _dialect(db: Session) -> str:
    return db.get_bind().dialect.name


def _json_object(db: Session, pairs: list[tuple[str, Any]]) -> Any:
    args: list[Any] = []
    for key, value in pairs:
        args.extend([sa.literal_column(f"'{key}'"), value])  # constant keys, inlined (PostgreSQL types them)
    if _dialect(db) == "postgresql":
        return sa.func.jsonb_build_object(*args)
    return sa.func.json_object(*args)


def _date_text(db: Session, column: Any) -> Any:
    """A DATE as 'YYYY-MM-DD' (SQLite stores it so; PostgreSQL formats it, whatever DateStyle says)."""
    if _dialect(db) == "postgresql":
        return sa.func.to_char(column, "YYYY-MM-DD")
    return sa.cast(column, sa.String)


def _instant_text(db: Session, column: Any) -> Any:
    """A UTC timestamp as ISO 8601 with "+00:00", whatever the session's time zone."""
    if _dialect(db) == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')
    return sa.func.strftime("%Y-%m-%dT%H:%M:%S+00:00", column)


def _id_text(column: Any) -> Any:
    return sa.cast(column, sa.String)


def _local_today(name: str, now: dt.datetime) -> dt.date:
    """The zone's today; an unknown name counts as UTC, as in ``training.schedule.zone`` (which
    this package may not import: training emits events, so events stays below it)."""
    try:
        tz = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return now.astimezone(tz).date()


def _zone_days(db: Session, now: dt.datetime) -> dict[dt.date, list[str]]:
    """Each customer zone name in use, grouped by its local today (two or three groups at most)."""
    names = set(db.scalars(sa.select(CustomerProfile.timezone).distinct())) | {"UTC"}
    groups: dict[dt.date, list[str]] = {}
    for name in sorted(n for n in names if n):
        groups.setdefault(_local_today(name, now), []).append(name)
    return groups


def _missed_plan_items(db: Session, now: dt.datetime, lookback_days: int) -> Candidates:
    """PENDING items of ACTIVE plans whose day ended in the customer's zone (UTC without a profile)."""
    tz = sa.func.coalesce(CustomerProfile.timezone, "UTC")
    passed = sa.or_(
        *(sa.and_(tz.in_(names), PlanItem.scheduled_date < day) for day, names in _zone_days(db, now).items())
    )
    since = now.date() - dt.timedelta(days=lookback_days)
    payload = _json_object(
        db,
        [
            ("plan_id", PlanItem.plan_id),
            ("plan_item_id", PlanItem.id),
            ("item_type", PlanItem.item_type),
            ("item_id", PlanItem.item_id),
            ("scheduled_date", _date_text(db, PlanItem.scheduled_date)),
        ],
    )
    key = sa.literal("plan_item:") + _id_text(PlanItem.id) + sa.literal(":") + _date_text(db, PlanItem.scheduled_date)
    return Candidates(
        key=PlanItem.id,
        columns=[CustomerPlan.customer_id, payload, key],
        joins=lambda s: (
            s.select_from(PlanItem)
            .join(CustomerPlan, CustomerPlan.id == PlanItem.plan_id)
            .outerjoin(CustomerProfile, CustomerProfile.user_id == CustomerPlan.customer_id)
        ),
        where=[
            PlanItem.completion_state == CompletionState.PENDING,
            CustomerPlan.status == PlanStatus.ACTIVE,
            PlanItem.scheduled_date >= since,
            passed,
        ],
    )


def _overdue_invoices(db: Session, now: dt.datetime, lookback_days: int) -> Candidates:
    """OPEN invoices whose due date (a calendar date, read in UTC) has passed."""
    today = now.astimezone(dt.UTC).date()
    payload = _json_object(
        db,
        [
            ("invoice_id", Invoice.id),
            ("subscription_id", Invoice.subscription_id),
            ("amount", Invoice.amount),
            ("currency", Invoice.currency),
            ("due_date", _date_text(db, Invoice.due_date)),
        ],
    )
    key = sa.literal("invoice:") + _id_text(Invoice.id) + sa.literal(":") + _date_text(db, Invoice.due_date)
    return Candidates(
        key=Invoice.id,
        columns=[Subscription.customer_id, payload, key],
        joins=lambda s: s.select_from(Invoice).join(Subscription, Subscription.id == Invoice.subscription_id),
        where=[
            Invoice.status == InvoiceStatus.OPEN,
            Invoice.due_date < today,
            Invoice.due_date >= today - dt.timedelta(days=lookback_days),
        ],
    )


def _sla_breaches(db: Session, now: dt.datetime, lookback_days: int) -> Candidates:
    """OPEN or PENDING tickets whose SLA due time has passed; once per ticket."""
    payload = _json_object(
        db,
        [
            ("ticket_id", SupportTicket.id),
            ("priority", SupportTicket.priority),
            ("status", SupportTicket.status),
            ("sla_due_at", _instant_text(db, SupportTicket.sla_due_at)),
        ],
    )
    key = sa.literal("ticket:") + _id_text(SupportTicket.id)
    return Candidates(
        key=SupportTicket.id,
        columns=[SupportTicket.requester_id, payload, key],
        joins=lambda s: s.select_from(SupportTicket),
        where=[
            SupportTicket.status.in_([TicketStatus.OPEN, TicketStatus.PENDING]),
            SupportTicket.sla_due_at < now,
            SupportTicket.sla_due_at >= now - dt.timedelta(days=lookback_days),
        ],
    )


DETECTORS: dict[str, Detector] = {
    d.name: d
    for d in (
        Detector("missed_plan_items", PLAN_ITEM_MISSED, _missed_plan_items),
        Detector("overdue_invoices", INVOICE_OVERDUE, _overdue_invoices),
        Detector("sla_breaches", SUPPORT_SLA_BREACHED, _sla_breaches),
    )
}


@dataclass
class DetectResult:
    emitted: int = 0
    batches: int = 0
    after: int = 0


def detect(
    db: Session,
    name: str,
    *,
    now: dt.datetime | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    batch_size: int = DEFAULT_BATCH,
    after: int = 0,
    commit_batch: Callable[[DetectResult], None] | None = None,
) -> DetectResult:
    """Emit the detector's events for rows with a key above ``after``, one INSERT per batch.

    Flushes nothing through the ORM and commits nothing itself: ``commit_batch(result)`` is
    called after each batch for the caller to commit there (a job, with ``result.after`` as its
    checkpoint); without it the caller commits the lot.
    """
    detector = DETECTORS.get(name)
    if detector is None:
        raise ValueError(f"unknown detector {name!r}; expected one of {', '.join(DETECTORS)}")
    now = now or utcnow()
    spec = detector.build(db, now, lookback_days)
    event_type = detector.event_type
    already = sa.exists().where(DomainEvent.event_type == event_type, DomainEvent.dedupe_key == spec.columns[2])
    result = DetectResult(after=after)
    while True:
        window = spec.joins(sa.select(spec.key)).where(*spec.where, spec.key > result.after, ~already)
        upper = db.scalar(sa.select(sa.func.max(window.order_by(spec.key).limit(batch_size).subquery().c[0])))
        if upper is None:
            return result
        rows = spec.joins(
            sa.select(
                sa.literal(event_type).label("event_type"),
                sa.literal(now, DomainEvent.__table__.c.occurred_at.type).label("occurred_at"),
                spec.columns[0].label("customer_id"),
                spec.columns[1].label("payload"),
                spec.columns[2].label("dedupe_key"),
            )
        ).where(*spec.where, spec.key > result.after, spec.key <= upper, ~already)
        # RETURNING counts what was inserted (psycopg reports no rowcount for INSERT ... SELECT here).
        result.emitted += len(db.execute(_insert_ignoring_duplicates(db, rows)).all())
        result.batches += 1
        result.after = int(upper)
        if commit_batch is not None:
            commit_batch(result)


def _insert_ignoring_duplicates(db: Session, rows: Any) -> Any:
    cols = ["event_type", "occurred_at", "customer_id", "payload", "dedupe_key"]
    insert = postgresql.insert if _dialect(db) == "postgresql" else sqlite.insert
    stmt = insert(DomainEvent.__table__).from_select(cols, rows)
    return stmt.on_conflict_do_nothing(index_elements=["event_type", "dedupe_key"]).returning(
        DomainEvent.__table__.c.id
    )
