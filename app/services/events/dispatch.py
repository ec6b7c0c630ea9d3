"""The dispatcher: undispatched events, oldest first, in batches, to the registered handlers.

One batch is one transaction: take up to ``batch_size`` undispatched rows in id order (on
PostgreSQL ``FOR UPDATE SKIP LOCKED``, so a second dispatcher takes the next rows instead of
waiting for these or taking them twice), give them to each handler that wants their types, stamp
``dispatched_at`` and let the caller commit. A worker killed mid-batch leaves the batch
unstamped and its locks released: the rerun dispatches exactly the rows never stamped. Handlers
therefore see an event at least once, never after its batch committed; the engine's idempotency
key (issue 14) turns that into exactly-once actions. Order is by id within a dispatcher; two
dispatchers running at once interleave batches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from app.models.base import utcnow
from app.models.events import DomainEvent
from app.services.events.handlers import Handler

DEFAULT_BATCH = 500
_UNDISPATCHED = DomainEvent.dispatched_at.is_(None)


def pending_count(db: Session) -> int:
    """How many events wait (the partial index of undispatched ids answers it)."""
    return int(db.scalar(sa.select(sa.func.count()).select_from(DomainEvent).where(_UNDISPATCHED)) or 0)


def take_batch(db: Session, batch_size: int = DEFAULT_BATCH) -> list[DomainEvent]:
    """Lock and return the next undispatched events in id order (skipping rows another dispatcher holds)."""
    stmt = (
        sa.select(DomainEvent)
        .options(lazyload("*"))  # the rows only: handlers load what they need
        .where(_UNDISPATCHED)
        .order_by(DomainEvent.id)
        .limit(batch_size)
    )
    if db.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=DomainEvent, skip_locked=True)
    return list(db.scalars(stmt))


def dispatch_batch(
    db: Session, handlers: Sequence[Handler], *, batch_size: int = DEFAULT_BATCH, now: dt.datetime | None = None
) -> list[DomainEvent]:
    """Hand one batch to ``handlers`` and stamp it; returns the batch (empty: nothing waits). The caller commits."""
    events = take_batch(db, batch_size)
    if not events:
        return events
    for handler in handlers:
        wanted = [e for e in events if handler.wants(e.event_type)]
        if wanted:
            handler.func(wanted)
    stamp = now or utcnow()
    db.execute(
        sa.update(DomainEvent)
        .where(DomainEvent.id.in_([e.id for e in events]), _UNDISPATCHED)
        .values(dispatched_at=stamp)
        .execution_options(synchronize_session=False)
    )
    for event in events:  # the loaded rows say so too, without a second (audited) ORM update
        set_committed_value(event, "dispatched_at", stamp)
    return events


@dataclass
class DispatchResult:
    dispatched: int = 0
    batches: int = 0
    last_id: int | None = None


def dispatch_pending(
    db: Session,
    handlers: Sequence[Handler],
    *,
    batch_size: int = DEFAULT_BATCH,
    max_batches: int | None = None,
    commit_batch: Callable[[DispatchResult], None] | None = None,
    now: dt.datetime | None = None,
) -> DispatchResult:
    """Dispatch batch after batch until nothing waits (or ``max_batches``); ``commit_batch`` commits each.

    ``now`` stamps ``dispatched_at`` (default: the clock); the demo passes its own, so a seed reproduces.
    """
    result = DispatchResult()
    while max_batches is None or result.batches < max_batches:
        events = dispatch_batch(db, handlers, batch_size=batch_size, now=now)
        if not events:
            break
        result.dispatched += len(events)
        result.batches += 1
        result.last_id = events[-1].id
        if commit_batch is not None:
            commit_batch(result)
    return result
