"""The audit trail: rows from flushes in the same transaction, PII-free values, the chain, the guard."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import AuditLog, PlatformUser
from app.models.base import utcnow
from app.services.audit import chain, verify
from tests.support.audit_samples import AWKWARD_ENTRIES
from tests.support.web import csrf_token, login


def _rows(action: str | None = None) -> list[AuditLog]:
    stmt = select(AuditLog).order_by(AuditLog.id)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    return list(db.session.scalars(stmt))


def _user(email: str = "ann@example.com") -> PlatformUser:
    user = PlatformUser(email=email, full_name="Ann Example", phone="+1 555 0100", password_hash="secret-hash")
    db.session.add(user)
    db.session.commit()
    return user


def _tamper(sql: str, **params) -> None:
    """Change audit_logs behind the service's back (the guard lets maintenance through)."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL coachdesk.maintenance = 'on'"))
        conn.execute(text(sql), params)


def test_create_update_delete_are_audited_without_personal_values(app_ctx):
    user = _user()
    db.session.refresh(user)  # an edit form loads the row first, so old values are known
    user.status = "SUSPENDED"
    user.full_name = "Ann Changed"
    user.password_hash = "another-secret"
    db.session.commit()
    uid = str(user.id)
    db.session.delete(user)
    db.session.commit()
    rows = [r for r in _rows() if r.resource_type == "users" and r.resource_id == uid]
    assert [r.action for r in rows] == ["create", "update", "delete"]
    created, updated, deleted = (r.metadata_json for r in rows)
    assert {"email", "full_name", "phone", "password_hash", "status"} <= set(created["fields"])
    assert set(updated["fields"]) == {"status", "full_name", "password_hash"}
    assert updated["values"]["status"] == {"old": "ACTIVE", "new": "SUSPENDED"}
    for meta in (created, updated):
        text_dump = repr(meta)
        for secret in ("ann@example.com", "Ann", "555 0100", "secret-hash", "another-secret"):
            assert secret not in text_dump
    assert deleted["fields"] == []
    system = db.session.scalar(select(PlatformUser).where(PlatformUser.email == chain.SYSTEM_EMAIL))
    assert all(r.actor_id == system.id for r in rows)


def test_audit_row_is_in_the_same_transaction(app_ctx):
    db.session.add(PlatformUser(email="rolled@example.com", full_name="Rolled Back"))
    db.session.flush()
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.resource_type == "users"))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.resource_type == "users")) == 0


def test_console_request_records_actor_ip_and_agent(app, accounts, client):
    acc = accounts["Compliance"]
    login(client, acc.username, acc.password)
    with app.app_context():
        target = _user("held@example.com")
        target_id = str(target.id)
    token = csrf_token(client, "/compliance/retention/")
    resp = client.post(
        "/compliance/retention/holds",
        data={"csrf_token": token, "user": target_id, "held": "y", "reason": "litigation"},
        headers={"User-Agent": "pytest-agent/1.0"},
    )
    assert resp.status_code == 302
    with app.app_context():
        from app.models import ConsoleUser

        me = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == acc.username))
        update = next(r for r in _rows("update") if r.resource_id == target_id)
        held = _rows("legal_hold.set")[0]
        for row in (update, held):
            assert row.actor_id == me.platform_user_id
            assert row.ip_address == "127.0.0.1" and row.user_agent == "pytest-agent/1.0"
        assert update.metadata_json["values"]["legal_hold"] == {"old": False, "new": True}


def test_sign_in_failed_sign_in_and_sign_out_are_audited(app, client, accounts):
    """Through the real login form: the rows carry the actor, and never the typed name in clear."""
    from app.models import ConsoleUser
    from tests.support.web import csrf_token, login

    token = csrf_token(client)
    client.post("/login/", data={"username": "nobody-" + "x" * 300, "password": "wrong", "csrf_token": token})
    login(client, "coach", accounts["Coach"].password)
    client.post("/logout/", data={"csrf_token": csrf_token(client, "/")})
    with app.app_context():
        console = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == "coach"))
        failed = _rows("auth.login_failed")[0]
        login_row = _rows("auth.login_succeeded")[0]
        logout = _rows("auth.logout")[0]
        assert login_row.actor_id == console.platform_user_id == logout.actor_id
        assert failed.actor_id is not None  # the system user stands in for an unknown person
        assert "nobody" not in str(failed.metadata_json)
        assert len(failed.metadata_json["attempted_name_digest"]) == 16
        assert verify.verify_chain().ok


def test_role_permission_change_is_audited(app_ctx):
    from app.extensions import appbuilder

    sm = appbuilder.sm
    role = sm.find_role("Coach")
    pv = sm.find_permission_view_menu("can_read", "AuditLogs")
    sm.add_permission_role(role, pv)
    row = _rows("permission.change")[-1]
    assert row.resource_type == "ab_role" and row.resource_id == str(role.id)
    assert row.metadata_json["relations"]["permissions"]["added"] == [str(pv)]
    sm.del_permission_role(role, pv)
    assert _rows("permission.change")[-1].metadata_json["relations"]["permissions"]["removed"] == [str(pv)]


def _chain_of(n: int) -> list[int]:
    for i in range(n):
        chain.record("test.event", "things", i, {"n": i}, commit=True)
    return [r.id for r in _rows("test.event")]


def test_verify_passes_then_catches_an_edit(app_ctx):
    ids = _chain_of(5)
    assert verify.verify_chain().ok
    _tamper("UPDATE audit_logs SET resource_id = 'forged' WHERE id = :id", id=ids[2])
    report = verify.verify_chain()
    assert not report.ok and report.first_bad_id == ids[2] and "edited" in report.reason
    # Both databases count the rows verified before the break and hand back the last good hash.
    before = db.session.scalars(select(AuditLog.row_hash).where(AuditLog.id < ids[2]).order_by(AuditLog.id)).all()
    assert report.rows == len(before) and report.last_hash == before[-1]


def test_verify_catches_a_deleted_row(app_ctx):
    ids = _chain_of(5)
    _tamper("DELETE FROM audit_logs WHERE id = :id", id=ids[2])
    report = verify.verify_chain()
    assert not report.ok and report.first_bad_id == ids[3] and "deleted" in report.reason


def test_verify_catches_an_inserted_row(app_ctx):
    ids = _chain_of(3)
    last = db.session.get(AuditLog, ids[-1])
    forged = {"action": "test.event", "resource_type": "things", "resource_id": "x", "metadata_json": None}
    forged.update(created_at=last.created_at, prev_hash=last.row_hash, actor_id=None, ip_address=None, user_agent=None)
    forged["row_hash"] = chain.row_hash(forged)
    # A well-formed row slipped in before the last one breaks the last one's link.
    _tamper(
        "INSERT INTO audit_logs (id, action, resource_type, resource_id, created_at, prev_hash, row_hash) "
        "VALUES (:id, 'test.event', 'things', 'x', :ts, :prev, :hash)",
        id=ids[-1] + 1000,
        ts=last.created_at.replace(tzinfo=None) if db.engine.dialect.name == "sqlite" else last.created_at,
        prev="0" * 64,
        hash="f" * 64,
    )
    report = verify.verify_chain()
    assert not report.ok and report.first_bad_id == ids[-1] + 1000


def test_verify_cli_exit_codes(app):
    runner = app.test_cli_runner()
    with app.app_context():
        ids = _chain_of(3)
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "OK" in ok.output
    with app.app_context():
        _tamper("UPDATE audit_logs SET action = 'x' WHERE id = :id", id=ids[1])
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1 and f"row id {ids[1]}" in bad.output


def test_rechain_chains_bulk_inserted_rows(app_ctx):
    _chain_of(2)
    db.session.execute(
        AuditLog.__table__.insert(),
        [{"action": "demo.seed", "resource_type": "users", "created_at": utcnow()} for _ in range(3)],
    )
    db.session.commit()
    assert not verify.verify_chain().ok
    assert verify.rechain() == 3
    assert verify.verify_chain().ok and _rows("audit.rechain")


def test_postgres_guard_refuses_update_delete_truncate(pg_app):
    from sqlalchemy.exc import DBAPIError

    with pg_app.app_context():
        ids = _chain_of(1)
        db.session.rollback()  # release our read lock, or TRUNCATE would wait for it
        for sql in ("UPDATE audit_logs SET action = 'x'", "DELETE FROM audit_logs", "TRUNCATE audit_logs CASCADE"):
            with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
                conn.execute(text(sql))
        assert db.session.get(AuditLog, ids[0]).action == "test.event"


def test_concurrent_writers_keep_one_chain(pg_app):
    errors = []

    def writer(n: int) -> None:
        try:
            with pg_app.app_context():
                for i in range(10):
                    db.session.add(PlatformUser(email=f"w{n}-{i}-{uuid.uuid4().hex[:6]}@example.com", full_name="W"))
                    db.session.commit()
        except Exception as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with pg_app.app_context():
        report = verify.verify_chain()
        assert report.ok and report.rows >= 40


def test_postgres_builds_the_same_canonical_text_for_awkward_values(pg_app):
    """Exports check hashes in SQL (``canonical_sql``): its text must be ``canonical()``'s byte for byte."""
    awkward = AWKWARD_ENTRIES
    with pg_app.app_context():
        with db.engine.begin() as conn:
            written = chain.append(conn, [dict(e) for e in awkward])
        table = AuditLog.__table__
        lateral, canon = chain.canonical_sql(table)
        stmt = (
            select(table.c.id, canon, table.c.row_hash, func.encode(func.sha256(func.textsend(canon)), "hex"))
            .select_from(table.join(lateral, sa.true()))
            .where(table.c.action.in_([e["action"] for e in awkward]))
            .order_by(table.c.id)
        )
        rows = db.session.execute(stmt).all()
        assert len(rows) == len(written) == len(awkward)
        for entry, (_, sql_text, stored, sql_hash) in zip(written, rows, strict=True):
            assert sql_text == chain.canonical(entry)
            assert sql_hash == stored == chain.row_hash(entry)
