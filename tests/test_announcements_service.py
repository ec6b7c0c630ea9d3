"""Announcement segments and the send job on real SQLite and PostgreSQL: each criterion against the
rows behind it, consent exclusion, a re-run that queues nobody twice, schedule validation."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.analytics import EngagementEvent
from app.models.base import utcnow
from app.models.commerce import Product, ProductCategory, Subscription, SubscriptionStatus
from app.models.customers import CoachAssignment
from app.models.engagement import Announcement, AnnouncementStatus, DeliveryStatus, MessageDelivery
from app.models.identity import Consent, RoleCode, UserStatus
from app.services.engagement import announcements as svc
from app.services.engagement import segments
from app.services.engagement.errors import EngagementError
from app.services.jobs.context import run_inline
from tests.support.automation_segments import person
from tests.support.jobworker import jobs_env  # noqa: F401  (a fixture)

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


def _product(name: str) -> Product:
    row = Product(name=name, category=ProductCategory.COACHING, price=decimal.Decimal("49"))
    db.session.add(row)
    db.session.flush()
    return row


def _customer(name: str, *, joined: dt.datetime = NOW - dt.timedelta(days=300), locale: str = "en",
              status: UserStatus = UserStatus.ACTIVE, marketing: str | None = "MARKETING_EMAIL",
              revoked: bool = False) -> uuid.UUID:  # fmt: skip
    row = person(name, locale=locale, status=status, created_at=joined, updated_at=joined)
    if marketing:
        db.session.add(Consent(user_id=row.id, consent_type=marketing, granted_at=joined,
                               revoked_at=joined + dt.timedelta(days=1) if revoked else None))  # fmt: skip
    db.session.flush()
    return row.id


def _subscribe(customer: uuid.UUID, product: Product, status: SubscriptionStatus) -> None:
    db.session.add(Subscription(customer_id=customer, product_id=product.id, status=status,
                                start_date=(NOW - dt.timedelta(days=30)).date()))  # fmt: skip


def _world() -> dict:
    """Hand-built rows; each criterion's expected members are named here, not computed."""
    gold, silver = _product("Gold"), _product("Silver")
    coach_a, coach_b = person("Coach A", RoleCode.COACH).id, person("Coach B", RoleCode.COACH).id
    w = {
        "gold": gold.id, "silver": silver.id, "coach_a": coach_a, "coach_b": coach_b,
        "ann": _customer("Ann", joined=dt.datetime(2026, 1, 31, 23, 59, tzinfo=dt.UTC), locale="de"),
        "bob": _customer("Bob", joined=dt.datetime(2026, 2, 1, 0, 0, tzinfo=dt.UTC), revoked=True),
        "cat": _customer("Cat", joined=dt.datetime(2026, 3, 10, tzinfo=dt.UTC), locale="es", marketing="MARKETING"),
        "dan": _customer("Dan", marketing=None),
        "eve": _customer("Eve", status=UserStatus.SUSPENDED),  # never in an audience: not active
    }  # fmt: skip
    w["staff"] = person("Staff Coach", RoleCode.COACH).id  # never in an audience: not a customer
    _subscribe(w["ann"], gold, SubscriptionStatus.ACTIVE)
    _subscribe(w["bob"], gold, SubscriptionStatus.PAST_DUE)
    _subscribe(w["bob"], silver, SubscriptionStatus.ACTIVE)
    _subscribe(w["cat"], silver, SubscriptionStatus.CANCELLED)
    _subscribe(w["eve"], gold, SubscriptionStatus.ACTIVE)
    db.session.add_all([
        CoachAssignment(customer_id=w["ann"], coach_id=coach_a),
        CoachAssignment(customer_id=w["bob"], coach_id=coach_a),
        CoachAssignment(customer_id=w["cat"], coach_id=coach_b),
        EngagementEvent(customer_id=w["ann"], event_type="login", occurred_at=NOW - dt.timedelta(days=2)),
        EngagementEvent(customer_id=w["bob"], event_type="login", occurred_at=NOW - dt.timedelta(days=20)),
        EngagementEvent(customer_id=w["cat"], event_type="login", occurred_at=NOW - dt.timedelta(days=200)),
    ])  # fmt: skip
    db.session.commit()
    return w


def _members(criteria: dict) -> set[uuid.UUID]:
    clean = segments.validate(db.session, criteria)
    return set(db.session.scalars(segments.audience(clean, now=NOW)))


CASES = [
    ({}, {"ann", "bob", "cat", "dan"}),
    ({"product_ids": ["gold"]}, {"ann", "bob"}),
    ({"product_ids": ["silver"]}, {"bob", "cat"}),
    ({"subscription_statuses": ["ACTIVE"]}, {"ann", "bob"}),
    ({"subscription_statuses": ["CANCELLED", "PAST_DUE"]}, {"bob", "cat"}),
    # Product and status hold on the same subscription: Bob's gold one is past due, not active.
    ({"product_ids": ["gold"], "subscription_statuses": ["ACTIVE"]}, {"ann"}),
    ({"coach_ids": ["coach_a"]}, {"ann", "bob"}),
    ({"coach_ids": ["coach_b"]}, {"cat"}),
    ({"cohort_months": ["2026-01"]}, {"ann"}),  # 23:59 on the 31st is still January
    ({"cohort_months": ["2026-02", "2026-03"]}, {"bob", "cat"}),
    ({"active_within_days": 7}, {"ann"}),
    ({"active_within_days": 30}, {"ann", "bob"}),
    ({"inactive_for_days": 7}, {"bob", "cat", "dan"}),
    ({"inactive_for_days": 30}, {"cat", "dan"}),
    ({"active_within_days": 30, "inactive_for_days": 7}, {"bob"}),
    ({"locales": ["de", "es"]}, {"ann", "cat"}),
    ({"coach_ids": ["coach_a"], "locales": ["en"]}, {"bob"}),
]


def _resolve(w: dict, criteria: dict) -> dict:
    out = dict(criteria)
    if "product_ids" in out:
        out["product_ids"] = [w[p] for p in out["product_ids"]]
    if "coach_ids" in out:
        out["coach_ids"] = [str(w[c]) for c in out["coach_ids"]]
    return out


def test_each_criterion_picks_the_rows_behind_it(app_ctx):
    w = _world()
    for criteria, expected in CASES:
        resolved = _resolve(w, criteria)
        assert _members(resolved) == {w[n] for n in expected}, criteria
        assert segments.audience_size(db.session, segments.validate(db.session, resolved), now=NOW) == len(expected)


def test_describe_is_a_short_summary_in_words(app_ctx):
    w = _world()
    text = segments.describe(db.session, _resolve(w, {"product_ids": ["gold"], "coach_ids": ["coach_a"]}))
    assert "Gold" in text and "Coach A" in text
    assert segments.describe(db.session, {}) == "All customers"
    many = {"cohort_months": [f"20{y:02d}-{m:02d}" for y in range(10, 20) for m in range(1, 13)]}
    assert len(segments.describe(db.session, many)) == segments.SUMMARY_MAX


@pytest.mark.parametrize(
    "criteria, field",
    [
        ({"product_ids": [999999]}, "product_ids"),
        ({"product_ids": [2**40]}, "product_ids"),
        ({"coach_ids": [str(uuid.uuid4())]}, "coach_ids"),
        ({"cohort_months": ["2026-13"]}, "cohort_months"),
        ({"active_within_days": 10**9}, "active_within_days"),
        ({"active_within_days": 7, "inactive_for_days": 30}, "inactive_for_days"),
        ({"locales": ["de\x00"]}, "locales"),
        ({"colour": "red"}, None),
        ("not an object", None),
    ],
)
def test_bad_criteria_are_refused_with_the_field(app_ctx, criteria, field):
    _world()
    with pytest.raises(segments.SegmentError) as refused:
        segments.validate(db.session, criteria)
    assert refused.value.field == field
    assert refused.value.status == 422


def test_a_known_coach_id_must_be_a_coach(app_ctx):
    w = _world()
    with pytest.raises(segments.SegmentError, match="Unknown coach"):
        segments.validate(db.session, {"coach_ids": [str(w["ann"])]})


def _draft(**criteria) -> svc.Draft:
    return svc.Draft(title="Hello", body="News for you", channel="EMAIL", criteria=criteria)


def _send(announcement_id: int):
    run = svc.start_send(announcement_id, enqueue=False)
    return run_inline(run)


def test_marketing_goes_only_to_unrevoked_consents_and_a_rerun_queues_nobody_twice(app_ctx):
    w = _world()
    row = svc.create_draft(db.session, _draft(), created_by=w["coach_a"])
    db.session.commit()
    shown = svc.preview(db.session, {}, is_marketing=True)
    assert (shown.audience_size, shown.excluded_no_consent) == (4, 2)  # Bob revoked, Dan never gave it
    assert sorted(shown.sample) == ["Ann", "Cat"]
    svc.mark_send_now(db.session, row.id)
    db.session.commit()
    run = _send(row.id)
    assert run.status == "succeeded", run.error
    recipients = set(db.session.scalars(sa.select(MessageDelivery.recipient_id)
                                        .where(MessageDelivery.announcement_id == row.id)))  # fmt: skip
    assert recipients == {w["ann"], w["cat"]}
    db.session.expire_all()
    row = db.session.get(Announcement, row.id)
    assert row.status == AnnouncementStatus.SENT and row.sent_at is not None
    assert (row.audience_size, row.skipped_count) == (4, 2)
    assert svc.delivery_counts(db.session, row.id)[DeliveryStatus.QUEUED.value] == 2
    # Again, twice, directly and after a new customer consented: only the newcomer is added.
    svc.queue_deliveries(db.session, row.id, batch_size=1)
    db.session.add(Consent(user_id=w["dan"], consent_type="MARKETING_EMAIL", granted_at=utcnow()))
    db.session.commit()
    svc.queue_deliveries(db.session, row.id, batch_size=1)
    db.session.commit()
    pairs = db.session.execute(sa.select(MessageDelivery.recipient_id, MessageDelivery.channel)
                               .where(MessageDelivery.announcement_id == row.id)).all()  # fmt: skip
    assert len(pairs) == len(set(pairs)) == 3


def test_a_service_notice_goes_to_everyone_in_small_batches(app_ctx):
    w = _world()
    row = svc.create_draft(db.session, svc.Draft("Closed", "Closed on Monday", "INAPP", {}, is_marketing=False),
                           created_by=None)  # fmt: skip
    svc.mark_send_now(db.session, row.id)
    db.session.commit()
    seen: list[int] = []
    svc.queue_deliveries(db.session, row.id, batch_size=1, on_batch=lambda done, total, state: seen.append(done))
    db.session.commit()
    assert seen == [1, 2, 3, 4]
    recipients = set(db.session.scalars(sa.select(MessageDelivery.recipient_id)
                                        .where(MessageDelivery.announcement_id == row.id)))  # fmt: skip
    assert recipients == {w["ann"], w["bob"], w["cat"], w["dan"]}
    assert db.session.get(Announcement, row.id).skipped_count == 0


def test_a_draft_or_cancelled_announcement_queues_nothing_and_the_cron_starts_only_due_ones(app_ctx):
    _world()
    draft = svc.create_draft(db.session, _draft(), created_by=None)
    later = svc.create_draft(db.session, _draft(), created_by=None)
    svc.schedule(db.session, later.id, utcnow() + dt.timedelta(hours=2))
    cancelled = svc.create_draft(db.session, _draft(), created_by=None)
    svc.cancel(db.session, cancelled.id)
    db.session.commit()
    assert svc.queue_deliveries(db.session, draft.id)["queued"] == 0
    assert svc.queue_deliveries(db.session, cancelled.id)["queued"] == 0
    assert svc.start_due() == []
    with pytest.raises(svc.WrongState):
        svc.schedule(db.session, cancelled.id, utcnow() + dt.timedelta(hours=1))
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MessageDelivery)) == 0


@pytest.mark.parametrize(
    "when",
    [None, dt.datetime(2020, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 1, 1), "far"],
)
def test_a_send_time_in_the_past_or_far_future_is_refused_and_nothing_changes(app_ctx, when):
    _world()
    row = svc.create_draft(db.session, _draft(), created_by=None)
    db.session.commit()
    if when == "far":
        when = utcnow() + dt.timedelta(days=svc.SCHEDULE_HORIZON_DAYS + 1)
    with pytest.raises(EngagementError) as refused:
        svc.schedule(db.session, row.id, when)
    assert refused.value.field == "scheduled_at"
    db.session.rollback()
    again = db.session.get(Announcement, row.id)
    assert again.status == AnnouncementStatus.DRAFT and again.scheduled_at is None


@pytest.mark.parametrize(
    "draft, field",
    [
        (svc.Draft("", "x", "EMAIL"), "title"),
        (svc.Draft("T\x00", "x", "EMAIL"), "title"),
        (svc.Draft("T", "x" * (svc.MAX_BODY + 1), "EMAIL"), "body"),
        (svc.Draft("T", "x", "FAX"), "channel"),
        (svc.Draft("T", "x", "EMAIL", {"product_ids": [123456]}), "product_ids"),
    ],
)
def test_a_bad_draft_is_refused(app_ctx, draft, field):
    with pytest.raises(EngagementError) as refused:
        svc.create_draft(db.session, draft, created_by=None)
    assert refused.value.field == field
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Announcement)) == 0


@pytest.mark.usefixtures("jobs_env")
def test_the_cron_starts_each_due_announcement_once(app):
    from app.jobs import cron
    from app.models.jobs import JobRun

    with app.app_context():
        _world()
        due = svc.create_draft(db.session, _draft(), created_by=None)
        svc.schedule(db.session, due.id, utcnow() + dt.timedelta(minutes=5))
        later = svc.create_draft(db.session, _draft(), created_by=None)
        svc.schedule(db.session, later.id, utcnow() + dt.timedelta(days=1))
        db.session.commit()
        assert cron.start_due_announcements() == []
        due.scheduled_at = utcnow() - dt.timedelta(seconds=1)  # time passes
        db.session.commit()
        first = cron.start_due_announcements()
        assert len(first) == 1 and cron.start_due_announcements() == first
        run = db.session.get(JobRun, first[0])
        assert run.kind == svc.SEND_KIND and run.params == {"announcement_id": due.id}
        assert ("app.jobs.cron.start_due_announcements", "default", {"interval": 60}) in cron.CRON_TABLE
