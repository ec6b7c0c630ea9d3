"""The demo data's conversations keep the inbox's invariants, on SQLite and PostgreSQL.

Each thread's ``last_message_at`` is its newest message; nothing is read before it was sent;
every sender is a party of the thread (its customer, its coach, a Support person on a SUPPORT
thread, or the system/automation account); old customer messages are read, some recent ones not.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask

from app.extensions import appbuilder, db
from app.models.engagement import Message, Thread, ThreadContext
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole
from app.services.audit.chain import SYSTEM_EMAIL
from app.services.automation.actions.messages import AUTOMATION_EMAIL
from app.services.demo_data import seed_demo_data

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def test_demo_threads_keep_the_inbox_invariants(app: Flask) -> None:
    with app.app_context():
        seed_demo_data(appbuilder.sm, customers=24, seed=11, progress=False, now=NOW)
        newest = dict(
            db.session.execute(
                sa.select(Message.thread_id, sa.func.max(Message.sent_at)).group_by(Message.thread_id)
            ).all()
        )
        threads = db.session.scalars(sa.select(Thread)).all()
        assert threads and newest
        for thread in threads:
            assert thread.last_message_at == newest.get(thread.id), (thread.id, thread.context_type)

        desk = set(
            db.session.scalars(
                sa.select(UserRole.user_id)
                .join(PlatformRole, PlatformRole.id == UserRole.role_id)
                .where(PlatformRole.code.in_([RoleCode.SUPPORT, RoleCode.ADMIN]))
            )
        )
        system = set(
            db.session.scalars(
                sa.select(PlatformUser.id).where(PlatformUser.email.in_([SYSTEM_EMAIL, AUTOMATION_EMAIL]))
            )
        )
        by_id = {t.id: t for t in threads}
        messages = db.session.scalars(sa.select(Message)).all()
        for m in messages:
            assert m.read_at is None or m.read_at >= m.sent_at, m.id
            thread = by_id[m.thread_id]
            parties = {thread.customer_id, thread.coach_id} | system
            if thread.context_type == ThreadContext.SUPPORT:
                parties |= desk
            assert m.sender_id in parties, (m.id, thread.context_type)
            assert m.recipient_id is None or m.recipient_id in parties | desk, m.id

        from_customers = [m for m in messages if m.sender_id == by_id[m.thread_id].customer_id]
        old = [m for m in from_customers if m.sent_at < NOW - dt.timedelta(days=2)]
        assert old and all(m.read_at is not None for m in old)
        assert any(m.read_at is None for m in messages)  # some recent messages wait in an inbox
