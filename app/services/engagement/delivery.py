"""Sending queued deliveries: claim the due rows, compose each in its recipient's language, send, record.

Other services queue ``message_deliveries`` rows (QUEUED); ``deliver_due`` sends one batch of them.
On PostgreSQL the batch is claimed ``FOR UPDATE SKIP LOCKED``, so two workers never send the same
row; the locks last until the caller commits the recorded outcomes. A worker killed between the send
and the commit leaves its rows QUEUED, so they go again: delivery is at least once.

Outcomes are written with plain statements, as a run log (like ``job_runs``), not through the audited
ORM: 100,000 announcement mails must not write 100,000 audit rows. A console retry of a FAILED row is
a person's decision and is audited (``retry_failed``). Announcement counters (``sent_count``,
``skipped_count``, ``failed_count``) move with the rows in the same transaction, so they always agree
with the rows' final states.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from app.extensions import db
from app.models.engagement import (
    Announcement,
    Channel,
    DeliveryStatus,
    Message,
    MessageDelivery,
    Thread,
    ThreadContext,
)
from app.models.identity import PlatformUser, UserStatus
from app.services.audit import chain as audit
from app.services.engagement.channels import (
    ChannelBackend,
    DeliveryError,
    Outgoing,
    PermanentError,
    backends_for,
)
from app.services.jobs.context import JobContext
from app.services.jobs.kinds import job_kind

log = logging.getLogger(__name__)

DELIVER_KIND = "deliveries.run"
# Waits before attempts 2..5; after the fifth failed attempt the delivery is FAILED.
BACKOFF = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=30), dt.timedelta(hours=2))
MAX_ATTEMPTS = len(BACKOFF) + 1
T = MessageDelivery.__table__
QUEUED, SENT, FAILED, SKIPPED = (s.value for s in DeliveryStatus)


@dataclass
class DeliveryCounts:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    retrying: int = 0
    failed: int = 0

    def add(self, other: DeliveryCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _due(now: dt.datetime, announcement_id: int | None) -> list[Any]:
    where = [
        T.c.status == QUEUED,
        sa.or_(T.c.next_attempt_at.is_(None), T.c.next_attempt_at <= now),
    ]
    if announcement_id is not None:
        where.append(T.c.announcement_id == announcement_id)
    return where


def due_count(session: Session | None = None, *, now: dt.datetime, announcement_id: int | None = None) -> int:
    session = session or db.session
    return int(session.scalar(sa.select(sa.func.count()).select_from(T).where(*_due(now, announcement_id))) or 0)


def _claim(session: Session, now: dt.datetime, limit: int, announcement_id: int | None) -> list[Any]:
    # Ordered as the (status, next_attempt_at) index is: due retries first, then fresh rows.
    stmt = (
        sa.select(T.c.id, T.c.channel, T.c.recipient_id, T.c.message_id, T.c.announcement_id, T.c.attempts)
        .where(*_due(now, announcement_id))
        .order_by(T.c.next_attempt_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.execute(stmt))


class _Composer:
    """Envelope strings per language, computed once per batch; bodies from the message or announcement."""

    def __init__(self, session: Session, rows: list[Any]) -> None:
        message_ids = {r.message_id for r in rows if r.message_id is not None}
        announcement_ids = {r.announcement_id for r in rows if r.announcement_id is not None}
        self.messages = (
            {
                m.id: m
                for m in session.execute(
                    sa.select(Message.id, Message.body, Message.sender_id, Thread.context_type, Thread.customer_id)
                    .join(Thread, Thread.id == Message.thread_id)
                    .where(Message.id.in_(message_ids))
                )
            }
            if message_ids
            else {}
        )
        self.announcements = (
            {
                a.id: a
                for a in session.execute(
                    sa.select(Announcement.id, Announcement.title, Announcement.body).where(
                        Announcement.id.in_(announcement_ids)
                    )
                )
            }
            if announcement_ids
            else {}
        )
        people = {r.recipient_id for r in rows} | {m.sender_id for m in self.messages.values()}
        self.users = {
            u.id: u
            for u in session.execute(
                sa.select(PlatformUser.id, PlatformUser.email, PlatformUser.locale, PlatformUser.full_name,
                          PlatformUser.status).where(PlatformUser.id.in_(people))
            )
        }  # fmt: skip
        self.languages = set(current_app.config.get("LANGUAGES") or ()) or {"en"}
        self.default = current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
        self._strings: dict[tuple[str, str, str], str] = {}

    def _locale(self, user: Any) -> str:
        code = ((user.locale if user else None) or "").replace("-", "_").split("_")[0].lower()
        return code if code in self.languages else self.default

    def _text(self, locale: str, key: str, name: str = "") -> str:
        cached = self._strings.get((locale, key, name))
        if cached is None:
            with force_locale(locale):
                cached = {
                    "support": lambda: _("New message from support"),
                    "coach": lambda: _("New message from your coach"),
                    "person": lambda: _("New message from %(name)s", name=name),
                    "message_footer": lambda: _("Reply in Coachdesk: this address does not read replies."),
                    "announcement_footer": lambda: _("You receive this announcement as a Coachdesk member."),
                }[key]()
            self._strings[(locale, key, name)] = cached
        return cached

    def compose(self, row: Any) -> Outgoing | None:
        user = self.users.get(row.recipient_id)
        locale = self._locale(user)
        address = None
        if user is not None and user.status != UserStatus.DELETED:
            address = (user.email or "").strip() or None
            if address and address.lower().endswith(".invalid"):
                address = None  # an erased account keeps a placeholder address that must never be mailed
        if row.message_id is not None:
            msg = self.messages.get(row.message_id)
            if msg is None:
                return None
            if msg.context_type == ThreadContext.SUPPORT:
                subject = self._text(locale, "support")
            elif msg.customer_id == row.recipient_id:
                subject = self._text(locale, "coach")
            else:
                sender = self.users.get(msg.sender_id)
                subject = self._text(locale, "person", sender.full_name if sender else "Coachdesk")
            body = f"{msg.body}\n\n-- \n{self._text(locale, 'message_footer')}\n"
        else:
            ann = self.announcements.get(row.announcement_id)
            if ann is None:
                return None
            subject = ann.title
            body = f"{ann.body}\n\n-- \n{self._text(locale, 'announcement_footer')}\n"
        return Outgoing(row.id, Channel(row.channel), row.recipient_id, address, locale, subject, body)


def _retry_at(now: dt.datetime, attempts: int) -> dt.datetime:
    return now + BACKOFF[min(attempts, len(BACKOFF)) - 1]


def deliver_due(
    *,
    now: dt.datetime,
    limit: int = 500,
    announcement_id: int | None = None,
    session: Session | None = None,
    backends: Mapping[Channel, ChannelBackend] | None = None,
) -> DeliveryCounts:
    """Claim up to ``limit`` due QUEUED deliveries, send each through its channel, record the outcomes.

    The caller commits (the claim's row locks last until then). ``backends`` defaults to the app's
    settings (``channels.backends_for``); each is opened before the batch and closed after it.
    """
    session = session or db.session
    rows = _claim(session, now, limit, announcement_id)
    counts = DeliveryCounts(claimed=len(rows))
    if not rows:
        return counts
    composer = _Composer(session, rows)
    backends = backends or backends_for(current_app.config)
    sent: list[int] = []
    skipped: dict[str, list[int]] = defaultdict(list)
    retry: dict[tuple[int, str], list[int]] = defaultdict(list)
    failed: dict[str, list[int]] = defaultdict(list)
    tally: dict[int, Counter[str]] = defaultdict(Counter)
    opened: list[ChannelBackend] = []
    try:
        for row in rows:
            item = composer.compose(row)
            backend = backends[Channel(row.channel)]
            if item is not None and backend not in opened:
                backend.open()
                opened.append(backend)
            outcome_key = _send(backend, item, row, now, sent, skipped, retry, failed)
            if row.announcement_id is not None and outcome_key:
                tally[row.announcement_id][outcome_key] += 1
    finally:
        for backend in opened:
            backend.close()
    _record(session, now, sent, skipped, retry, failed, tally)
    counts.sent = len(sent)
    counts.skipped = sum(map(len, skipped.values()))
    counts.retrying = sum(map(len, retry.values()))
    counts.failed = sum(map(len, failed.values()))
    if counts.retrying or counts.failed:
        log.info("deliveries: %s", counts.as_dict())
    return counts


def _send(backend, item, row, now, sent, skipped, retry, failed) -> str | None:  # noqa: ANN001 (module-private)
    """Send one and file its id under its outcome; returns the announcement counter it moves, if any."""
    if item is None:
        skipped["source no longer exists"].append(row.id)
        return "skipped"
    try:
        outcome = backend.send(item)
    except DeliveryError as exc:
        attempts = row.attempts + 1
        if isinstance(exc, PermanentError) or attempts >= MAX_ATTEMPTS:
            failed[str(exc)].append(row.id)
            log.warning("delivery %s failed after %s attempts: %s", row.id, attempts, exc)
            return "failed"
        retry[(attempts, str(exc))].append(row.id)
        return None
    if outcome.sent:
        sent.append(row.id)
        return "sent"
    skipped[outcome.reason or "skipped"].append(row.id)
    return "skipped"


def _update(session: Session, ids: list[int], values: dict[str, Any]) -> None:
    session.execute(sa.update(T).where(T.c.id.in_(ids), T.c.status == QUEUED).values(**values))


def _record(session, now, sent, skipped, retry, failed, tally) -> None:  # noqa: ANN001 (module-private)
    if sent:
        _update(session, sent, {"status": SENT, "sent_at": now, "attempts": T.c.attempts + 1,
                                "next_attempt_at": None, "last_error": None})  # fmt: skip
    for reason, ids in skipped.items():
        _update(session, ids, {"status": SKIPPED, "last_error": reason, "next_attempt_at": None})
    for (attempts, error), ids in retry.items():
        _update(session, ids, {"attempts": attempts, "next_attempt_at": _retry_at(now, attempts), "last_error": error})
    for error, ids in failed.items():
        _update(session, ids, {"status": FAILED, "attempts": T.c.attempts + 1, "next_attempt_at": None,
                               "last_error": error})  # fmt: skip
    table = Announcement.__table__
    for announcement_id, moved in tally.items():
        session.execute(
            sa.update(table)
            .where(table.c.id == announcement_id)
            .values(
                sent_count=table.c.sent_count + moved["sent"],
                skipped_count=table.c.skipped_count + moved["skipped"],
                failed_count=table.c.failed_count + moved["failed"],
            )
        )


def deliver_all(
    *,
    now: Callable[[], dt.datetime],
    limit: int = 500,
    announcement_id: int | None = None,
    on_batch: Callable[[DeliveryCounts], None] | None = None,
) -> DeliveryCounts:
    """``deliver_due`` batch after batch until nothing is due. Each batch is committed before the next (its
    locks and sends are done): by ``on_batch`` (the job's ``ctx.commit`` with progress), else here."""
    total = DeliveryCounts()
    while True:
        counts = deliver_due(now=now(), limit=limit, announcement_id=announcement_id)
        if not counts.claimed:
            return total
        total.add(counts)
        if on_batch is not None:
            on_batch(total)
        else:
            db.session.commit()


@job_kind(DELIVER_KIND, queue="default", timeout=1800)
def deliver_job(ctx: JobContext) -> dict[str, Any]:
    """Send everything that is due, batch by batch (progress: deliveries handled of those due at the start)."""
    from app.models.base import utcnow

    announcement_id = ctx.params.get("announcement_id")
    total = due_count(now=utcnow(), announcement_id=announcement_id)
    ctx.commit(done=0, total=total)

    def batch(counts: DeliveryCounts) -> None:
        ctx.commit(done=counts.claimed, total=max(total, counts.claimed))

    limit = int(current_app.config.get("DELIVERY_BATCH") or 500)
    return deliver_all(now=utcnow, limit=limit, announcement_id=announcement_id, on_batch=batch).as_dict()


def retry_failed(ids: Iterable[int], *, now: dt.datetime, session: Session | None = None) -> list[int]:
    """Queue FAILED deliveries again from scratch (a person's decision: audited). Returns the ids requeued."""
    session = session or db.session
    rows = list(
        session.scalars(
            sa.select(MessageDelivery)
            .where(MessageDelivery.id.in_(list(ids)), MessageDelivery.status == DeliveryStatus.FAILED)
            .with_for_update()
        )
    )
    moved: Counter[int] = Counter()
    for row in rows:
        row.status = DeliveryStatus.QUEUED
        row.attempts = 0
        row.next_attempt_at = now
        row.last_error = None
        if row.announcement_id is not None:
            moved[row.announcement_id] += 1
    table = Announcement.__table__
    for announcement_id, n in moved.items():
        session.execute(
            sa.update(table).where(table.c.id == announcement_id).values(failed_count=table.c.failed_count - n)
        )
    session.flush()
    requeued = [row.id for row in rows]
    if requeued:
        audit.record(
            "message_delivery.retry", "message_deliveries", requeued[0], {"ids": requeued[:100], "count": len(requeued)}
        )
    return requeued
