"""The demo's announcements on both databases: made by the service with typed criteria, and every sent one's
delivery rows agree with its counts and with each recipient's marketing consent."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from app.extensions import appbuilder, db
from app.models.engagement import Announcement, AnnouncementStatus, DeliveryStatus, MessageDelivery
from app.models.identity import Consent
from app.services.demo_data import seed_demo_data
from app.services.engagement import announcements as svc
from app.services.engagement import segments

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def test_demo_announcements_are_consistent_with_their_deliveries_and_consents(app) -> None:
    with app.app_context():
        seed_demo_data(appbuilder.sm, customers=30, seed=7, progress=False, now=NOW)
        rows = db.session.scalars(sa.select(Announcement)).all()
        assert {r.status for r in rows} == set(AnnouncementStatus)
        assert any(r.segment_json for r in rows) and any(not r.is_marketing for r in rows)
        for row in rows:
            assert segments.validate(db.session, row.segment_json) == row.segment_json
            assert row.target_segment and row.created_by_id is not None
            counts = svc.delivery_counts(db.session, row.id)
            if row.status != AnnouncementStatus.SENT:
                assert sum(counts.values()) == 0 and row.sent_at is None
                continue
            assert counts["QUEUED"] == 0 and (row.sent_count, row.failed_count) == (counts["SENT"], counts["FAILED"])
            assert row.sent_count + row.failed_count + row.skipped_count == row.audience_size
            recipients = sa.select(MessageDelivery.recipient_id).where(MessageDelivery.announcement_id == row.id)
            if row.is_marketing:
                consented = sa.select(Consent.user_id).where(
                    Consent.consent_type.in_(svc.MARKETING_CONSENT_TYPES), Consent.revoked_at.is_(None)
                )
                assert not db.session.scalar(sa.select(sa.func.count()).select_from(
                    recipients.where(MessageDelivery.recipient_id.not_in(consented)).subquery()))  # fmt: skip
            sent = db.session.scalars(recipients.where(MessageDelivery.status == DeliveryStatus.SENT)
                                      .with_only_columns(MessageDelivery.sent_at)).all()  # fmt: skip
            assert all(at == row.sent_at for at in sent)
        assert any(r.status == AnnouncementStatus.SENT and r.sent_count for r in rows)
