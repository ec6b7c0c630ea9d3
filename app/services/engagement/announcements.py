"""Announcements: a draft with typed audience criteria, its preview, scheduling, and the send job.

Sending does not deliver anything itself: the send job picks the audience *at send time* and
inserts one QUEUED ``message_deliveries`` row per recipient, in batches of ``INSERT ... SELECT``
(``ON CONFLICT DO NOTHING`` on (announcement, recipient, channel)), so a re-run or a resumed run
never queues anyone twice; the delivery job (``delivery.py``) sends what is queued.

Consent: a marketing announcement goes only to customers holding an unrevoked consent of one of
``MARKETING_CONSENT_TYPES``; the others get no row and count as ``skipped_count``. A service
notice (``is_marketing`` false) goes to the whole audience.

Lifecycle: DRAFT -> SCHEDULED (a time, or "now") -> SENT once queued; DRAFT or SCHEDULED ->
CANCELLED. Services flush and audit; callers commit (``start_send`` commits, as ``start_job`` does).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.extensions import db
from app.models.base import utcnow
from app.models.engagement import Announcement, AnnouncementStatus, Channel, DeliveryStatus, MessageDelivery
from app.models.identity import Consent, PlatformUser
from app.models.labels import enum_label
from app.services.audit import chain as audit
from app.services.engagement import segments
from app.services.engagement.errors import EngagementError, NotVisible
from app.services.jobs.context import JobContext
from app.services.jobs.kinds import job_kind
from app.services.jobs.runs import start_job

SEND_KIND = "announcement.send"
# The consents that allow a marketing message (the demo and the seed data record MARKETING_EMAIL).
MARKETING_CONSENT_TYPES: tuple[str, ...] = ("MARKETING", "MARKETING_EMAIL")
MAX_TITLE, MAX_BODY = 200, 20000
SCHEDULE_HORIZON_DAYS = 365  # a time further ahead is a typo, not a plan
DEFAULT_BATCH = 1000
SAMPLE_SIZE = 10
EDITABLE = (AnnouncementStatus.DRAFT,)
CANCELLABLE = (AnnouncementStatus.DRAFT, AnnouncementStatus.SCHEDULED)


class WrongState(EngagementError):
    """The announcement's status does not allow this step (sent or cancelled already)."""

    status = 409


@dataclass(frozen=True)
class Draft:
    """What a person composes: text, channel, audience criteria, and whether it is marketing."""

    title: str
    body: str
    channel: str
    criteria: dict[str, Any] = field(default_factory=dict)
    is_marketing: bool = True


@dataclass(frozen=True)
class Preview:
    audience_size: int
    excluded_no_consent: int
    sample: list[str]

    @property
    def recipients(self) -> int:
        return self.audience_size - self.excluded_no_consent


def _text(value: Any, name: str, label: str, limit: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise EngagementError(_("%(field)s is required.", field=label), field=name)
    if "\x00" in text:
        raise EngagementError(_("%(field)s contains a NUL character.", field=label), field=name)
    if len(text) > limit:
        raise EngagementError(_("%(field)s is too long (at most %(n)s characters).", field=label, n=limit), field=name)
    return text


def check_draft(session: Session, draft: Draft) -> tuple[str, str, Channel, dict[str, Any]]:
    """The draft's title, body, channel and normalised criteria, or an ``EngagementError`` naming the field."""
    title = _text(draft.title, "title", _("Title"), MAX_TITLE)
    body = _text(draft.body, "body", _("Text"), MAX_BODY)
    try:
        channel = Channel(draft.channel)
    except ValueError:
        raise EngagementError(_("Unknown channel."), field="channel") from None
    return title, body, channel, segments.validate(session, draft.criteria)


def get(session: Session, announcement_id: int, *, for_update: bool = False) -> Announcement:
    stmt = sa.select(Announcement).where(Announcement.id == announcement_id)
    found = session.scalars(stmt.with_for_update() if for_update else stmt).first()
    if found is None:
        raise NotVisible(_("No such announcement."))
    return found


def create_draft(session: Session, draft: Draft, *, created_by: uuid.UUID | None) -> Announcement:
    """A new DRAFT, by the signed-in person (``created_by``)."""
    title, body, channel, criteria = check_draft(session, draft)
    row = Announcement(title=title, body=body, channel=channel, segment_json=criteria,
                       is_marketing=bool(draft.is_marketing), target_segment=segments.describe(session, criteria),
                       status=AnnouncementStatus.DRAFT, created_by_id=created_by)  # fmt: skip
    session.add(row)
    session.flush()
    return row


def update_draft(session: Session, announcement_id: int, draft: Draft) -> Announcement:
    """Change a DRAFT (a scheduled one is cancelled or sent, not edited)."""
    row = get(session, announcement_id, for_update=True)
    if row.status not in EDITABLE:
        raise WrongState(_("Only a draft can be edited."))
    title, body, channel, criteria = check_draft(session, draft)
    row.title, row.body, row.channel, row.segment_json = title, body, channel, criteria
    row.is_marketing = bool(draft.is_marketing)
    row.target_segment = segments.describe(session, criteria)
    session.flush()
    return row


def consented(now: dt.datetime | None = None) -> sa.ColumnElement[bool]:
    """An unrevoked marketing consent of the ``users`` row (correlated)."""
    return sa.exists().where(
        Consent.user_id == PlatformUser.id,
        Consent.consent_type.in_(MARKETING_CONSENT_TYPES),
        Consent.granted_at <= (now or utcnow()),
        Consent.revoked_at.is_(None),
    )


def preview(session: Session, criteria: Mapping[str, Any], *, is_marketing: bool,
            now: dt.datetime | None = None) -> Preview:  # fmt: skip
    """How many customers the (validated) criteria pick now, how many lack consent, and some recipients' names."""
    now = now or utcnow()
    where = segments.conditions(criteria, now=now)
    size = segments.audience_size(session, criteria, now=now)
    reachable = [*where, consented(now)] if is_marketing else where
    excluded = 0
    if is_marketing:
        excluded = size - int(
            session.scalar(sa.select(sa.func.count()).select_from(PlatformUser).where(*reachable)) or 0
        )
    names = session.scalars(
        sa.select(PlatformUser.full_name).where(*reachable).order_by(PlatformUser.full_name).limit(SAMPLE_SIZE)
    )
    return Preview(audience_size=size, excluded_no_consent=excluded, sample=list(names))


def check_time(when: dt.datetime | None, *, now: dt.datetime | None = None) -> dt.datetime:
    """A send time in the future and within the horizon (aware; naive is refused)."""
    now = now or utcnow()
    if when is None or when.tzinfo is None:
        raise EngagementError(_("Give the date and time to send at."), field="scheduled_at")
    if when <= now:
        raise EngagementError(_("The send time is in the past."), field="scheduled_at")
    if when > now + dt.timedelta(days=SCHEDULE_HORIZON_DAYS):
        raise EngagementError(_("The send time is more than %(n)s days ahead.", n=SCHEDULE_HORIZON_DAYS),
                              field="scheduled_at")  # fmt: skip
    return when.astimezone(dt.UTC)


def schedule(session: Session, announcement_id: int, when: dt.datetime | None, *,
             now: dt.datetime | None = None) -> Announcement:  # fmt: skip
    """DRAFT (or SCHEDULED, to move it) -> SCHEDULED at ``when``; the criteria are checked again."""
    row = get(session, announcement_id, for_update=True)
    if row.status not in CANCELLABLE:
        raise WrongState(_("This announcement is “%(status)s” and cannot be scheduled.", status=enum_label(row.status)))
    at = check_time(when, now=now)
    segments.validate(session, row.segment_json or {})
    row.status, row.scheduled_at = AnnouncementStatus.SCHEDULED, at
    session.flush()
    audit.record("announcement.scheduled", "announcements", row.id, {"scheduled_at": at.isoformat()})
    return row


def mark_send_now(session: Session, announcement_id: int) -> Announcement:
    """DRAFT or SCHEDULED -> SCHEDULED for now; the caller commits, then ``start_send``."""
    row = get(session, announcement_id, for_update=True)
    if row.status not in CANCELLABLE:
        raise WrongState(_("This announcement is “%(status)s” and cannot be sent.", status=enum_label(row.status)))
    segments.validate(session, row.segment_json or {})
    row.status, row.scheduled_at = AnnouncementStatus.SCHEDULED, utcnow()
    session.flush()
    audit.record("announcement.send_requested", "announcements", row.id, {})
    return row


def cancel(session: Session, announcement_id: int) -> Announcement:
    row = get(session, announcement_id, for_update=True)
    if row.status not in CANCELLABLE:
        raise WrongState(_("This announcement is “%(status)s” and cannot be cancelled.", status=enum_label(row.status)))
    row.status = AnnouncementStatus.CANCELLED
    session.flush()
    audit.record("announcement.cancelled", "announcements", row.id, {})
    return row


def send_dedupe_key(announcement_id: int) -> str:
    return f"{SEND_KIND}-{announcement_id}"


def start_send(announcement_id: int, *, requested_by: uuid.UUID | None = None, enqueue: bool = True) -> Any:
    """Start (once per announcement: the dedupe key) the send job run; commits, like ``start_job``."""
    return start_job(SEND_KIND, {"announcement_id": announcement_id}, requested_by=requested_by,
                     dedupe_key=send_dedupe_key(announcement_id), enqueue=enqueue)  # fmt: skip


def start_due(now: dt.datetime | None = None) -> list[int]:
    """Start the send job of every SCHEDULED announcement whose time has come (the cron, every minute)."""
    due = db.session.scalars(
        sa.select(Announcement.id)
        .where(Announcement.status == AnnouncementStatus.SCHEDULED, Announcement.scheduled_at <= (now or utcnow()))
        .order_by(Announcement.scheduled_at, Announcement.id)
    ).all()
    return [start_send(announcement_id).id for announcement_id in due]


def delivery_counts(session: Session, announcement_id: int) -> dict[str, int]:
    """Delivery rows of the announcement by status (every status present, zero if none)."""
    rows = session.execute(
        sa.select(MessageDelivery.status, sa.func.count())
        .where(MessageDelivery.announcement_id == announcement_id)
        .group_by(MessageDelivery.status)
    )
    counts = {status.value: 0 for status in DeliveryStatus}
    for status, count in rows:
        counts[DeliveryStatus(status).value] = int(count)
    return counts


def delivery_counts_many(session: Session, announcement_ids: list[int]) -> dict[int, dict[str, int]]:
    """``delivery_counts`` for several announcements in one grouped query (the list page)."""
    out = {aid: {status.value: 0 for status in DeliveryStatus} for aid in announcement_ids}
    if not announcement_ids:
        return out
    rows = session.execute(
        sa.select(MessageDelivery.announcement_id, MessageDelivery.status, sa.func.count())
        .where(MessageDelivery.announcement_id.in_(announcement_ids))
        .group_by(MessageDelivery.announcement_id, MessageDelivery.status)
    )
    for aid, status, count in rows:
        out[aid][DeliveryStatus(status).value] = int(count)
    return out


@dataclass(frozen=True)
class Target:
    """What the INSERT ... SELECT needs of an announcement: its id, channel and whether it is marketing."""

    announcement_id: int
    channel: Channel
    is_marketing: bool


def _insert_batch(session: Session, row: Target, criteria: Mapping[str, Any], now: dt.datetime,
                  after: uuid.UUID | None, upto: uuid.UUID) -> None:  # fmt: skip
    """One INSERT ... SELECT of QUEUED rows for the audience in (after, upto], skipping rows already there."""
    table = MessageDelivery.__table__
    where = [*segments.conditions(criteria, now=now), PlatformUser.id <= upto]
    if after is not None:
        where.append(PlatformUser.id > after)
    if row.is_marketing:
        where.append(consented(now))
    source = sa.select(
        sa.literal(row.announcement_id, sa.Integer()),
        PlatformUser.id,
        sa.literal(Channel(row.channel), table.c.channel.type),
        sa.literal(DeliveryStatus.QUEUED, table.c.status.type),
        sa.literal(0, sa.SmallInteger()),
        sa.literal(now, table.c.created_at.type),
    ).where(*where)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    columns = ["announcement_id", "recipient_id", "channel", "status", "attempts", "created_at"]
    stmt = (
        insert(table)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=["announcement_id", "recipient_id", "channel"])
    )
    session.execute(stmt)


Batch = Callable[[int, int, dict[str, Any]], None]  # (done, total, checkpoint): the job commits here


def queue_audience(session: Session, target: Target, criteria: Mapping[str, Any], *, now: dt.datetime,
                   batch_size: int = DEFAULT_BATCH, checkpoint: Mapping[str, Any] | None = None,
                   on_batch: Batch | None = None) -> int:  # fmt: skip
    """QUEUED rows for the (validated) audience, walked by user id in batches; how many members were walked.

    Core statements only: ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``, so a rerun adds nobody twice.
    """
    total = segments.audience_size(session, criteria, now=now)
    state = dict(checkpoint or {})
    after = uuid.UUID(state["after"]) if state.get("after") else None
    done = int(state.get("done", 0))
    audience = segments.audience(criteria, now=now).order_by(PlatformUser.id)
    while True:
        stmt = audience.where(PlatformUser.id > after) if after is not None else audience
        ids = session.scalars(stmt.limit(batch_size)).all()
        if not ids:
            break
        _insert_batch(session, target, criteria, now, after, ids[-1])
        after, done = ids[-1], done + len(ids)
        if on_batch is not None:
            on_batch(done, max(total, done), {"after": str(after), "done": done})
        if len(ids) < batch_size:
            break
    return done


def queue_deliveries(session: Session, announcement_id: int, *, batch_size: int = DEFAULT_BATCH,
                     checkpoint: Mapping[str, Any] | None = None, on_batch: Batch | None = None,
                     now: dt.datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """Queue the announcement to its audience as it is now, batch by batch; idempotent, resumable.

    A DRAFT or CANCELLED announcement queues nothing. The last step sets the counts, SENT and ``sent_at``,
    and records one ``announcement.sent`` audit event with the counts (the rows go in by Core INSERTs,
    which the ORM hooks do not see).
    """
    now = now or utcnow()
    row = get(session, announcement_id)
    if row.status not in (AnnouncementStatus.SCHEDULED, AnnouncementStatus.SENT):
        return {"announcement_id": announcement_id, "queued": 0, "skipped": row.status.value}
    criteria = segments.validate(session, row.segment_json or {})
    target = Target(row.id, Channel(row.channel), bool(row.is_marketing))
    queue_audience(session, target, criteria, now=now, batch_size=batch_size, checkpoint=checkpoint,
                   on_batch=on_batch)  # fmt: skip
    row = get(session, announcement_id, for_update=True)
    counts = delivery_counts(session, announcement_id)
    queued = sum(counts.values())
    reachable = preview(session, criteria, is_marketing=row.is_marketing, now=now)
    row.audience_size = reachable.audience_size
    row.skipped_count = reachable.excluded_no_consent
    row.sent_count, row.failed_count = counts[DeliveryStatus.SENT.value], counts[DeliveryStatus.FAILED.value]
    first_time = row.status != AnnouncementStatus.SENT
    row.status = AnnouncementStatus.SENT
    row.sent_at = row.sent_at or now
    session.flush()
    result = {"announcement_id": row.id, "audience": row.audience_size, "queued": queued,
              "skipped_no_consent": row.skipped_count}  # fmt: skip
    if first_time:
        audit.record("announcement.sent", "announcements", row.id, result)
    return result


@job_kind(SEND_KIND, queue="default", timeout=1800)
def send_job(ctx: JobContext) -> dict[str, Any]:
    """Queue one announcement's deliveries (progress: audience members walked), resuming from the checkpoint."""
    batch = int(current_app.config.get("ANNOUNCEMENT_BATCH", DEFAULT_BATCH))

    def committed(done: int, total: int, checkpoint: dict[str, Any]) -> None:
        ctx.commit(done=done, total=total, checkpoint=checkpoint)

    result = queue_deliveries(db.session, int(ctx.params["announcement_id"]), batch_size=batch,
                              checkpoint=ctx.state, on_batch=committed)  # fmt: skip
    db.session.commit()
    return result
