"""The session hooks chain a transaction's audit rows at its commit: same rows, same transaction.

What the deferral must not change: a committed change has its rows and the chain verifies; a
rolled-back change has none; a savepoint rolled back takes its own rows and no others; rows carry
the context of the flush that made them; the chain lock is not taken before the commit.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, PlatformUser
from app.services.audit import verify
from app.services.audit.chain import CHAIN_LOCK_KEY
from app.services.audit.context import AuditContext, acting_as
from app.services.audit.hooks import QUEUE_KEY


def _rows_for(resource_ids: list[str]) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.resource_id.in_(resource_ids))))


def _user(email: str) -> PlatformUser:
    user = PlatformUser(email=email, full_name="Someone")
    db.session.add(user)
    return user


def test_rows_are_queued_at_the_flush_and_chained_at_the_commit(app_ctx):
    before = db.session.scalar(select(func.count()).select_from(AuditLog))
    first, second = _user("first@example.com"), _user("second@example.com")
    db.session.flush()
    assert len(db.session.info[QUEUE_KEY]) == 2  # described and queued, not yet written
    db.session.commit()
    assert QUEUE_KEY not in db.session.info
    rows = _rows_for([str(first.id), str(second.id)])
    assert sorted(r.action for r in rows) == ["create", "create"]
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == before + 2
    assert verify.verify_chain().ok


def test_a_rollback_drops_the_queue(app_ctx):
    user = _user("gone@example.com")
    db.session.flush()
    gone = str(user.id)
    db.session.rollback()
    assert QUEUE_KEY not in db.session.info
    _user("kept@example.com")
    db.session.commit()
    assert _rows_for([gone]) == []
    assert verify.verify_chain().ok


def test_a_rolled_back_savepoint_takes_its_rows_and_no_others(app_ctx):
    outer = _user("outer@example.com")
    db.session.flush()
    nested = db.session.begin_nested()
    inner = _user("inner@example.com")
    db.session.flush()
    inner_id = str(inner.id)
    nested.rollback()
    after = _user("after@example.com")
    db.session.commit()
    assert {r.resource_id for r in _rows_for([str(outer.id), inner_id, str(after.id)])} == {
        str(outer.id),
        str(after.id),
    }
    assert verify.verify_chain().ok


def test_rows_name_the_context_of_their_flush(app_ctx):
    actor = _user("actor@example.com")
    db.session.commit()
    with acting_as(AuditContext(actor_id=actor.id, ip_address="10.0.0.7", user_agent="flush-time")):
        target = _user("target@example.com")
        db.session.flush()
    db.session.commit()  # outside the context: the row still names the flush's actor and address
    (row,) = _rows_for([str(target.id)])
    assert (row.actor_id, row.ip_address, row.user_agent) == (actor.id, "10.0.0.7", "flush-time")


def test_the_chain_lock_is_not_taken_before_the_commit(pg_app):
    """Another transaction can append to the chain while this one has flushed but not committed."""
    with pg_app.app_context():
        user = _user(f"waiting-{uuid.uuid4().hex[:6]}@example.com")
        db.session.flush()
        with db.engine.connect() as other:
            other.execute(sa.text("SET lock_timeout = '2s'"))
            other.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_KEY})  # would time out if held
            other.rollback()
        db.session.commit()
        assert len(_rows_for([str(user.id)])) == 1
        assert verify.verify_chain().ok
