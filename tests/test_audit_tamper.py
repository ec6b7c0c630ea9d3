"""Every tampering of issue 12 is caught: by verify_chain (with the signed checkpoints), by the
PostgreSQL guard, or by the export verifiers (flask audit verify-export and the offline script)."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.models import AuditLog
from app.services.audit import chain, checkpoints, signing, verify
from app.services.compliance import audit_export as ex
from app.services.jobs.context import run_inline
from tests.support.jobworker import jobs_env  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import verify_audit_export as offline  # noqa: E402


@pytest.fixture
def signed(app, tmp_path):
    """The app with its signing key and checkpoint files in a temporary folder, inside an app context."""
    saved = {k: app.config.get(k) for k in ("AUDIT_SIGNING_KEY_FILE", "AUDIT_CHECKPOINT_DIR", "EXPORTS_DIR")}
    app.config.update(
        AUDIT_SIGNING_KEY_FILE=tmp_path / "key.pem",
        AUDIT_CHECKPOINT_DIR=tmp_path / "checkpoints",
        EXPORTS_DIR=tmp_path / "exports",
    )
    try:
        with app.app_context():
            yield app
    finally:
        app.config.update(saved)


def _chain(n: int) -> list[int]:
    for i in range(n):
        chain.record("test.event", "things", i, {"n": i})
    db.session.commit()
    return list(db.session.scalars(select(AuditLog.id).order_by(AuditLog.id)))


def _sql(sql: str, **params) -> None:
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL coachdesk.maintenance = 'on'"))  # the test runs as a superuser
        conn.execute(text(sql), params)


def _broken(*words: str) -> None:
    report = verify.verify_chain()
    assert not report.ok and any(w in report.reason for w in words), report


def test_an_untouched_chain_with_checkpoints_verifies(signed):
    _chain(5)
    checkpoints.write()
    _chain(3)
    assert verify.verify_chain().ok
    assert (Path(current_app.config["AUDIT_SIGNING_KEY_FILE"]).stat().st_mode & 0o777) == 0o600
    assert checkpoints.checkpoint_file().read_text().count("\n") == 1


@pytest.mark.parametrize("newest", [1, 5, 50])
def test_deleting_the_newest_rows_is_caught(signed, newest):
    ids = _chain(55)
    checkpoints.write()
    _sql("DELETE FROM audit_logs WHERE id > :id", id=ids[-newest - 1])
    _broken("truncated")
    chain.record("after.tamper", "things")  # appending again does not hide it
    db.session.commit()
    _broken("deleted", "recomputed", "truncated")  # SQLite hands freed ids out again


def test_editing_a_row_and_recomputing_the_hashes_after_it_is_caught(signed):
    ids = _chain(12)
    checkpoints.write()
    _sql("UPDATE audit_logs SET resource_id = 'forged', row_hash = NULL WHERE id >= :id", id=ids[4])
    _sql("UPDATE audit_logs SET row_hash = NULL WHERE id >= :id", id=ids[4])
    verify.rechain()  # recompute every hash from the edited row on
    assert verify.verify_range(0, ids[-1]).ok  # the links alone hold
    _broken("recomputed")


def test_inserting_a_relinked_row_is_caught(signed):
    ids = _chain(10)
    checkpoints.write()
    _sql("DELETE FROM audit_logs WHERE id = :id", id=ids[3])
    _sql(
        "INSERT INTO audit_logs (id, action, resource_type, created_at) VALUES (:id, 'forged', 'things', :at)",
        id=ids[3],
        at=db.session.get(AuditLog, ids[2]).created_at,
    )
    _sql("UPDATE audit_logs SET row_hash = NULL WHERE id >= :id", id=ids[3])
    verify.rechain()
    _broken("recomputed")


def test_deleting_the_oldest_rows_and_forging_an_anchor_is_caught(signed):
    ids = _chain(10)
    checkpoints.write()
    anchor = db.session.get(AuditLog, ids[4]).row_hash
    _sql("DELETE FROM audit_logs WHERE id <= :id", id=ids[4])
    chain.record("audit.archive", "audit_logs", ids[4], {"archived_last_hash": anchor, "rows": 5}, commit=True)
    assert verify.verify_range(0, ids[-1] + 1).ok  # the anchor makes the links hold
    _broken("forged anchor")
    with pytest.raises(checkpoints.CheckpointRefused):
        checkpoints.write()  # the cron does not sign it either


def test_deleting_a_checkpoint_from_the_table_or_the_files_is_caught(signed):
    _chain(3)
    checkpoints.write()
    _sql("DELETE FROM audit_checkpoints")
    _broken("not in the table")
    checkpoints.checkpoint_file().write_text("")
    assert verify.verify_chain().ok  # both copies gone: nothing to compare (the offline copy still has them)
    checkpoints.write()
    line = json.loads(checkpoints.checkpoint_file().read_text())
    line["head_id"] -= 1
    checkpoints.checkpoint_file().write_text(json.dumps(line) + "\n")
    _broken("bad signature")


def test_an_ordinary_session_cannot_lift_the_guard(pg_app):
    with pg_app.app_context():
        ids = _chain(2)
        with db.engine.begin() as conn:
            conn.execute(
                text("""DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coachdesk_ordinary') THEN
                    CREATE ROLE coachdesk_ordinary NOLOGIN;
                END IF; END $$""")
            )
            conn.execute(text("GRANT SELECT, UPDATE, DELETE ON audit_logs TO coachdesk_ordinary"))
        db.session.rollback()
        for sql in ("UPDATE audit_logs SET action = 'x'", "DELETE FROM audit_logs"):
            with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
                conn.execute(text("SET LOCAL ROLE coachdesk_ordinary"))
                conn.execute(text("SET LOCAL coachdesk.maintenance = 'on'"))
                conn.execute(text(sql))
        assert db.session.get(AuditLog, ids[0]).action == "test.event"
        with db.engine.begin() as conn:
            conn.execute(text("REVOKE ALL ON audit_logs FROM coachdesk_ordinary"))


def _export() -> Path:
    params = ex.build_params("2000-01-01", "2100-01-01", "jsonl")
    run = run_inline(ex.request_export(params, None, enqueue=False))
    assert run.status == "succeeded", run.error
    return Path(current_app.config["EXPORTS_DIR"]) / run.result["manifest"]


@pytest.mark.usefixtures("jobs_env")
def test_edited_export_files_and_manifests_are_caught(signed):
    _chain(6)
    checkpoints.write()
    manifest = _export()
    public = bytes.fromhex(signing.public_key_hex())
    cps = checkpoints.checkpoint_file()
    body = json.loads(manifest.read_text())
    assert body["key_id"] == signing.key_id(public) and ex.verify_export(manifest)["rows"] == 6
    assert offline.verify(manifest, public, cps) == []
    runner = current_app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify-export", str(manifest)]).exit_code == 0
    data = manifest.parent / body["file"]
    original = data.read_bytes()
    # An edited export file (a row changed, even with a fresh SHA-256 in an unsigned manifest).
    lines = gzip.decompress(original).replace(b'"resource_id":"2"', b'"resource_id":"9"')
    data.write_bytes(gzip.compress(lines))
    with pytest.raises(ex.ExportError, match="SHA-256"):
        ex.verify_export(manifest)
    assert runner.invoke(args=["audit", "verify-export", str(data)]).exit_code == 1
    problems = offline.verify(manifest, public, cps)
    assert any("SHA-256" in p for p in problems) and any("content does not match" in p for p in problems)
    data.write_bytes(original)
    # An edited manifest (its hash made to match a forged file, or its row count).
    forged = dict(body, rows=5)
    manifest.write_text(json.dumps(forged))
    with pytest.raises(ex.ExportError, match="signature"):
        ex.verify_export(manifest)
    assert any("signature" in p for p in offline.verify(manifest, public, cps))
    # Another key's public key is refused offline.
    assert any("signature" in p for p in offline.verify(manifest, bytes(32), None))
